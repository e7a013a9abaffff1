"""GTP engines as Arena agents: `gtp:<command line>` and `gnugo[:level=N]`.

The engine runs as a subprocess and is spoken to in GTP v2. At each game's
start it hears boardsize, komi and clear_board; it hears every move
(``play b D4``) and is asked ``genmove b|w`` for its own. Every reply is
awaited with a deadline (select on the pipe), so an engine can never block a
match forever.

An engine that crashes, hangs, replies with an illegal or unreadable move, or
resigns makes `start`, `act` or `observe` raise an exception whose message
says which; the match loop turns that into a forfeit. The process is then
killed, and a fresh one is started at the next game.
"""

from __future__ import annotations

import os
import select
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Any

import numpy as np

from agents.base import MatchContext, Resignation, SearchAgent
from games.errors import UserError

#: Seconds to wait for a genmove reply when the match sets no time per move.
DEFAULT_MOVE_TIMEOUT = 60.0
#: Seconds to wait for the reply to any other command (they are bookkeeping).
COMMAND_TIMEOUT = 10.0
#: Seconds a process gets to exit after ``quit`` before it is killed.
QUIT_GRACE = 1.0
#: A move reply arrives this long after the match's own clock has run out, so
#: the match loop's time limit (and its message) fires first.
DEADLINE_MARGIN = 0.5

GNUGO_DEFAULT_LEVEL = 10  # GnuGo's own default strength


def find_gnugo() -> str | None:
    """The GnuGo executable: `gnugo` on PATH, else Debian's /usr/games/gnugo; None if neither."""
    found = shutil.which("gnugo")
    if found:
        return found
    debian = "/usr/games/gnugo"
    return debian if os.access(debian, os.X_OK) else None


class EngineError(Exception):
    """The engine failed: it crashed, hung, or said something that is not GTP."""


class EngineRefused(EngineError):
    """The engine answered a command with ``?``."""


class Resigned(Resignation):
    """The engine resigned the game."""


class GtpProcess:
    """One running GTP engine: send a command, get its reply within a deadline.

    Raises EngineError (the process exited or closed its output, or did not
    reply in time) or EngineRefused (it replied ``? message``). After an
    EngineError the process is dead: `alive` is False.
    """

    def __init__(self, argv: list[str]):
        self.argv = argv
        # stderr goes to a file, never a pipe: an engine that chats on stderr
        # must not fill a pipe nobody reads; its last line explains a crash.
        self._stderr = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self._stderr, bufsize=0, start_new_session=True)
        except OSError as exc:
            self._stderr.close()
            raise EngineError(f"cannot start '{shlex.join(argv)}': {exc.strerror or exc}") from None
        self._buffer = b""

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def command(self, text: str, timeout: float) -> str:
        """The engine's reply to `text` (without the '= '), waiting at most `timeout` seconds."""
        try:
            self.proc.stdin.write(text.encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise EngineError(self._death(f"before it could be sent '{text}'")) from None
        block = self._read_reply(text, timeout)
        status, _, rest = block.partition(" ")
        if status.startswith("?"):
            raise EngineRefused(f"engine refused '{text}': {rest.strip() or 'no reason given'}")
        return rest.strip()

    def _read_reply(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while True:
            block = self._take_block()
            if block is not None:
                return block
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise EngineError(f"engine did not answer '{text}' within {timeout:g} s")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EngineError(self._death(f"while answering '{text}'"))
            self._buffer += chunk.replace(b"\r", b"")

    def _take_block(self) -> str | None:
        """The next complete reply in the buffer (lines before it that are not GTP skipped)."""
        while True:
            stripped = self._buffer.lstrip(b"\n")
            end = stripped.find(b"\n\n")
            if end < 0:
                self._buffer = stripped
                return None
            block, self._buffer = stripped[:end], stripped[end + 2:]
            # Some engines print a banner; a reply is what starts with = or ?.
            lines = block.split(b"\n")
            for i, line in enumerate(lines):
                if line[:1] in (b"=", b"?"):
                    return b"\n".join(lines[i:]).decode("utf-8", "replace")

    def _death(self, when: str) -> str:
        """Why the engine is gone, for a message: its exit code and last stderr line."""
        try:
            code = self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self.kill()
            return f"engine closed its output {when}"
        how = f"exited with code {code}" if code >= 0 else f"was killed by signal {-code}"
        last = self._last_stderr_line()
        return f"engine {how} {when}" + (f": {last}" if last else "")

    def _last_stderr_line(self) -> str:
        try:
            self._stderr.seek(0)
            lines = [ln.strip() for ln in self._stderr.read().decode("utf-8", "replace").splitlines()]
        except (OSError, ValueError):
            return ""
        lines = [ln for ln in lines if ln]
        return lines[-1][:200] if lines else ""

    def kill(self) -> None:
        """Stop the process (and anything it started) now."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        try:
            self.proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            pass
        self._close_pipes()

    def close(self) -> None:
        """Ask the engine to quit; kill it if it has not exited after a short wait."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.flush()
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=QUIT_GRACE)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def _close_pipes(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout, self._stderr):
            try:
                stream.close()
            except (OSError, ValueError):
                pass


class GtpAgent(SearchAgent):
    """Any GTP engine playing Go in Arena's match loop.

    A SearchAgent: `state` mirrors the game, to read and check the engine's
    moves (and `arena gtp` can hand it the position, so GTP engines chain).

    command: the engine's command line (split like a shell would).
    timeout: seconds to wait for a move; default the match's time per move
        (plus a margin, so the match's own clock speaks first), else 60.
    """

    name = "gtp"
    plays = "Go only (go5..go19)"

    def accepts(self, game: Any) -> bool:
        """Go only: a game whose search state is a Go position (it has komi and a pass)."""
        if not super().accepts(game):
            return False
        if game.is_go:
            return True
        state = game.new_state()
        return hasattr(state, "komi") and hasattr(state, "pass_action")

    def __init__(self, command: str, timeout: float | None = None):
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise ValueError(f"cannot read the command line '{command}': {exc}") from None
        if not argv:
            raise ValueError("the GTP engine's command line is empty")
        if shutil.which(argv[0]) is None:
            raise ValueError(f"no such program '{argv[0]}'")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be above 0, got {timeout}")
        self.argv = argv
        self.timeout = timeout
        self.engine: GtpProcess | None = None
        self._busy = False  # a genmove is waiting for its reply
        # (colour, action) of the move genmove just made: the engine has it already.
        self._pending: tuple[int, int] | None = None

    # -- the process -------------------------------------------------------------

    def _move_timeout(self) -> float:
        if self.timeout is not None:
            return self.timeout
        if self.ctx is not None and self.ctx.time_per_move is not None:
            return self.ctx.time_per_move + DEADLINE_MARGIN
        return DEFAULT_MOVE_TIMEOUT

    def _send(self, text: str, timeout: float = COMMAND_TIMEOUT) -> str:
        """Send a command; any failure (and any interruption, e.g. the match's
        time limit) kills the engine, so the next game starts a fresh one."""
        engine = self.engine
        if engine is None or not engine.alive:
            raise EngineError("engine is not running")
        try:
            return engine.command(text, timeout)
        except BaseException:
            # Only this engine: a move abandoned by a front end's clock may end
            # here after the next game has already started a new one.
            engine.kill()
            if self.engine is engine:
                self.engine = None
            raise

    def _drop_engine(self) -> None:
        if self.engine is not None:
            self.engine.kill()
            self.engine = None

    # -- the Agent contract ------------------------------------------------------

    def start(self, ctx: MatchContext) -> None:
        """Start (or reuse) the engine and set up an empty board of the game's size and komi."""
        super().start(ctx)  # self.state: the game's starting position
        state = self.state
        if not hasattr(state, "komi") or not hasattr(state, "pass_action"):
            raise UserError(f"agent '{self.name}' plays Go only; game '{ctx.game.id}' is not Go")
        self._pending = None
        if self.engine is not None and (self._busy or not self.engine.alive):
            # A genmove still waiting (a front end's clock gave up on it) or a dead engine.
            self._drop_engine()
        if self.engine is None:
            self.engine = GtpProcess(self.argv)
        self._send(f"boardsize {state.size}")
        self._send(f"komi {state.komi:g}")
        self._send("clear_board")

    def act(self, observation: Any, action_mask: np.ndarray | None) -> int:
        player = self.state.to_play
        self._busy = True
        try:
            reply = self._send(f"genmove {'bw'[player]}", self._move_timeout())
        finally:
            self._busy = False
        if reply.lower() == "resign":
            raise Resigned("resigned")
        try:
            action = self.state.parse_action(reply)
        except ValueError:
            self._drop_engine()
            raise EngineError(f"engine answered genmove with '{reply}', not a move") from None
        if not self.state.is_legal(action):
            self._drop_engine()
            why = ""
            if hasattr(self.state, "illegal_reason"):
                why = f" ({self.state.illegal_reason(action)})"
            raise EngineError(f"engine played an illegal move {reply}{why}")
        self._pending = (player, action)
        return action

    def observe(self, player: int, action: Any) -> None:
        action = int(action)
        mine = self._pending == (player, action)
        self._pending = None
        label = self.state.action_label(action)
        self.state.play(action)
        if not mine:  # genmove already put the engine's own move on its board
            self._send(f"play {'bw'[player]} {label}")

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None

    def __del__(self) -> None:  # a forgotten close() must not leave engines running
        try:
            self._drop_engine()
        except Exception:
            pass


class GnuGoAgent(GtpAgent):
    """GNU Go 3.8 over GTP, Chinese (area) rules, capturing dead stones before it passes.

    level: GnuGo's strength, 0..10 (10 is GnuGo's default and strongest).
    """

    name = "gnugo"

    def __init__(self, level: int = GNUGO_DEFAULT_LEVEL, timeout: float | None = None):
        if not 0 <= level <= 10:
            raise ValueError(f"level must be 0..10, got {level}")
        binary = find_gnugo()
        if binary is None:
            raise UserError("gnugo is not installed (looked on PATH and at /usr/games/gnugo); "
                            "`make gnugo` or `apt-get install gnugo` installs it")
        self.level = level
        super().__init__(shlex.join([binary, "--mode", "gtp", "--level", str(level),
                                     "--chinese-rules", "--capture-all-dead"]), timeout)

    def start(self, ctx: MatchContext) -> None:
        """As GtpAgent's, then seed GnuGo's move choice with the game's seed: GnuGo
        otherwise seeds itself from the clock, and a match would not replay."""
        super().start(ctx)
        self._send(f"set_random_seed {ctx.seed % 2**31}")
