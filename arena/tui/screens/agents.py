"""Agents: everything that can take a seat, with its game, algorithm and last evaluation.

Built-ins, roster entries from arena.toml, installed plugins, shipped models
(assets/models/) and trained runs (runs/). From a row, w starts a match on
Watch and p a game against it on Play.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Footer, Header, Static

from arena.tui.app import StartRequest
from arena.tui.catalog import AgentEntry, list_agents
from arena.tui.screens.base import BackScreen
from arena.tui.screens.watch import default_agents
from games.registry import resolve_game


def _watch_game(entry: AgentEntry) -> str:
    """The game to watch `entry` at: its own, else connect four (Go for Go-only agents)."""
    if entry.game == "go":
        return "go9"
    return entry.game or "connect4"


class AgentsScreen(BackScreen):
    """The roster as a table; watch or play against the highlighted agent."""

    BINDINGS = [
        Binding("w", "watch", "Watch it"),
        Binding("p", "play", "Play against it"),
        Binding("f5", "reload", "Reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[AgentEntry] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="agents"):
            yield DataTable(id="agent-table", cursor_type="row", zebra_stripes=True)
            with Horizontal(id="agent-buttons"):
                yield Button("Watch it (w)", variant="primary", id="watch")
                yield Button("Play against it (p)", id="play")
                yield Static(id="agent-note")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Agents"
        table = self.query_one(DataTable)
        table.add_columns("kind", "agent", "game", "algorithm", "last eval", "about")
        self.action_reload()
        table.focus()

    def action_reload(self) -> None:
        """Read the agents again (new runs appear as they save their first checkpoint)."""
        table = self.query_one(DataTable)
        table.clear()
        self.entries = list_agents(self.app.settings, self.app.runs_dir, self.app.models_dir)
        for entry in self.entries:
            evaluation = f"{entry.eval_mean:.1f}" if entry.eval_mean is not None else ""
            game = entry.game or ("board games" if entry.needs_state else "any")
            table.add_row(entry.kind, entry.name, game, entry.algo or "", evaluation,
                          entry.description if len(entry.description) <= 48
                          else entry.description[:47] + "…")

    def _selected(self) -> AgentEntry | None:
        row = self.query_one(DataTable).cursor_row
        return self.entries[row] if 0 <= row < len(self.entries) else None

    def _say(self, text: str) -> None:
        self.query_one("#agent-note", Static).update(text)

    def action_watch(self) -> None:
        """Watch the highlighted agent play (its own game; against a default opponent)."""
        entry = self._selected()
        if entry is None:
            return
        game = resolve_game(_watch_game(entry))
        agents = [entry.ref] + default_agents(game)[1:]
        self.app.open_screen(StartRequest("watch", game.id, agents))

    def action_play(self) -> None:
        """Play against the highlighted agent, if it plays a board game."""
        entry = self._selected()
        if entry is None:
            return
        game_id = _watch_game(entry) if entry.game else "tictactoe"
        game = resolve_game(game_id)
        if not (game.has_state and game.players == 2):
            self._say(f"{entry.name} plays {game.title}, a one-player game: watch it instead (w).")
            return
        self.app.open_screen(StartRequest("play", game.id, [entry.ref]))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "watch":
            self.action_watch()
        elif event.button.id == "play":
            self.action_play()
