"""User code in a process of its own, killed at the deadline: `IsolatedAgent`.

Agents that are user code (``path/to/file.py:Class`` agents and installed
plugins) run in a child process. `agents.registry.make_agent` hands out an
`IsolatedAgent` for them: a proxy that starts the child, has it build the agent
from its reference (so nothing unpicklable crosses), and forwards start, reset,
act, observe, explain and close over a pipe, each with a deadline:

- building the agent (its ``__init__``) and a game's ``start``/``reset`` have
  the build limit (`build_limit`: at least BUILD_LIMIT_S, or the time per move
  when that is longer; ``build_limit`` in arena.toml sets it);
- ``act``, ``observe`` and ``explain`` have the time per move (or the clock a
  GTP controller gave), plus DEADLINE_MARGIN_S so that the match's own clock
  speaks first.

At a missed deadline the child is killed with SIGKILL, which no agent can
ignore, catch or outlast in C code, and the caller gets the match's timeout
(a forfeit). The next game starts a fresh child. A child that exits or is
killed (``sys.exit``, ``os._exit``, a signal) makes the call raise `AgentExited`
("exited with code 3", "was killed by SIGKILL"): the match loop's forfeit reason.

The child keeps the harness's streams clean: its stdout (fd 1) is the
harness's stderr, so an agent that prints cannot break ``--json`` output or a
GTP stream, and its stdin is /dev/null. Replies are read with a size limit and
unpickled with an allow-list of plain types (numbers, strings, numpy arrays,
Insight), so what the child sends can never run code in the harness.

Built-in agents stay in the harness's process (see agents/match.py MoveClock):
a pipe costs a round trip per call (about 75 µs a move and 40 µs an observed
move, measured on go9), and they need none.

Children fork from multiprocessing's fork server (a fresh one after a kill
takes milliseconds; spawn where there is no fork server), so a script that
plays user agents itself must start under ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import atexit
import io
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import threading
import time
import weakref
from typing import Any

import numpy as np

from agents.base import ActionInsight, Agent, Insight, MatchContext, Resignation
from games.errors import UserError

#: Seconds an agent may take at least to be built (__init__) or to start a game (start,
#: reset); a longer time per move raises it. `build_limit` in arena.toml changes it.
BUILD_LIMIT_S = 30.0
#: The proxy's own deadline comes this long after the clock's, so that the match's
#: clock (SIGALRM, or a front end's thread) speaks first, with its own message.
DEADLINE_MARGIN_S = 0.5
#: Seconds a child's interpreter may take to come up, before any user code runs in it
#: (a loaded machine, the first start of the fork server).
BOOT_LIMIT_S = 60.0
#: Seconds a child gets to finish close() before it is killed.
CLOSE_GRACE_S = 1.0
#: The largest reply read from a child; a longer one is a fault of the agent.
MAX_REPLY_BYTES = 16 * 2**20
#: Longest repr of an unreadable value kept for a forfeit's reason.
REPR_CHARS = 120

def build_limit(time_per_move: float | None = None, limit: float | None = None) -> float:
    """Seconds to build an agent or start its game: `limit` (arena.toml's build_limit;
    None is BUILD_LIMIT_S), or the time per move when that is longer."""
    base = BUILD_LIMIT_S if limit is None else limit
    return max(base, time_per_move or 0.0)


class AgentFailed(Exception):
    """An isolated agent failed in a way that is its own fault; str() is the forfeit's reason."""


class AgentExited(AgentFailed):
    """The agent's process ended: "exited with code N" or "was killed by SIGNAME"."""


class AgentRaised(Exception):
    """An exception raised by an isolated agent's code, rebuilt on this side.

    Subclasses are made on the fly with the original's class name, so that the
    match loop's reason reads as for an agent in the same process
    ("raised RuntimeError: boom").
    """


class Unreadable:
    """What an agent returned that does not cross processes as itself (its repr only)."""

    def __init__(self, type_name: str, text: str):
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return self.text


_RAISED_TYPES: dict[str, type[AgentRaised]] = {}


def _raised(type_name: str, message: str) -> AgentRaised:
    name = type_name if type_name.isidentifier() and len(type_name) <= 60 else "Exception"
    cls = _RAISED_TYPES.get(name)
    if cls is None:
        cls = _RAISED_TYPES[name] = type(name, (AgentRaised,), {"__module__": "agents.isolation"})
    return cls(message)


def is_user_code(ref: str, roster: dict[str, str] | None = None) -> bool:
    """True for a reference to user code: a ``path/file.py:Class`` agent or an installed
    plugin (through roster names). Built-ins, checkpoints and ``gtp:`` engines are not."""
    from agents.registry import BUILTINS, _entry_points, through_roster

    ref = through_roster(ref, roster)
    if ref.startswith(("gtp:", "alphazero:", "alphago:")):
        return False
    if ".py:" in ref:
        return True
    name = ref.partition(":")[0]
    if not name or name in BUILTINS or "/" in name:
        return False
    try:
        return name in _entry_points()
    except Exception:  # broken package metadata: make_agent says what is wrong
        return False


# -- replies: read with an allow-list ------------------------------------------------------------

_SAFE_GLOBALS = {
    ("builtins", name) for name in ("list", "tuple", "dict", "set", "frozenset", "complex",
                                    "bytearray", "int", "float", "str", "bool", "object",
                                    "slice", "range")
} | {
    ("copyreg", "_reconstructor"),
    ("agents.base", "Insight"), ("agents.base", "ActionInsight"),
    ("agents.isolation", "Unreadable"),
} | {
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric",
                   "numpy._core.numeric", "numpy")
    for name in ("_reconstruct", "scalar", "ndarray", "dtype", "_frombuffer")
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS or (module == "numpy.dtypes" and name.endswith("DType")):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed")


def _decode(data: bytes) -> Any:
    return _SafeUnpickler(io.BytesIO(data)).load()


def _short_repr(value: Any) -> str:
    try:
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
            return f"a {len(str(abs(value))) if value.bit_length() < 13000 else 'many'}-digit number"
        text = repr(value)
    except Exception:  # a hostile __repr__, or a number too long to print
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= REPR_CHARS else text[:REPR_CHARS - 3] + "..."


_PLAIN = (int, float, str, bool, type(None), complex, bytes)


def _portable(value: Any, depth: int = 0) -> Any:
    """`value` as it can cross to the harness (plain numbers, strings, numpy arrays), else
    an Unreadable carrying its repr."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if kind.__module__ == "numpy" and isinstance(value, np.generic) and kind is not np.object_:
        return value
    if kind is np.ndarray and value.dtype != object:
        return value
    if kind in (list, tuple) and depth < 4 and len(value) <= 10_000:
        return kind(_portable(v, depth + 1) for v in value)
    return Unreadable(kind.__name__, _short_repr(value))


def _portable_insight(value: Any) -> Insight | None:
    if not isinstance(value, Insight):
        return None
    try:
        actions = [ActionInsight(int(a.action), str(a.label), float(a.score),
                                 None if a.visits is None else int(a.visits),
                                 None if a.prior is None else float(a.prior))
                   for a in value.actions]
        return Insight(str(value.kind), actions,
                       None if value.value is None else float(value.value), str(value.note))
    except Exception:  # not the shape Insight promises: nothing to show
        return None


def _exit_reason(exitcode: int | None) -> str:
    if exitcode is None:
        return "stopped answering"
    if exitcode < 0:
        try:
            return f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


def exit_code(exc: SystemExit) -> int:
    """The exit code a SystemExit asks for, as the interpreter would give it."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    return 1


# -- processes -----------------------------------------------------------------------------------

_PRELOAD = ["agents.isolation", "agents.registry", "games.registry"]
_context_lock = threading.Lock()
_mp_context: Any = None
_live: weakref.WeakSet = weakref.WeakSet()


def _context() -> Any:
    """The multiprocessing context children start from: forkserver (a fork of a clean
    server with Arena's modules loaded: milliseconds), else spawn."""
    global _mp_context
    with _context_lock:
        if _mp_context is None:
            if "forkserver" in multiprocessing.get_all_start_methods():
                ctx = multiprocessing.get_context("forkserver")
                from multiprocessing import forkserver

                server = forkserver._forkserver
                if getattr(server, "_forkserver_address", None) is None:  # not started yet
                    had = [m for m in getattr(server, "_preload_modules", []) if m != "__main__"]
                    ctx.set_forkserver_preload(had + [m for m in _PRELOAD if m not in had])
            else:
                ctx = multiprocessing.get_context("spawn")
            atexit.register(_kill_all)
            _mp_context = ctx
        return _mp_context


def _kill(proc: Any, conn: Any = None, group: bool = True) -> None:
    """SIGKILL a child and everything in its process group, and reap it."""
    if proc.pid is not None and proc.exitcode is None:
        if group:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the child leads its own process group
            except (ProcessLookupError, PermissionError, OSError):
                pass
        try:
            proc.kill()
        except (ProcessLookupError, OSError, ValueError, AttributeError):
            pass
    try:
        proc.join(5.0)
    except (AssertionError, ValueError, OSError):
        pass
    if conn is not None:
        try:
            conn.close()
        except OSError:
            pass


def _kill_all() -> None:
    # Before multiprocessing's own exit handler, which would join every child: a child
    # that ignores SIGTERM would hold the harness's exit forever.
    for child in list(_live):
        child.kill()


class _Child:
    """One child process and its pipe; a new one after every kill."""

    def __init__(self, target: Any, args: tuple, ctx: Any = None, own_group: bool = True):
        ctx = ctx or _context()
        self.conn, theirs = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=target, args=(theirs, *args), daemon=False,
                                name="arena-agent")
        self.proc.start()
        theirs.close()
        self.own_group = own_group
        self.busy = False
        self.lock = threading.Lock()
        self.waited = 0.0  # its CPU wait when last read (see cpu_wait_s)
        self._finalizer = weakref.finalize(self, _kill, self.proc, self.conn, own_group)
        _live.add(self)

    def booted(self) -> None:
        """Wait for the child's interpreter to be up (no user code runs before that)."""
        reply = self.receive(BOOT_LIMIT_S)
        if reply is None or reply[0] != "booted":
            self.kill()
            raise AgentFailed("crashed: its process did not start")

    @property
    def alive(self) -> bool:
        return self.proc.exitcode is None

    def kill(self) -> None:
        self.waited = self.cpu_wait_s() or self.waited
        self._finalizer()

    def cpu_wait_s(self) -> float | None:
        """Seconds this child's threads have waited for a CPU (Linux schedstat)."""
        pid = self.proc.pid
        total = 0
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                try:
                    with open(f"/proc/{pid}/task/{tid}/schedstat", encoding="ascii") as f:
                        total += int(f.read().split()[1])
                except (FileNotFoundError, ProcessLookupError):
                    continue
        except (OSError, ValueError, IndexError, TypeError):
            return None
        self.waited = total / 1e9
        return self.waited

    def send(self, message: tuple) -> None:
        try:
            self.conn.send(message)
        except (OSError, ValueError, EOFError):
            pass  # it has died: the wait for its reply says how

    def receive(self, limit: float | None) -> tuple | None:
        """The child's next reply, or None if `limit` seconds passed. AgentExited if it died,
        AgentFailed if it sent something unreadable (it is killed then)."""
        deadline = None if limit is None else time.monotonic() + limit
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = multiprocessing.connection.wait([self.conn, self.proc.sentinel], left)
            if self.conn in ready or (ready and self.conn.poll(0)):
                try:
                    data = self.conn.recv_bytes(MAX_REPLY_BYTES)
                except EOFError:
                    raise self._died() from None
                except OSError:
                    self.kill()
                    raise AgentFailed(f"crashed: sent a reply of over {MAX_REPLY_BYTES >> 20} "
                                      "MiB") from None
                try:
                    reply = _decode(data)
                except Exception as exc:  # anything but Arena's own message is a fault
                    self.kill()
                    raise AgentFailed(f"crashed: sent an unreadable reply "
                                      f"({type(exc).__name__}: {_short_repr(str(exc))})") from None
                if not isinstance(reply, tuple) or not reply or not isinstance(reply[0], str):
                    self.kill()
                    raise AgentFailed("crashed: sent a reply that is not Arena's")
                return reply
            if ready:  # only the sentinel: the child has ended
                raise self._died()
            if deadline is not None and time.monotonic() >= deadline:
                return None

    def _died(self) -> AgentExited:
        try:
            self.proc.join(2.0)
        except (AssertionError, ValueError, OSError):
            pass
        code = self.proc.exitcode
        self.kill()
        return AgentExited(_exit_reason(code))


def _request(ref: str, roster: dict[str, str]) -> dict[str, Any]:
    """What a child needs to build the agent as this process would: the reference, and
    this process's import path, directory and environment."""
    return {"ref": ref, "roster": dict(roster), "sys_path": list(sys.path), "cwd": os.getcwd(),
            "environ": dict(os.environ)}


class IsolatedAgent(Agent):
    """An agent of user code, playing in a child process that is killed at the deadline.

    Built by `agents.registry.make_agent` for ``file.py:Class`` and plugin references;
    raises UserError (one line) when the agent cannot be built: a bad reference, an
    ``__init__`` that raises, exits or takes longer than the build limit.
    """

    #: Always under the clock: user code cannot opt out of the time per move.
    timed = True

    def __init__(self, ref: str, roster: dict[str, str] | None = None, *,
                 build_limit: float | None = None):
        self.ref = ref
        self.name = ref
        self.roster = dict(roster or {})
        self.build_limit_s = build_limit
        self.needs_state = False
        self.keeps_state = False  # the agent is a SearchAgent: a GTP front end hands it positions
        self.trained_on: str | None = None
        self.plays: str | None = None
        self._own_accepts = False  # the class has an accepts() of its own, asked in the child
        self._child: _Child | None = None
        self._gone: str | None = None  # why the last child is gone, for a call made after
        self._clock_limit: float | None = None
        self._pending: dict[str, Any] = {}
        self._waited_dead = 0.0
        self._build(self._limit_for_build(None))

    # -- limits --------------------------------------------------------------------------

    def _limit_for_build(self, time_per_move: float | None) -> float:
        return build_limit(time_per_move, self.build_limit_s)

    def _move_limit(self) -> float | None:
        if self._clock_limit is not None:
            return self._clock_limit
        return self.ctx.time_per_move if self.ctx is not None else None

    # -- the child -----------------------------------------------------------------------

    def _build(self, limit: float) -> None:
        """Start a child and have it build the agent; UserError if it cannot."""
        try:
            child = _Child(_child_main, (_request(self.ref, self.roster),))
            child.booted()
        except AgentFailed as exc:
            raise UserError(f"agent '{self.ref}': {exc}") from None
        try:
            try:
                reply = child.receive(limit)
            except AgentFailed as exc:
                raise UserError(f"agent '{self.ref}': {exc} while being built") from None
            if reply is None:
                child.kill()
                raise UserError(f"agent '{self.ref}': was not built within {limit:g} s "
                                f"(the build limit; build_limit in arena.toml)")
            kind = reply[0]
            if kind == "refused":
                raise UserError(str(reply[1]))
            if kind == "failed":
                raise UserError(f"agent '{self.ref}': __init__ {reply[1]}")
            if kind != "ready" or not isinstance(reply[1], dict):
                raise UserError(f"agent '{self.ref}': its process answered {kind!r} while "
                                "being built")
        except BaseException:
            child.kill()
            raise
        info = reply[1]
        self.needs_state = bool(info.get("needs_state"))
        self.keeps_state = bool(info.get("keeps_state"))
        trained = info.get("trained_on")
        self.trained_on = trained if isinstance(trained, str) and trained else None
        plays = info.get("plays")
        self.plays = plays if isinstance(plays, str) and plays else None
        self._own_accepts = bool(info.get("own_accepts"))
        self._child = child
        self._gone = None

    def _drop(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.kill()
            self._waited_dead = child.waited

    def _call(self, op: str, *args: Any, limit: float | None,
              on_timeout: Any) -> Any:
        """Send `op` to the child and return its result; raise what the agent raised.

        Any interruption (the match clock's MoveTimeout, Ctrl-C) kills the child: its
        reply would otherwise be read as the answer to the next call.
        """
        child = self._child
        if child is None or not child.alive:
            self._drop()
            raise AgentFailed(self._gone or "is not running")
        with child.lock:
            if child.busy:  # a call abandoned by a front end's clock is still waiting
                raise AgentFailed("is still busy with an abandoned move")
            child.busy = True
        try:
            child.send((op, *args))
            reply = child.receive(limit)
        except AgentFailed as exc:
            self._gone_now(child, str(exc))
            raise
        except BaseException:
            self._gone_now(child, "was stopped at its deadline")
            raise
        finally:
            child.busy = False
        if reply is None:
            self._gone_now(child, "was stopped at its deadline")
            raise on_timeout()
        kind = reply[0]
        if kind == "ok":
            return reply[1] if len(reply) > 1 else None
        if kind == "raised" and len(reply) == 4:
            _, what, type_name, message = reply
            message = str(message)
            if what == "resign":
                raise Resignation(message)
            if what == "user":
                raise UserError(message)
            raise _raised(str(type_name), message)
        self._gone_now(child, "crashed: answered out of turn")
        raise AgentFailed("crashed: answered out of turn")

    def _gone_now(self, child: _Child, why: str) -> None:
        child.kill()
        if self._child is child:
            self._child = None
            self._gone = why
            self._waited_dead = child.waited

    def cpu_wait_s(self) -> float:
        """Seconds the agent's process has waited for a CPU (the match loop's starvation
        test adds it to its own); the last reading of a child killed meanwhile."""
        child = self._child
        if child is None:
            return self._waited_dead
        waited = child.cpu_wait_s()
        return child.waited if waited is None else waited

    # -- the Agent contract --------------------------------------------------------------

    def _ensure_child(self, limit: float) -> None:
        """A child ready for calls: the last one, or a fresh one if it is gone or busy."""
        child = self._child
        if child is not None and (child.busy or not child.alive):
            self._drop()  # still busy with an abandoned move, or dead: start afresh
        if self._child is None:
            try:
                self._build(limit)
            except UserError as exc:
                raise AgentFailed(str(exc).removeprefix(f"agent '{self.ref}': ")) from None

    def accepts(self, game: Any) -> bool:
        if not self._own_accepts:
            return super().accepts(game)
        limit = self._limit_for_build(None)
        self._ensure_child(limit)

        def late() -> AgentFailed:
            return AgentFailed(f"did not answer within {limit:g} s")

        return bool(self._call("accepts", _game_data(game), limit=limit, on_timeout=late))

    def start(self, ctx: MatchContext) -> None:
        self.ctx = ctx
        self.rng = np.random.default_rng(ctx.seed)
        self._clock_limit = None
        self._pending = {}
        limit = self._limit_for_build(ctx.time_per_move)
        self._ensure_child(limit)
        try:
            space: Any = pickle.loads(pickle.dumps(ctx.action_space))
        except Exception:  # an action space that does not pickle: the child makes its own
            space = None
        data = {**_game_data(ctx.game), "seat": ctx.seat, "player": ctx.player,
                "seed": ctx.seed, "space": space, "time_per_move": ctx.time_per_move}

        def late() -> AgentFailed:
            return AgentFailed(f"did not start within {limit:g} s")

        self._call("start", data, limit=limit, on_timeout=late)

    def reset(self) -> None:
        limit = self._limit_for_build(self.ctx.time_per_move if self.ctx else None)

        def late() -> AgentFailed:
            return AgentFailed(f"did not reset within {limit:g} s")

        self._call("reset", limit=limit, on_timeout=late)

    def _deadline(self) -> tuple[float | None, float | None]:
        limit = self._move_limit()
        return limit, None if limit is None else limit + DEADLINE_MARGIN_S

    def act(self, observation: Any, action_mask: np.ndarray | None) -> Any:
        from agents.match import MoveTimeout

        _, wait = self._deadline()
        pending, self._pending = self._pending, {}
        return self._call("act", observation, action_mask, pending, limit=wait,
                          on_timeout=MoveTimeout)

    def observe(self, player: int, action: Any) -> None:
        limit, wait = self._deadline()
        pending, self._pending = self._pending, {}

        def late() -> AgentFailed:
            return AgentFailed(f"exceeded the time per move ({limit:g} s)")

        self._call("observe", player, action, pending, limit=wait, on_timeout=late)

    def explain(self) -> Insight | None:
        _, wait = self._deadline()
        try:
            value = self._call("explain", limit=wait,
                               on_timeout=lambda: AgentFailed("did not explain in time"))
        except Exception:  # a front end's side panel: nothing to show, the game goes on
            return None
        return value if isinstance(value, Insight) else None

    def set_clock(self, seconds_left: float | None, moves_left: int | None = None) -> None:
        self._clock_limit = seconds_left if seconds_left is not None and seconds_left > 0 else None
        self._pending["clock"] = (seconds_left, moves_left)

    @property
    def state(self) -> Any:
        return self._pending.get("state")

    @state.setter
    def state(self, value: Any) -> None:
        """A position for the agent's own (a GTP front end keeps SearchAgents in step)."""
        if self.keeps_state:
            self._pending["state"] = value

    def close(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        if child.alive and not child.busy:
            child.send(("close",))
            try:
                child.receive(CLOSE_GRACE_S)
            except AgentFailed:
                pass
        child.kill()

    def __del__(self) -> None:  # a forgotten close() must not leave processes behind
        try:
            child = self.__dict__.get("_child")
            if child is not None:
                child.kill()
        except Exception:
            pass


# -- the driver's check: what can be known without building ---------------------------------------


def check_references(refs: list[str], roster: dict[str, str] | None = None,
                     limit: float | None = None) -> list[dict[str, Any]]:
    """For each user-code reference, what its class says (``needs_state``), without building it.

    The file is imported (or the plugin loaded) and the class and parameters checked in a
    child process, so user code never runs in the caller, and for at most `limit` seconds
    a reference. Raises UserError naming the first reference that is bad, or too slow
    (its ``index`` attribute says which of `refs` it is).
    """
    if not refs:
        return []
    limit = build_limit(None, limit)
    # spawn: once, before any game, in a driver that may start a fork server of its own later
    child = _Child(_check_main, (list(refs), _request("", roster or {})),
                   ctx=multiprocessing.get_context("spawn"), own_group=False)
    results: list[dict[str, Any]] = []
    try:
        try:
            child.booted()
        except AgentFailed as exc:
            raise UserError(f"agent '{refs[0]}': {exc}") from None
        for index, ref in enumerate(refs):
            try:
                results.append(_checked(child, ref, limit))
            except UserError as exc:
                exc.index = index  # type: ignore[attr-defined] - which reference it was
                raise
    finally:
        child.kill()
    return results


def _checked(child: _Child, ref: str, limit: float) -> dict[str, Any]:
    try:
        reply = child.receive(limit)
    except AgentFailed as exc:
        raise UserError(f"agent '{ref}': {exc} while being loaded") from None
    if reply is None:
        raise UserError(f"agent '{ref}': loading it took longer than {limit:g} s "
                        "(the build limit; build_limit in arena.toml)")
    if reply[0] == "refused":
        raise UserError(str(reply[1]))
    if reply[0] != "checked" or not isinstance(reply[1], dict):
        raise UserError(f"agent '{ref}': its check answered {reply[0]!r}")
    return reply[1]


# -- the child's side -----------------------------------------------------------------------------


def _reply(conn: Any, message: tuple) -> None:
    try:
        data = pickle.dumps(message, protocol=4)
    except Exception:
        data = pickle.dumps(("ok", Unreadable("object", "<an object that cannot be sent>")),
                            protocol=4)
    conn.send_bytes(data)


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"raised {type(exc).__name__}" + (f": {text}" if text else "")


def _exit_now(exc: SystemExit) -> None:
    """The agent asked its process to exit: so it does, at once (no threads joined)."""
    code = exc.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(exit_code(exc) & 0xFF)


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when its parent ends (no orphan outlives the harness)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _become_child(request: dict[str, Any], own_group: bool = True) -> None:
    """Its own process group, death with its parent, clean streams, the parent's view of
    imports, directory and environment."""
    if own_group:
        try:
            os.setpgrp()
        except OSError:
            pass
    _die_with_parent()
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(2, 1)  # whatever the agent prints goes to stderr, never to a protocol stream
    except OSError:
        pass
    sys.stdout = sys.stderr
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - the process's stdin
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    os.environ.clear()
    os.environ.update(request["environ"])
    try:
        os.chdir(request["cwd"])
    except OSError:
        pass
    sys.path[:] = request["sys_path"]
    try:
        from agents.threads import apply_thread_policy

        apply_thread_policy("play")
    except Exception:
        pass


def _game_data(game: Any) -> dict[str, Any]:
    return {"game": game.id, "title": game.title, "players": game.players,
            "has_state": game.new_state is not None}


def _game_for(data: dict[str, Any]) -> Any:
    """The GameSpec the harness named, as this process resolves it."""
    from games.registry import GameSpec, resolve_game

    try:
        return resolve_game(data["game"])
    except Exception:  # a game only the harness knows (a GTP board of its own): its name only
        def no_env(render_mode: str | None = None) -> Any:
            raise UserError(f"game '{data['game']}' cannot be built here")

        return GameSpec(data["game"], data["title"], data["players"], no_env)


def _context_for(data: dict[str, Any]) -> MatchContext:
    game = _game_for(data)
    space = data["space"]
    if space is None:
        try:
            env = game.env()
            space = env.action_space(data["seat"])
            env.close()
        except Exception:
            space = None
    return MatchContext(game, data["seat"], data["player"], data["seed"], space,
                        data["time_per_move"])


def _child_main(conn: Any, request: dict[str, Any]) -> None:
    """The child: build the agent, then answer the harness's calls one by one, forever."""
    _become_child(request)
    try:
        _reply(conn, ("booted",))
        _serve(conn, request)
    except SystemExit as exc:
        _exit_now(exc)
    except BaseException:  # the pipe broke, or the agent broke the server itself
        pass
    os._exit(0)


def _serve(conn: Any, request: dict[str, Any]) -> None:
    from agents.base import SearchAgent
    from agents.registry import make_agent

    try:
        agent = make_agent(request["ref"], request["roster"], isolate=False)
    except UserError as exc:
        _reply(conn, ("refused", str(exc)))
        return
    except SystemExit:
        raise
    except BaseException as exc:
        _reply(conn, ("failed", _describe(exc)))
        return
    trained = getattr(agent, "trained_on", None)
    plays = getattr(agent, "plays", None)
    accepts = getattr(type(agent), "accepts", None)
    _reply(conn, ("ready", {"needs_state": bool(getattr(agent, "needs_state", False)),
                            "keeps_state": isinstance(agent, SearchAgent),
                            "trained_on": trained if isinstance(trained, str) else None,
                            "plays": plays if isinstance(plays, str) else None,
                            "own_accepts": accepts is not None
                            and accepts is not getattr(Agent, "accepts", None)}))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        op, args = message[0], message[1:]
        try:
            if op == "act":
                observation, mask, pending = args
                _apply(agent, pending)
                value = _portable(agent.act(observation, mask))
            elif op == "observe":
                player, action, pending = args
                _apply(agent, pending)
                agent.observe(player, action)
                value = None
            elif op == "start":
                agent.start(_context_for(args[0]))
                value = None
            elif op == "reset":
                agent.reset()
                value = None
            elif op == "explain":
                value = _portable_insight(agent.explain())
            elif op == "accepts":
                value = bool(agent.accepts(_game_for(args[0])))
            elif op == "close":
                try:
                    agent.close()
                finally:
                    _reply(conn, ("ok", None))
                return
            else:
                value = None
        except SystemExit:
            raise
        except BaseException as exc:
            what = ("resign" if isinstance(exc, Resignation)
                    else "user" if isinstance(exc, UserError) else "raised")
            text = " ".join(str(exc).split())
            _reply(conn, ("raised", what, type(exc).__name__,
                          text if len(text) <= 500 else text[:497] + "..."))
            continue
        _reply(conn, ("ok", value))


def _apply(agent: Any, pending: dict[str, Any]) -> None:
    if "state" in pending and pending["state"] is not None:
        agent.state = pending["state"]
    if "clock" in pending:
        agent.set_clock(*pending["clock"])


def _check_main(conn: Any, refs: list[str], request: dict[str, Any]) -> None:
    """The driver's check, in a child: import each reference's class, check its parameters."""
    _become_child(request, own_group=False)
    from agents.registry import check_params, user_class

    try:
        _reply(conn, ("booted",))
        for ref in refs:
            try:
                cls, params, shown = user_class(ref, request["roster"])
                check_params(cls, params, shown)
            except UserError as exc:
                _reply(conn, ("refused", str(exc)))
                return
            except SystemExit as exc:
                _reply(conn, ("refused", f"agent '{ref}': loading it exited with code "
                                         f"{exit_code(exc)}"))
                return
            except BaseException as exc:
                _reply(conn, ("refused", f"agent '{ref}': loading it {_describe(exc)}"))
                return
            _reply(conn, ("checked", {"needs_state": bool(getattr(cls, "needs_state", False))}))
    finally:
        os._exit(0)
