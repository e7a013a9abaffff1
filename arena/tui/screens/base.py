"""What the app's screens share: Esc goes back, and a screen with a live game ends it on leaving."""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input

from arena.tui.live_match import LiveMatch
from arena.tui.widgets.match_panel import MatchPanel


class BackScreen(Screen):
    """A screen that Esc (the footer's Back) leaves for the one below it."""

    BINDINGS = [Binding("escape", "back", "Back")]

    def action_back(self) -> None:
        self.app.pop_screen()


class LiveGameScreen(BackScreen):
    """A screen showing one live game in its MatchPanel (Watch, Play).

    Leaving the screen stops the game (an unfinished one is stored as
    abandoned); Esc in a text box only leaves the box, for `typing_done()`.
    """

    live: LiveMatch | None = None

    @property
    def panel(self) -> MatchPanel:
        return self.query_one(MatchPanel)

    def typing_done(self) -> Widget:
        """Where Esc from a text box moves the focus."""
        return self.panel

    def stop_game(self) -> None:
        """Stop the current game, if one is on (an unfinished game is stored as abandoned)."""
        if self.live is not None and not self.live.finished.is_set():
            self.live.stop()

    def on_unmount(self) -> None:
        self.stop_game()

    def action_back(self) -> None:
        """Leave the screen (ending the game); from a text box, Esc only leaves the box."""
        if isinstance(self.focused, Input):
            self.typing_done().focus()
            return
        self.stop_game()
        super().action_back()
