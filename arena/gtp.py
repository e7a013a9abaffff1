"""The engine side of GTP v2: any Arena agent as a Go engine (`arena gtp AGENT`).

`GtpEngine.handle(line)` answers one line of the Go Text Protocol and
`serve()` runs it over stdin/stdout. Every command gets exactly one response
(``=[id] result`` or ``?[id] message``, each ended by an empty line), a bad or
illegal command gets a ``?`` response, and the engine keeps answering until
``quit`` or the end of its input.

GTP knows no game end: a controller may go on playing after two passes, play
one colour twice (handicap stones) or ask either colour for a move. The
engine's position is a GoState without a move cap; when it cannot take the
next move as it stands (the game is over, or the other colour is to move),
it is rebuilt from its board with the right colour to move
(`games.go.sgf.ready_to_move`).

The agent is kept informed through the Agent contract: `start` when it is
first asked for a move in a game (again if asked for the other colour, or
after an undo, with the moves so far replayed through `observe`), and
`observe` for every move. A SearchAgent is handed a copy of the engine's
position before every `observe` and `act`, so its own position never drifts
from the engine's, even when the colours do not alternate.
"""

from __future__ import annotations

import math
import operator
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from agents.base import Agent, MatchContext, SearchAgent, shown_value
from games.go.sgf import ready_to_move, score_text
from games.registry import go_size
from games.go.state import GoState

PROTOCOL_VERSION = 2
#: The shortest limit a genmove gets, even when the controller says no time is left.
MIN_MOVE_LIMIT_S = 1.0
MIN_SIZE, MAX_SIZE = 5, 19
SEATS = ("black_0", "white_0")  # the AEC env's agent names, as a MatchContext carries them

COMMANDS = (
    "protocol_version", "name", "version", "known_command", "list_commands", "quit",
    "boardsize", "clear_board", "komi", "play", "genmove", "undo", "showboard",
    "final_score", "time_settings", "time_left",
)


class GtpError(Exception):
    """A command that fails: the message is what follows ``?`` in the response."""


@dataclass
class TimeSettings:
    """What time_settings and time_left said; genmove plans the agent's time from it."""

    main_time: int = 0
    byo_yomi_time: int = 0
    byo_yomi_stones: int = 0
    left: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))  # (seconds, stones) per colour
    told: tuple[bool, bool] = (False, False)  # per colour: has time_left spoken since time_settings
    settled: bool = False  # time_settings was given

    def clock(self, colour: int) -> tuple[float | None, int]:
        """(seconds left, moves they are for; 0 = the rest of the game) for `colour`'s
        next move, or (None, 0) when there is no limit."""
        if self.told[colour]:
            seconds, stones = self.left[colour]
            return float(seconds), stones
        if not self.settled or (self.byo_yomi_time == 0 and self.main_time == 0):
            return None, 0  # GTP: byo-yomi time 0 with main time 0 means no time limit
        if self.main_time > 0:
            return float(self.main_time), 0
        return float(self.byo_yomi_time), max(1, self.byo_yomi_stones)


def _clean(line: str) -> str:
    """A raw input line as GTP says to preprocess it: control characters other
    than tab removed, the comment after '#' dropped, tabs made spaces."""
    kept = "".join(ch for ch in line if ch == "\t" or (ord(ch) >= 32 and ord(ch) != 127))
    return kept.split("#", 1)[0].replace("\t", " ").strip()


def parse_colour(text: str) -> int:
    """0 for b/black, 1 for w/white (any case); GtpError otherwise."""
    colour = {"b": 0, "black": 0, "w": 1, "white": 1}.get(text.lower())
    if colour is None:
        raise GtpError("invalid color")
    return colour


def _int_arg(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise GtpError(f"{what} is not an integer") from None


class GtpEngine:
    """One GTP session with `agent` as the engine's player.

    size/komi: the board until boardsize/komi say otherwise. seed: the agents'
    seeds are drawn from it, one per game (clear_board) and colour.
    time_per_move: the seconds a genmove may take when the controller gives no
    time (`arena gtp` passes arena.toml's); with time_settings/time_left, the time
    left. An agent past it is stopped (an agent in a process of its own is
    killed: agents/isolation.py) and genmove answers ``?``. None: no limit.
    """

    def __init__(self, agent: Agent, size: int = 9, komi: float = 7.5, seed: int = 0,
                 name: str | None = None, time_per_move: float | None = None):
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise ValueError(f"board size {size} is outside {MIN_SIZE}..{MAX_SIZE}")
        self.agent = agent
        self.time_per_move = time_per_move
        self.engine_name = name or f"Arena {agent.name}"
        self.size = size
        self.komi = float(komi)
        self.seed = seed
        self.games = 0
        self.time = TimeSettings()
        self.done = False  # set by quit
        self._handlers: dict[str, Callable[[list[str]], str]] = {
            c: getattr(self, f"_cmd_{c}") for c in COMMANDS
        }
        self._new_game()

    # -- the position ----------------------------------------------------------------

    def _new_game(self) -> None:
        self.state = GoState(self.size, self.komi, False, 0)
        # Positions before each move, for undo and for keeping SearchAgents in step.
        self.before: list[GoState] = []
        self.history: list[tuple[int, int]] = []  # (colour, action)
        self.games += 1
        self._agent_colour: int | None = None  # the colour the agent was started for
        self._told = 0  # moves of `history` the agent has observed

    def _play(self, colour: int, action: int) -> None:
        """Play `action` for `colour` on the engine's board; GtpError('illegal move') if it is not."""
        # play_as takes either colour and keeps the ko and history; only a
        # finished game needs its board rebuilt to go on.
        before = self.state
        if before.is_terminal():
            before = ready_to_move(before, colour)
        after = before.copy()
        try:
            after.play_as(action, colour)
        except ValueError:
            raise GtpError("illegal move") from None
        self.before.append(before)
        self.history.append((colour, action))
        self.state = after

    # -- the agent -------------------------------------------------------------------

    def _context(self, colour: int) -> MatchContext:
        from gymnasium.spaces import Discrete

        from agents.match import agent_seed
        from games.registry import GameSpec

        size, komi = self.size, self.komi

        def make_env(render_mode: str | None = None) -> Any:
            from games.go.env import GoEnv

            return GoEnv(board_size=size, komi=komi, render_mode=render_mode, max_moves=0)

        spec = GameSpec(f"go{size}", f"Go {size}x{size}", 2, make_env,
                        lambda: GoState(size, komi, False, 0),
                        description=f"Go {size}x{size}, komi {komi:g}, over GTP")
        return MatchContext(spec, SEATS[colour], colour, agent_seed(self.seed + self.games, colour),
                            Discrete(size * size + 1), self.time_per_move)

    def _clock(self, colour: int) -> tuple[float | None, int]:
        """(seconds, moves they are for) of `colour`'s next move: the controller's clock,
        else the time per move."""
        seconds, moves = self.time.clock(colour)
        if seconds is None and self.time_per_move is not None:
            return self.time_per_move, 1
        return seconds, moves

    def _tell(self, index: int) -> None:
        """The agent observes move `index` of the history."""
        colour, action = self.history[index]
        if _keeps_state(self.agent):
            self.agent.state = ready_to_move(self.before[index], colour).copy()
        self.agent.observe(colour, action)

    def _bring_agent_up(self, colour: int) -> None:
        """The agent started for `colour` in this game and told every move so far."""
        if self._agent_colour != colour or self._told > len(self.history):
            self.agent.start(self._context(colour))
            self._agent_colour = colour
            self._told = 0
        while self._told < len(self.history):
            self._tell(self._told)
            self._told += 1

    def _inform(self) -> None:
        """Tell a started agent the latest move; a failure makes it start afresh next time."""
        if self._agent_colour is None:
            return
        try:
            self._bring_agent_up(self._agent_colour)
        except Exception:  # the move stands; the agent is rebuilt at its next genmove
            self._agent_colour = None

    # -- serving ---------------------------------------------------------------------

    def handle(self, line: str) -> str | None:
        """The full response (ending in an empty line) to one input line; None for a
        line GTP says to ignore (empty, white space or a comment)."""
        text = _clean(line)
        if not text:
            return None
        words = text.split()
        ident = ""
        if words[0].isdigit():
            ident = words.pop(0)
        if not words:
            return f"?{ident} missing command\n\n"
        name, args = words[0].lower(), words[1:]
        handler = self._handlers.get(name)
        if handler is None:
            return f"?{ident} unknown command\n\n"
        try:
            result = handler(args)
        except GtpError as exc:
            return f"?{ident} {exc}\n\n"
        # An empty line ends a response, so none may appear inside one.
        body = "\n".join(ln for ln in result.split("\n") if ln.strip()) if "\n" in result else result
        if result.startswith("\n"):
            body = "\n" + body
        return f"={ident} {body}\n\n"

    def serve(self, stdin: IO[bytes], stdout: IO[bytes]) -> int:
        """Answer GTP from `stdin` on `stdout` until quit or end of input; the exit code."""
        try:
            for raw in stdin:
                response = self.handle(raw.decode("utf-8", "replace"))
                if response is None:
                    continue
                stdout.write(response.encode("utf-8"))
                stdout.flush()
                if self.done:
                    break
        finally:
            self.agent.close()
        return 0

    # -- commands --------------------------------------------------------------------

    @staticmethod
    def _arity(args: list[str], n: int) -> None:
        if len(args) != n:
            raise GtpError(f"syntax error: expected {n} argument{'s' if n != 1 else ''}, "
                           f"got {len(args)}")

    def _cmd_protocol_version(self, args: list[str]) -> str:
        return str(PROTOCOL_VERSION)

    def _cmd_name(self, args: list[str]) -> str:
        return self.engine_name

    def _cmd_version(self, args: list[str]) -> str:
        from games import __version__

        return __version__

    def _cmd_known_command(self, args: list[str]) -> str:
        self._arity(args, 1)
        return "true" if args[0].lower() in self._handlers else "false"

    def _cmd_list_commands(self, args: list[str]) -> str:
        return "\n".join(COMMANDS)

    def _cmd_quit(self, args: list[str]) -> str:
        self.done = True
        return ""

    def _cmd_boardsize(self, args: list[str]) -> str:
        self._arity(args, 1)
        size = _int_arg(args[0], "boardsize")
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise GtpError("unacceptable size")
        # A model trained on go<N> plays that board only (agents.registry sets trained_on).
        trained = getattr(self.agent, "trained_on", None)
        if isinstance(trained, str) and go_size(trained) not in (None, size):
            raise GtpError(f"unacceptable size (the agent was trained on {trained})")
        self.size = size
        self._new_game()
        return ""

    def _cmd_clear_board(self, args: list[str]) -> str:
        self._new_game()
        return ""

    def _cmd_komi(self, args: list[str]) -> str:
        self._arity(args, 1)
        try:
            komi = float(args[0])
        except ValueError:
            raise GtpError("komi is not a number") from None
        if not math.isfinite(komi):
            raise GtpError("komi is not a number")
        self.komi = komi
        # The komi belongs to every position: rebuild this one's history under it.
        history = list(self.history)
        self._new_game()
        self.games -= 1  # the same game, not a new one
        for colour, action in history:
            self._play(colour, action)
        return ""

    def _cmd_play(self, args: list[str]) -> str:
        self._arity(args, 2)
        colour = parse_colour(args[0])
        try:
            action = self.state.parse_action(args[1])
        except ValueError:
            raise GtpError("invalid coordinate") from None
        self._play(colour, action)
        self._inform()
        return ""

    def _cmd_genmove(self, args: list[str]) -> str:
        from agents.isolation import AgentFailed, exit_code
        from agents.match import MoveClock, MoveTimeout

        self._arity(args, 1)
        colour = parse_colour(args[0])
        position = ready_to_move(self.state, colour)
        seconds, moves = self._clock(colour)
        limit = None if seconds is None or not self.agent.timed else max(seconds, MIN_MOVE_LIMIT_S)
        try:
            self._bring_agent_up(colour)
            if _keeps_state(self.agent):
                self.agent.state = position.copy()
            self.agent.set_clock(seconds, moves)  # the search plans its time by it
            mask = position.legal_mask()
            with MoveClock(limit) as clock:  # the agent gets a copy of the mask: ours judges
                action = clock.call(self.agent.act, position.observation(colour), mask.copy())
        except MoveTimeout:
            self._agent_colour = None
            raise GtpError(f"agent exceeded the time per move ({limit:g} s)") from None
        except AgentFailed as exc:  # its process exited or was killed; the session goes on
            self._agent_colour = None
            raise GtpError(f"agent failed: {_one_line(exc)}") from None
        except SystemExit as exc:
            self._agent_colour = None
            raise GtpError(f"agent failed: exited with code {exit_code(exc)}") from None
        except Exception as exc:  # the agent failed this move; the session goes on
            self._agent_colour = None
            raise GtpError(f"agent failed: {type(exc).__name__}: {_one_line(exc)}") from None
        try:
            if isinstance(action, bool):
                raise TypeError("a bool is no move")
            action = operator.index(action)
        except TypeError:
            self._agent_colour = None
            raise GtpError(f"agent returned {shown_value(action)}, not a move") from None
        if not 0 <= action < len(mask) or not mask[action]:
            self._agent_colour = None
            raise GtpError(f"agent chose an illegal move ({shown_value(action)})")
        self._play(colour, action)
        self._inform()
        return position.action_label(action)

    def _cmd_undo(self, args: list[str]) -> str:
        if not self.history:
            raise GtpError("cannot undo")
        self.state = self.before.pop()
        self.history.pop()
        if self._told > len(self.history):
            # An agent cannot un-hear a move: it starts afresh at its next genmove.
            self._agent_colour = None
        return ""

    def _cmd_showboard(self, args: list[str]) -> str:
        return "\n" + self.state.render_text()

    def _cmd_final_score(self, args: list[str]) -> str:
        return score_text(self.state.score())

    def _cmd_time_settings(self, args: list[str]) -> str:
        self._arity(args, 3)
        values = [_int_arg(a, "time") for a in args]
        if min(values) < 0:
            raise GtpError("syntax error")
        self.time.main_time, self.time.byo_yomi_time, self.time.byo_yomi_stones = values
        self.time.settled, self.time.told = True, (False, False)
        return ""

    def _cmd_time_left(self, args: list[str]) -> str:
        self._arity(args, 3)
        colour = parse_colour(args[0])
        seconds, stones = _int_arg(args[1], "time"), _int_arg(args[2], "stones")
        left = list(self.time.left)
        left[colour] = (seconds, stones)
        self.time.left = (left[0], left[1])
        told = list(self.time.told)
        told[colour] = True
        self.time.told = (told[0], told[1])
        return ""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _keeps_state(agent: Agent) -> bool:
    """True for an agent that keeps the game's position: it is handed the engine's own
    (a SearchAgent, or one in a process of its own that is one there)."""
    return isinstance(agent, SearchAgent) or getattr(agent, "keeps_state", False) is True


def run_gtp(agent: Agent, size: int = 9, komi: float = 7.5, seed: int = 0,
            stdin: IO[bytes] | None = None, stdout: IO[bytes] | None = None,
            time_per_move: float | None = None) -> int:
    """Serve GTP for `agent` on stdin/stdout (binary streams); the exit code.

    `time_per_move`: each genmove's limit when the controller gives no time (GtpEngine)."""
    engine = GtpEngine(agent, size=size, komi=komi, seed=seed, time_per_move=time_per_move)
    return engine.serve(stdin or sys.stdin.buffer, stdout or sys.stdout.buffer)

