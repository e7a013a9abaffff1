"""Home: where the app opens; leads to Watch, Play, Training, Agents and Tournaments, and lists recent games."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from tournaments.store import StoredMatch

_DESTINATIONS = [
    ("watch", "Watch", "agents play each other, live, thinking aloud"),
    ("play", "Play", "you against an agent, by mouse or keyboard"),
    ("training", "Training", "start a training run, or follow one"),
    ("agents", "Agents", "everything that can take a seat"),
    ("tournaments", "Tournaments", "standings live, start one, replay its games"),
]

#: Recent games listed on Home.
RECENT = 12


def short_result(match: StoredMatch) -> str:
    """A game's result in a few characters: "1-0", "0-1 resign", "½-½ cap", "abandoned"..."""
    if match.status == "abandoned":
        return "abandoned"
    if len(match.agents) == 1:
        return f"ret {match.returns[0]:g}"
    if match.winner is None:
        text = "½-½"
    else:
        text = {0: "1-0", 1: "0-1"}.get(match.winner, f"P{match.winner + 1}")
    if match.resign_player is not None:
        text += " resign"
    elif match.forfeit_player is not None:
        text += " forfeit"
    elif match.truncated:
        text += " cap"
    return text


def clip(text: str, width: int) -> str:
    """`text` cut to `width` characters, an ellipsis marking the cut."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


_INTRO = """\
[b]Arena[/b]: game-playing agents.
Pick a destination with the arrow keys and Enter, a click, or its letter.
Everywhere: [b]Esc[/b] goes back, [b]Ctrl+Q[/b] quits; the footer lists the keys."""


class HomeScreen(Screen):
    """The menu and the most recent stored games."""

    BINDINGS = [
        Binding("w", "go('watch')", "Watch"),
        Binding("p", "go('play')", "Play"),
        Binding("t", "go('training')", "Training"),
        Binding("a", "go('agents')", "Agents"),
        Binding("o", "go('tournaments')", "Tournaments"),
        Binding("q", "app.quit", "Quit", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._shown: list[StoredMatch] = []
        self._fitted_to = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="home"):
            with Vertical(id="home-menu"):
                yield Static(_INTRO, id="intro")
                yield OptionList(*[Option(f"[b]{title}[/b]  [dim]{about}[/dim]", id=key)
                                   for key, title, about in _DESTINATIONS], id="menu")
            with Vertical(id="home-recent"):
                yield Static("[b]Recent games[/b]", classes="heading")
                yield DataTable(id="recent", cursor_type="row", zebra_stripes=True)
                yield Static("No games stored yet: watch or play one.", id="recent-empty")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#recent", DataTable)
        table.add_columns("id", "game", "players", "result")
        self.query_one("#menu", OptionList).focus()
        self.load_recent()

    def on_screen_resume(self) -> None:
        self.load_recent()

    def on_resize(self, event: events.Resize) -> None:
        if self._shown and self._table_width() != self._fitted_to:
            self._fill(self._shown)

    def load_recent(self) -> None:
        """Fill the recent-games table from the store (nothing if there is no store yet)."""
        path = self.app.settings.store_path
        self.query_one("#recent-empty").display = not path.exists()
        if not path.exists():
            self._fill([])
            return
        from tournaments.store import Store

        store = Store(path)
        try:
            matches = [store.get_match(i) for i in store.match_ids(limit=RECENT)]
        finally:
            store.close()
        shown = [m for m in matches if m is not None]
        self.query_one("#recent-empty").display = not shown
        self._fill(shown)

    def _table_width(self) -> int:
        """Cells the table may use: its column's width (before the first layout, the screen's)."""
        width = self.query_one("#home-recent").content_size.width
        return width if width > 0 else max(self.app.size.width - 66, 30)

    def _fill(self, matches: list[StoredMatch]) -> None:
        """Rows for `matches`, the players' column cut so that every column fits the width."""
        self._shown = matches
        self._fitted_to = width = self._table_width()
        table = self.query_one("#recent", DataTable)
        table.clear()
        rows = [(str(m.id), clip(m.game, 10), " vs ".join(m.agents), short_result(m))
                for m in matches]
        # Each column takes its widest cell (or heading) plus one cell of padding on each side.
        fixed = sum(max([len(h)] + [len(r[i]) for r in rows]) + 2
                    for i, h in ((0, "id"), (1, "game"), (3, "result")))
        room = max(width - fixed - 2, 7)
        for m, (ident, game, players, result) in zip(matches, rows, strict=True):
            table.add_row(ident, game, clip(players, room), result, key=str(m.id))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter (or a click) on a recent game opens its replay."""
        if event.data_table.id == "recent" and event.row_key.value is not None:
            self.open_game(int(event.row_key.value))

    def open_game(self, match_id: int) -> None:
        """Push the replay of stored game `match_id` (the Tournaments screen's replay view)."""
        from arena.tui.screens.tournaments import open_replay

        open_replay(self.app, match_id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_go(event.option.id or "")

    def action_go(self, where: str) -> None:
        """Open the screen `where` names."""
        if where == "watch":
            from arena.tui.screens.watch import WatchScreen

            self.app.push_screen(WatchScreen())
        elif where == "play":
            from arena.tui.screens.play import PlayScreen

            self.app.push_screen(PlayScreen())
        elif where == "training":
            from arena.tui.screens.training import TrainingScreen

            self.app.push_screen(TrainingScreen())
        elif where == "agents":
            from arena.tui.screens.agents import AgentsScreen

            self.app.push_screen(AgentsScreen())
        elif where == "tournaments":
            from arena.tui.screens.tournaments import TournamentsScreen

            self.app.push_screen(TournamentsScreen())
