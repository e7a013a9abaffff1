"""Home: where the app opens; leads to Watch, Play, Training, Agents and Tournaments, and lists recent games."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from arena.tui.widgets.match_panel import describe_result

_DESTINATIONS = [
    ("watch", "Watch", "agents play each other, live, thinking aloud"),
    ("play", "Play", "you against an agent, by mouse or keyboard"),
    ("training", "Training", "start a training run, or follow one"),
    ("agents", "Agents", "everything that can take a seat"),
    ("tournaments", "Tournaments", "standings live, start one, replay its games"),
]

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

    def load_recent(self) -> None:
        """Fill the recent-games table from the store (nothing if there is no store yet)."""
        table = self.query_one("#recent", DataTable)
        table.clear()
        path = self.app.settings.store_path
        self.query_one("#recent-empty").display = not path.exists()
        if not path.exists():
            return
        from arena.store import Store

        store = Store(path)
        try:
            matches = [store.get_match(i) for i in store.match_ids(limit=12)]
        finally:
            store.close()
        self.query_one("#recent-empty").display = not any(matches)
        for m in matches:
            if m is None:
                continue
            table.add_row(str(m.id), m.game, " vs ".join(m.agents), describe_result(m, m.agents))

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
