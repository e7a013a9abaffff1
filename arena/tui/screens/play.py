"""Play: a person against any agent at tic-tac-toe, connect four or Go.

Moves by mouse (click a cell, a column or a point), by keyboard (arrow keys
and Enter on the board) or typed (a coordinate such as b2, 4 or D4, in the box
under the board). p passes (Go), u takes back your last move and the agent's
reply, r resigns, n starts a new game. Illegal moves are refused with a
message; the game is stored when it ends: a resignation as a loss by
resignation (not a forfeit), a game left unfinished as "abandoned".

Undo replays: the game restarts from its first move with both seats replaying
the shortened move list (see live_match.ScriptedStart), so the match loop,
the agents and the store only ever see ordinary games.
"""

from __future__ import annotations

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Header, Input, Label, Select

from agents.base import Insight
from games.errors import UserError
from agents.match import Move
from arena.tui.catalog import agents_for, board_games, build_agent, list_agents, option_label
from arena.tui.live_match import LiveEnded, LiveMatch, LiveStarted, LiveTurn, PersonAgent
from arena.tui.screens.base import LiveGameScreen
from arena.tui.widgets.board import BoardView
from arena.tui.widgets.match_panel import MatchPanel
from games.registry import GameSpec, resolve_game

#: The stored agent reference of the person (as `arena match ... human` stores it).
PERSON = "human"


class PlayScreen(LiveGameScreen):
    """One game at a time between you and an agent."""

    BINDINGS = [
        Binding("n", "new_game", "New game"),
        Binding("p", "pass_move", "Pass"),  # only where the game has a pass move
        Binding("u", "undo", "Undo"),
        Binding("r", "resign", "Resign"),
    ]

    def __init__(self, game: str | None = None, opponent: str | None = None,
                 person_first: bool = True, seed: int = 0, autostart: bool = False):
        super().__init__()
        self.initial_game = game or "tictactoe"
        self.initial_opponent = opponent
        self.person_first = person_first
        self.seed = seed
        self.autostart = autostart
        self.live: LiveMatch | None = None
        self.person: PersonAgent | None = None
        self.awaiting: np.ndarray | None = None  # the legal-move mask while it is your turn
        self._filled_for: str | None = None
        self._resign_asked: LiveMatch | None = None  # the game a first `r` was pressed in
        self._passes: dict[str, bool] = {}  # game id -> whether it has a pass move

    def compose(self) -> ComposeResult:
        yield Header()
        games = board_games()
        game_id = self.initial_game if any(g.id == self.initial_game for g in games) else "tictactoe"
        with Horizontal(id="main"):
            with VerticalScroll(id="setup", classes="sidebar"):
                yield Label("Game")
                yield Select([(g.title, g.id) for g in games], allow_blank=False, value=game_id,
                             id="game")
                yield Label("Opponent")
                yield Select([], allow_blank=True, prompt="choose an agent", id="opponent")
                yield Input(placeholder="or type a reference", id="opponent-ref")
                yield Label("You play")
                yield Select([("first", "first"), ("second", "second")], allow_blank=False,
                             value="first" if self.person_first else "second", id="seat-choice")
                yield Button("New game", variant="primary", id="new")
                with Horizontal(id="play-buttons"):
                    yield Button("Pass", id="pass")
                    yield Button("Undo", id="undo")
                    yield Button("Resign", variant="error", id="resign")
            with Vertical(id="play-area"):
                yield MatchPanel(interactive=True, id="panel")
                yield Input(placeholder="type a move (e.g. b2, 4, D4 or pass) and press Enter",
                            id="move", select_on_focus=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Play"
        game_id = str(self.query_one("#game", Select).value)
        if self.initial_game != game_id:
            self.panel.say(f"'{self.initial_game}' is not a board game you can play here", "bold red")
            self.autostart = False
        self._fill_opponents(game_id, self.initial_opponent)
        self._show_game_buttons()
        if self.autostart:
            self.call_after_refresh(self.action_new_game)
        else:
            self.panel.say("Choose a game and an opponent, then New game (n).", "dim")
            self.query_one("#game", Select).focus()

    # -- setup ---------------------------------------------------------------
    def _fill_opponents(self, game_id: str, wanted: str | None) -> None:
        game = resolve_game(game_id)
        self._filled_for = game_id
        entries = agents_for(list_agents(self.app.settings, self.app.runs_dir, self.app.models_dir),
                             game)
        select = self.query_one("#opponent", Select)
        select.set_options([(option_label(e), e.ref) for e in entries])
        field = self.query_one("#opponent-ref", Input)
        field.value = ""
        wanted = wanted or ("mcts" if game.has_state else "random")
        if wanted in {e.ref for e in entries}:
            select.value = wanted
        else:
            field.value = wanted

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.value is Select.NULL:
            return
        if event.select.id == "game" and event.value != self._filled_for:
            self._fill_opponents(str(event.value), None)
            self._show_game_buttons()
        elif event.select.id == "opponent":
            # A pick from the list replaces whatever was typed.
            self.query_one("#opponent-ref", Input).value = ""

    def _game_on_show(self) -> GameSpec:
        """The game of the board on show, else the one chosen for the next game."""
        if self.live is not None:
            return self.live.game
        return resolve_game(str(self.query_one("#game", Select).value))

    def _has_pass(self) -> bool:
        """Whether the game on show has a pass move (Go); tic-tac-toe and connect four do not."""
        game = self._game_on_show()
        if game.id not in self._passes:
            self._passes[game.id] = (game.new_state is not None
                                     and hasattr(game.new_state(), "pass_action"))
        return self._passes[game.id]

    def _show_game_buttons(self) -> None:
        """The Pass button (and the p key in the footer) only for games with a pass move."""
        self.query_one("#pass", Button).display = self._has_pass()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pass_move" and self.is_mounted:
            return self._has_pass()
        return True

    def _setup(self) -> tuple[GameSpec, str, int]:
        game = resolve_game(str(self.query_one("#game", Select).value))
        typed = self.query_one("#opponent-ref", Input).value.strip()
        chosen = self.query_one("#opponent", Select).value
        if typed:
            opponent = typed
        elif chosen is not Select.NULL:
            opponent = str(chosen)
        else:
            raise UserError("choose an opponent (or type a reference)")
        seat = 0 if self.query_one("#seat-choice", Select).value == "first" else 1
        return game, opponent, seat

    # -- the game ------------------------------------------------------------
    def action_new_game(self) -> None:
        """Leave the current game (stored as abandoned if moves were played) and start anew."""
        self._start(script=())

    def _start(self, script: list[int] | tuple[int, ...], record_previous: bool = True,
               history: list[tuple[Move, Insight | None]] | None = None) -> None:
        panel = self.panel
        try:
            game, opponent, seat = self._setup()
        except UserError as exc:
            panel.say(str(exc), "bold red")
            return
        if self.live is not None and not self.live.finished.is_set():
            self.live.stop(record=record_previous)
        settings = self.app.settings
        refs = [opponent, opponent]
        refs[seat] = PERSON
        person = PersonAgent()
        live = LiveMatch(game, refs, lambda ref: build_agent(ref, settings), target=panel,
                         store_path=settings.store_path, data_dir=settings.data_dir, seed=self.seed,
                         time_per_move=settings.time_per_move, max_moves=settings.max_moves,
                         person=person, person_seat=seat, script=script,
                         history=history or ())
        person.on_turn = lambda mask: live.post(LiveTurn(live, mask))
        self.live, self.person, self.awaiting = live, person, None
        panel.you = seat
        panel.begin(live)
        self._show_game_buttons()
        panel.say("the agent is getting ready…" if not script else "replaying…", "dim")
        self.query_one(BoardView).focus()
        self.run_worker(live.run, thread=True, group="match", exit_on_error=False)

    def on_live_started(self, message: LiveStarted) -> None:
        if message.live is self.live and not self.live.script:
            self.panel.say("")

    def on_live_turn(self, message: LiveTurn) -> None:
        if message.live is not self.live:
            return
        self.awaiting = message.mask
        moves, state = self.panel.moves, self._state()
        passed = ""
        if moves and state is not None and moves[-1].player != self.panel.you \
                and moves[-1].action == getattr(state, "pass_action", None):
            passed = f"{self.panel.board.seat_name(moves[-1].player)} passes. "
        self.panel.say(f"{passed}Your move: click the board, use the arrow keys and Enter, "
                       "or type a move below.", "bold")

    def on_live_ended(self, message: LiveEnded) -> None:
        if message.live is not self.live:
            return
        self.awaiting = None
        result = message.result
        if message.error is not None or result is None:
            return  # the panel shows the error
        you = self.panel.you
        if result.status == "abandoned":
            text = "Game left unfinished."
        elif result.resign_player == you:
            text = "You resigned."
        elif result.winner is None:
            text = "A draw."
        elif result.winner == you:
            text = "You win!"
        else:
            text = "You lose."
        self.panel.say(f"{text}  n: new game · Esc: back", "bold")

    def _state(self):
        snapshot = self.panel.snapshot
        return snapshot.state if snapshot is not None else None

    def play(self, action: int) -> bool:
        """Hand `action` to the match if it is your turn and the move is legal; else say why."""
        state = self._state()
        if self.live is None or state is None:
            self.panel.say("No game on: press n (or New game) to start one.", "bold red")
            return False
        if self.live.finished.is_set() or self.panel.result is not None:
            self.panel.say("The game is over: press n for a new one.", "bold red")
            return False
        if self.awaiting is None:
            self.panel.say("Not your turn yet: the agent is thinking.", "bold red")
            return False
        label = state.action_label(action)
        if not (0 <= action < len(self.awaiting) and self.awaiting[action]):
            reason = ""
            why = getattr(state, "illegal_reason", None)
            if callable(why):
                try:
                    reason = f" ({why(action)})" if why(action) else ""
                except (ValueError, TypeError):
                    reason = ""
            self.panel.say(f"Illegal move: {label}{reason}. Try another.", "bold red")
            return False
        self.awaiting = None
        self._resign_asked = None
        assert self.person is not None
        self.person.submit(action)
        self.panel.say(f"You played {label}.")
        return True

    def on_board_view_typed(self, message: BoardView.Typed) -> None:
        """Typing a move on the board goes on in the move box, from its first letter."""
        box = self.query_one("#move", Input)
        box.focus()
        box.value = message.character
        box.cursor_position = len(box.value)

    def on_board_view_chosen(self, message: BoardView.Chosen) -> None:
        self.play(message.action)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "move":
            text = event.value.strip()
            state = self._state()
            if not text:
                return
            event.input.value = ""  # refused or played, the next entry starts afresh
            if state is None:
                self.panel.say("No game on: press n (or New game) to start one.", "bold red")
                return
            try:
                action = state.parse_action(text)
            except ValueError as exc:
                self.panel.say(f"{exc}", "bold red")
                return
            self.play(action)
        elif event.input.id == "opponent-ref":
            self.action_new_game()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {"new": self.action_new_game, "pass": self.action_pass_move,
                   "undo": self.action_undo, "resign": self.action_resign}
        if event.button.id in actions:
            actions[event.button.id]()

    def action_pass_move(self) -> None:
        state = self._state()
        if state is None or not hasattr(state, "pass_action"):
            self.panel.say("Passing is only for Go.", "bold red")
            return
        self.play(int(state.pass_action))

    def action_undo(self) -> None:
        """Take back your last move (and the agent's reply): the game replays without them."""
        live, you = self.live, self.panel.you
        if live is None or self.panel.result is not None or live.finished.is_set():
            self.panel.say("Undo works during a game, on your turn.", "bold red")
            return
        if self.awaiting is None:
            self.panel.say("Undo on your turn: the agent is thinking.", "bold red")
            return
        moves = self.panel.moves
        yours = [m.ply for m in moves if m.player == you]
        if not yours:
            self.panel.say("Nothing to undo yet.", "bold red")
            return
        kept = yours[-1]
        script = [m.action for m in moves[:kept]]
        # The replayed moves keep the think times and insights they had when first played.
        history = list(zip(moves[:kept], self.panel.insights[:kept], strict=True))
        self._start(script, record_previous=False, history=history)

    def action_resign(self) -> None:
        """Resign the game; the first press only asks, so a stray key cannot lose a game."""
        if self.live is None or self.person is None or self.live.finished.is_set():
            self.panel.say("No game to resign.", "bold red")
            return
        if self._resign_asked is not self.live:
            self._resign_asked = self.live
            self.panel.say("Resign? Press r (or Resign) again to confirm.", "bold")
            return
        self.person.resign()
        self.panel.say("Resigning…")

    def typing_done(self) -> BoardView:
        return self.query_one(BoardView)
