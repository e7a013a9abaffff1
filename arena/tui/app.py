"""ArenaApp: the Textual front end, what `arena` opens in a terminal.

Home leads to four screens: Watch (agents play each other, live), Play (you
against an agent), Training (start or follow a run) and Agents (everything
that can be seated). Every game shown is played by agents.match.play_match in
a worker thread and stored like any other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from textual.app import App
from textual.binding import Binding

from arena.config import Settings, load_settings
from arena.tui.catalog import MODELS_DIR


@dataclass
class StartRequest:
    """Open the app straight on a screen (what `arena watch` and `arena play` ask for).

    screen: "watch" or "play". For watch, `agents` holds one reference per
    seat; for play, one: the opponent, and `person_first` says who starts.
    """

    screen: str
    game: str
    agents: list[str] = field(default_factory=list)
    speed: float = 1.0
    person_first: bool = True
    seed: int = 0


class ArenaApp(App):
    """The Arena terminal app. `settings` default to load_settings(); runs are read from
    `runs_dir` (default: the settings' runs_dir, from arena.toml)."""

    CSS_PATH = "app.tcss"
    TITLE = "Arena"
    SUB_TITLE = "game-playing agents"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, settings: Settings | None = None, *, start: StartRequest | None = None,
                 runs_dir: Path | str | None = None, models_dir: Path | str = MODELS_DIR):
        super().__init__()
        # Gymnasium draws frames with pygame; without a display SDL would print
        # warnings straight onto the terminal the app is drawing on.
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
        self.settings = settings if settings is not None else load_settings()
        self.start_request = start
        self.runs_dir = Path(runs_dir) if runs_dir is not None else self.settings.runs_dir
        self.models_dir = Path(models_dir)

    def on_mount(self) -> None:
        from arena.tui.screens.home import HomeScreen

        self.push_screen(HomeScreen())
        if self.start_request is not None:
            self.open_screen(self.start_request)

    def open_screen(self, request: StartRequest) -> None:
        """Push the screen `request` names, set up as it says (the game starts at once)."""
        if request.screen == "watch":
            from arena.tui.screens.watch import WatchScreen

            self.push_screen(WatchScreen(game=request.game, agents=request.agents,
                                         speed=request.speed, seed=request.seed, autostart=True))
        elif request.screen == "play":
            from arena.tui.screens.play import PlayScreen

            opponent = request.agents[0] if request.agents else None
            self.push_screen(PlayScreen(game=request.game, opponent=opponent,
                                        person_first=request.person_first, seed=request.seed,
                                        autostart=True))
        else:
            raise ValueError(f"unknown screen {request.screen!r}")


def run_app(start: StartRequest | None = None, settings: Settings | None = None) -> int:
    """Run the app in this terminal until the person quits; the exit code."""
    app = ArenaApp(settings, start=start)
    app.run()
    return app.return_code or 0
