"""What a worker runs: one planned game -> its outcome.

A worker builds the seats' agents (or reuses those it built for earlier
games, as `arena match` reuses its agents), plays the game through
`play_match` and hands back the MatchResult. It never touches the store: the
driver alone writes results.

Faults are sorted by whose they are:

- an agent's own fault (it raises, plays an illegal move, overruns its time,
  cannot be built or started) is a forfeit: a loss with the reason, as in
  `arena match`;
- a fault of the harness (the env cannot be created, the match loop fails
  outside the agents' code, the worker process dies) voids the attempt, and
  the driver plays the game again.

While an agent's code runs, the worker keeps the seat number (1-based) in a
shared `blame` cell, and 0 otherwise. If the process dies, the driver reads
the cell to learn whose code was running, so a participant that keeps killing
its worker can be withdrawn.
"""

from __future__ import annotations

import functools
import os
import socket
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

#: Forfeit reasons that mean the agent crashed (as opposed to playing badly:
#: an illegal move, a timeout or a resignation). Crashes in a row withdraw it. An
#: agent whose process ends (sys.exit, os._exit, a signal) crashed too: see agents/isolation.py.
CRASH_PREFIXES = ("raised ", "failed to start", "failed to load", "exited with code",
                  "was killed by", "crashed")


def is_crash(reason: str | None) -> bool:
    """True if a forfeit's reason says the agent crashed."""
    return reason is not None and reason.startswith(CRASH_PREFIXES)


class BlameCell(Protocol):
    value: int


class _NoBlame:
    value = 0


@dataclass
class GameJob:
    """Everything a worker needs to play one planned game (picklable)."""

    key: str
    game: str
    seats: list[str]  # participant names by seat; seat 0 moves first
    agents: list[str]  # their agent references
    seed: int
    time_per_move: float | None
    max_moves: int | None
    tag: str
    roster: dict[str, str] = field(default_factory=dict)
    #: Seconds user code may take to build or start (arena.toml build_limit); None: the default.
    build_limit: float | None = None


@dataclass
class GameOutcome:
    """A worker's answer: a result (forfeits included), or why the attempt is void."""

    key: str
    result: Any = None  # agents.match.MatchResult
    void_reason: str | None = None  # set when the harness failed: play the game again
    blame: int | None = None  # the seat whose code ran when the worker died; None if unknown/none
    worker: str = ""  # pid@host, for messages
    unstarted: bool = False  # void because its worker died before starting it: not an attempt


def worker_name() -> str:
    """This process as messages name it: pid@host."""
    return f"{os.getpid()}@{socket.gethostname()}"


#: The blame cell of the game this process is playing (see play_job).
_blame: BlameCell = _NoBlame()

#: Agents kept between games, least recently used first: (participant, reference,
#: roster entry) -> (agent, [its seat + 1 in the current game]). Like `arena match`,
#: a worker reuses an agent across games (start() and reset() begin each game), so
#: a network is loaded or an engine process started once per worker, not per game.
_agents: OrderedDict[tuple[str, str, str | None], tuple[Any, list[int]]] = OrderedDict()
AGENTS_KEPT = 8


def _blamed(method: Callable[..., Any], seat_mark: list[int]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        cell = _blame
        before = cell.value
        cell.value = seat_mark[0]
        try:
            return method(*args, **kwargs)
        finally:
            cell.value = before

    return call


def _watch(agent: Any, seat_mark: list[int]) -> None:
    """Make every call into `agent`'s code set the blame cell to its seat (in `seat_mark`)."""
    for name in ("start", "reset", "act", "observe", "explain", "close"):
        method = getattr(agent, name, None)
        if callable(method):
            try:
                setattr(agent, name, _blamed(method, seat_mark))
            except (AttributeError, TypeError):  # an agent with __slots__ keeps its methods
                pass


def _agent_key(job: GameJob, seat: int) -> tuple[str, str, str | None]:
    ref = job.agents[seat]
    return (job.seats[seat], ref, job.roster.get(ref))


def _agent_for(job: GameJob, seat: int) -> Any:
    """The agent for `seat`: the one this process kept, else a new one (make_agent may raise)."""
    from agents.registry import make_agent

    key = _agent_key(job, seat)
    entry = _agents.pop(key, None)
    if entry is None:
        _blame.value = seat + 1
        try:
            agent = make_agent(job.agents[seat], job.roster, build_limit=job.build_limit)
        finally:
            _blame.value = 0
        mark = [0]
        _watch(agent, mark)
        entry = (agent, mark)
    _agents[key] = entry
    while len(_agents) > AGENTS_KEPT:
        _, (old, _) = _agents.popitem(last=False)
        _close(old)
    entry[1][0] = seat + 1
    return entry[0]


def _forget(key: tuple[str, str, str | None]) -> None:
    entry = _agents.pop(key, None)
    if entry is not None:
        _close(entry[0])


def _close(agent: Any) -> None:
    try:
        agent.close()
    except Exception:  # a failing close() must not lose a finished game
        pass


def close_agents() -> None:
    """Close every agent this process kept (a worker calls it before it exits)."""
    while _agents:
        _, (agent, _) = _agents.popitem()
        _close(agent)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _load_reason(exc: BaseException) -> str:
    """Why an agent could not be built: a UserError's own line (it names the agent), else
    the exception's type and message."""
    from games.errors import UserError

    if isinstance(exc, UserError):
        return " ".join(str(exc).split())
    return _one_line(exc)


def _load_forfeit(job: GameJob, seat: int, exc: BaseException) -> Any:
    """The result of a game whose `seat` could not be built: that seat forfeits."""
    from agents.match import MatchResult, agent_seed

    players = len(job.seats)
    if players == 1:
        returns, outcomes, winner = [0.0], ["forfeit"], None
    else:
        returns = [1.0] * players
        returns[seat] = -1.0
        outcomes = ["win"] * players
        outcomes[seat] = "loss"
        winner = 1 - seat if players == 2 else None
    return MatchResult(
        uid=uuid.uuid4().hex, game=job.game, agents=list(job.seats), seed=job.seed,
        agent_seeds=[agent_seed(job.seed, i) for i in range(players)], returns=returns,
        outcomes=outcomes, moves=[], started_at=time.time(), duration_s=0.0, winner=winner,
        forfeit_player=seat, forfeit_reason=f"failed to load: {_load_reason(exc)}", tag=job.tag,
    )


def play_job(job: GameJob, blame: BlameCell | None = None) -> GameOutcome:
    """Play `job`'s game. Never raises for a fault: the outcome says what happened.

    An agent that crashed (see `is_crash`) or met a harness fault is closed and
    built afresh for its next game.
    """
    from agents.threads import apply_thread_policy
    from agents.match import HarnessFault, play_match
    from games.registry import resolve_game

    global _blame
    apply_thread_policy("play")  # one torch thread a worker: see agents/threads.py
    _blame = blame if blame is not None else _NoBlame()
    me = worker_name()
    try:
        game = resolve_game(job.game)
    except Exception as exc:  # the harness cannot even find the game: void, not a forfeit
        return GameOutcome(job.key, void_reason=f"harness error on {me}: {_one_line(exc)}",
                           worker=me)
    keys = [_agent_key(job, seat) for seat in range(len(job.agents))]
    agents: list[Any] = []
    try:
        for seat in range(len(job.agents)):
            try:
                agents.append(_agent_for(job, seat))
            except Exception as exc:  # the agent's own code failed to build it: its forfeit
                return GameOutcome(job.key, result=_load_forfeit(job, seat, exc), worker=me)
        try:
            result = play_match(game, agents, names=job.seats, seed=job.seed,
                                time_per_move=job.time_per_move, max_moves=job.max_moves,
                                tag=job.tag)
        except HarnessFault as exc:  # a seat was starved of CPU: void, and nobody's fault
            return GameOutcome(job.key, void_reason=f"on {me}: {exc}", worker=me)
        except Exception as exc:  # play_match turns agents' faults into forfeits; this is ours
            for key in keys:
                _forget(key)
            where = traceback.extract_tb(exc.__traceback__)[-1]
            return GameOutcome(job.key, void_reason=f"harness error on {me}: {_one_line(exc)} "
                                                    f"({os.path.basename(where.filename)}:"
                                                    f"{where.lineno})", worker=me)
        if result.forfeit_player is not None and is_crash(result.forfeit_reason):
            _forget(keys[result.forfeit_player])
        return GameOutcome(job.key, result=result, worker=me)
    finally:
        _blame.value = 0
