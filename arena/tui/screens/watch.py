"""Watch: two agents (or one, in a single-player game) play live, with what they think beside the board.

Pick a game and agents on the left (a list of the built-ins, roster, shipped
models and runs that fit the game, or any reference typed below it) and
start. Space pauses, n (or .) plays one move, + and - change the speed.
"""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Header, Input, Label, Select

from games.errors import UserError
from arena.tui.catalog import agents_for, build_agent, list_agents, option_label, watchable_games
from arena.tui.live_match import LiveEnded, LiveMatch, LiveStarted, Pacer, speed_text
from arena.tui.screens.base import LiveGameScreen
from arena.tui.widgets.frame import FrameView
from arena.tui.widgets.match_panel import MatchPanel
from games.registry import GameSpec, resolve_game

#: Seconds between moves at speed x1: board games are read move by move,
#: single-player games run near their own frame rate.
BOARD_DELAY = 0.6
FRAME_DELAY = 1 / 30


def default_agents(game: GameSpec) -> list[str]:
    """The agents a new Watch of `game` proposes: a search against a simpler player."""
    if game.players == 1:
        return ["random"]
    if game.has_state:
        return ["mcts", "greedy"]
    return ["random"] * game.players


class WatchScreen(LiveGameScreen):
    """Set up and watch one game at a time; every game is stored."""

    BINDINGS = [
        Binding("space", "pause", "Pause/run"),
        Binding("n,full_stop", "step", "Step"),
        Binding("plus,equals_sign", "faster", "Faster"),
        Binding("minus", "slower", "Slower"),
        Binding("s", "start", "Start"),
        Binding("f", "toggle_setup", "Setup on/off"),
    ]

    def __init__(self, game: str | None = None, agents: list[str] | None = None,
                 speed: float = 1.0, seed: int = 0, autostart: bool = False):
        super().__init__()
        self.initial_game = game or "connect4"
        self.initial_agents = list(agents or [])
        self.speed = speed
        self.seed = seed
        self.autostart = autostart
        self.live: LiveMatch | None = None
        self._filled_for: str | None = None  # the game the agent lists were made for

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with VerticalScroll(id="setup", classes="sidebar"):
                yield Label("Game")
                yield Select([(g.title, g.id) for g in watchable_games()], allow_blank=False,
                             value=self.initial_game if self._known(self.initial_game) else "connect4",
                             id="game")
                for seat in range(2):
                    yield Label("Agent 1 (moves first)" if seat == 0 else "Agent 2",
                                id=f"seat{seat}-label")
                    yield Select([], allow_blank=True, prompt="choose an agent", id=f"agent{seat}")
                    yield Input(placeholder="or type a reference", id=f"ref{seat}")
                yield Label("Seed")
                yield Input(str(self.seed), type="integer", id="seed")
                yield Button("Start", variant="primary", id="start")
            yield MatchPanel(id="panel")
        yield Footer()

    @staticmethod
    def _known(game_id: str) -> bool:
        return any(g.id == game_id for g in watchable_games())

    def on_mount(self) -> None:
        self.sub_title = "Watch"
        self.panel.can_focus = True
        game_id = self.initial_game
        if not self._known(game_id):
            # gym:/pz: references are watchable too; they are not in the list.
            self.query_one("#game", Select).set_options(
                [(g.title, g.id) for g in watchable_games()] + [(game_id, game_id)])
            self.query_one("#game", Select).value = game_id
        self._fill_agents(game_id, self.initial_agents)
        if self.autostart:
            self.call_after_refresh(self.action_start)
        else:
            self.panel.say("Choose a game and agents, then Start (s).", "dim")
            self.query_one("#game", Select).focus()

    # -- setup ---------------------------------------------------------------
    def _game(self) -> GameSpec:
        return resolve_game(str(self.query_one("#game", Select).value))

    def _fill_agents(self, game_id: str, wanted: list[str]) -> None:
        """Offer the agents that fit `game_id`; preselect `wanted` (or the defaults)."""
        try:
            game = resolve_game(game_id)
        except UserError as exc:
            self.panel.say(str(exc), "bold red")
            return
        self._filled_for = game_id
        entries = agents_for(list_agents(self.app.settings, self.app.runs_dir, self.app.models_dir),
                             game)
        options = [(option_label(e), e.ref) for e in entries]
        refs = {e.ref for e in entries}
        defaults = wanted or default_agents(game)
        for seat in range(2):
            select = self.query_one(f"#agent{seat}", Select)
            select.set_options(options)
            ref = defaults[seat] if seat < len(defaults) else None
            field = self.query_one(f"#ref{seat}", Input)
            field.value = ""
            if ref in refs:
                select.value = ref
            elif ref:
                field.value = ref  # not in the list (mcts:sims=50, a path...): typed
            shown = seat < game.players
            for widget in (select, field, self.query_one(f"#seat{seat}-label")):
                widget.display = shown

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.value is Select.NULL:
            return
        if event.select.id == "game" and event.value != self._filled_for:
            self._fill_agents(str(event.value), [])
        elif event.select.id in ("agent0", "agent1"):
            # A pick from the list replaces whatever was typed for that seat.
            self.query_one(f"#ref{event.select.id[-1]}", Input).value = ""

    def _refs(self, game: GameSpec) -> list[str]:
        refs = []
        for seat in range(game.players):
            typed = self.query_one(f"#ref{seat}", Input).value.strip()
            chosen = self.query_one(f"#agent{seat}", Select).value
            if typed:
                refs.append(typed)
            elif chosen is not Select.NULL:
                refs.append(str(chosen))
            else:
                raise UserError(f"choose agent {seat + 1} (or type a reference)")
        return refs

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_start()

    # -- the game ------------------------------------------------------------
    def action_start(self) -> None:
        """Stop the game on show (it is stored as abandoned) and start a new one."""
        panel = self.panel
        try:
            game = self._game()
            refs = self._refs(game)
            seed_text = self.query_one("#seed", Input).value.strip()
            seed = int(seed_text) if seed_text else 0
        except UserError as exc:
            panel.say(str(exc), "bold red")
            return
        self.stop_game()
        settings = self.app.settings
        pacer = Pacer(FRAME_DELAY if game.players == 1 else BOARD_DELAY, speed=self.speed)
        frame = self.query_one(FrameView)
        live = LiveMatch(game, refs, lambda ref: build_agent(ref, settings), target=panel,
                         store_path=settings.store_path, data_dir=settings.data_dir, seed=seed,
                         pacer=pacer, time_per_move=settings.time_per_move,
                         max_moves=settings.max_moves, frame_size=lambda: frame.wanted)
        self.live = live
        panel.begin(live)
        panel.say("starting…", "dim")
        panel.focus()
        self.run_worker(live.run, thread=True, group="match", exit_on_error=False)

    def on_live_started(self, message: LiveStarted) -> None:
        if message.live is self.live:
            self.panel.say("")

    def on_live_ended(self, message: LiveEnded) -> None:
        if message.live is self.live:
            self.panel.say("s (or Start) plays another game; Esc goes back.", "dim")

    def action_toggle_setup(self) -> None:
        """Hide the setup column (more room for the board or picture), or show it again."""
        self.query_one("#setup").toggle_class("-hidden")

    def action_pause(self) -> None:
        if self.live is not None:
            self.live.pacer.toggle_pause()
            self.panel.refresh_status()

    def action_step(self) -> None:
        if self.live is not None:
            self.live.pacer.step()
            self.panel.refresh_status()

    def action_faster(self) -> None:
        self._set_speed(self.live.pacer.faster() if self.live else self.speed * 2)

    def action_slower(self) -> None:
        self._set_speed(self.live.pacer.slower() if self.live else self.speed / 2)

    def _set_speed(self, speed: float) -> None:
        self.speed = speed
        self.panel.refresh_status()
        self.notify(f"speed {speed_text(speed)}", timeout=1.5)
        if math.isinf(speed):
            self.panel.say("max speed: as fast as the agents think", "dim")
