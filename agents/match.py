"""THE loop: one game between seats over the PettingZoo AEC API.

Every game, from CartPole to Go, is played here. The loop asks each seat's
agent for an action, checks it, steps the env and tells observers (the store,
progress displays, front ends) what happened. Nothing here knows about a
front end.

An agent that raises, returns an illegal action or overruns its time loses
the game by forfeit, with the reason recorded; the program goes on. An agent
that raises agents.base.Resignation loses by resignation, which is no fault:
the result says so (``end == "resignation"``, ``resign_player``), apart from
forfeits.
"""

from __future__ import annotations

import operator
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from agents.base import shown_value, Agent, Insight, MatchContext, Resignation
from agents.isolation import AgentFailed, IsolatedAgent, exit_code
from agents.registry import check_game
from games.errors import UserError
from games.registry import GameSpec


@dataclass
class Move:
    ply: int
    player: int
    action: Any
    label: str
    think_s: float


@dataclass
class MatchResult:
    """Everything known about a finished (or abandoned) game."""

    uid: str
    game: str
    agents: list[str]  # agent reference per player index (0 moves first)
    seed: int
    agent_seeds: list[int]
    returns: list[float]
    outcomes: list[str]  # per player: win, loss, draw; single-player: done, truncated, forfeit,
    # resigned
    moves: list[Move]
    started_at: float
    duration_s: float
    status: str = "finished"  # or "abandoned"
    winner: int | None = None
    forfeit_player: int | None = None
    forfeit_reason: str | None = None
    truncated: bool = False  # stopped by the move cap
    tag: str | None = None
    match_id: int | None = field(default=None, compare=False)  # set once stored
    #: How the game ended: "played" (by the rules, or the move cap), "resignation",
    #: "forfeit" (a fault: raised, illegal move, out of time) or "abandoned".
    end: str = "played"
    resign_player: int | None = None  # who resigned (end == "resignation")
    resign_reason: str | None = None  # what the resigning agent said, e.g. "resigned"

    @property
    def plies(self) -> int:
        return len(self.moves)


def describe_result(result: Any, names: Sequence[str] | None = None, *,
                    seat_names: Sequence[str] = (), score: str | None = None,
                    headline: bool = False, draw: str = "draw", episode: str = "",
                    say_adjudicated: bool = False) -> str:
    """The one text saying how a game ended, for every front end.

    `result` is a MatchResult or anything with its fields (the store's
    StoredMatch); `names` are the seats' shown names (default: the agent
    references), each followed by its `seat_names` colour when given
    ("random (Black)"); `score` ("W+7.5") follows the winner.

    The line (the CLI, the TUI): the outcome, then what stopped the game and
    its faults, "random wins, W+7.5 (move cap reached); greedy resigned". `draw`
    and `episode` (put before a one-player game's return) are the words of
    the caller; `say_adjudicated` adds that a capped game with a winner was
    decided by score. The headline (the window): capitalised, the
    resignation or forfeit first, "greedy (White) resigns; random (Black) wins".
    """
    names = list(result.agents if names is None else names)
    if result.status == "abandoned":
        return "Game abandoned" if headline else "abandoned"

    def who(seat: int) -> str:
        return f"{names[seat]} ({seat_names[seat]})" if seat < len(seat_names) else names[seat]

    solo = len(result.agents) == 1
    resigned, forfeited = result.resign_player, result.forfeit_player
    if headline:
        if solo:
            capped = result.truncated or result.outcomes[0] == "truncated"
            if resigned is not None:
                return f"Episode over: {names[0]} resigned"
            if result.forfeit_reason:
                return f"Episode over: {names[0]} {result.forfeit_reason}"
            return f"Episode over{' (time limit)' if capped else ''}: return {result.returns[0]:g}"
        won = f"; {who(result.winner)} wins" if result.winner is not None else ""
        if resigned is not None:
            return f"{who(resigned)} resigns{won}"
        if forfeited is not None:
            return f"{who(forfeited)} forfeits: {result.forfeit_reason or 'a fault'}{won}"
        text = "Draw" if result.winner is None else f"{who(result.winner)} wins"
        if score and result.winner is not None:
            text += f", {score}"
        return text + (" (move cap)" if result.truncated else "")

    if solo:
        text = f"{episode}return {result.returns[0]:g} in {result.plies} steps"
    elif result.winner is not None:
        text = f"{who(result.winner)} wins" + (f", {score}" if score else "")
    else:
        text = draw
    if result.truncated:
        adjudicated = say_adjudicated and not solo and result.winner is not None
        text += " (move cap reached, adjudicated by score)" if adjudicated else " (move cap reached)"
    if forfeited is not None:
        text += f"; {who(forfeited)} forfeited: {result.forfeit_reason}"
    if resigned is not None:
        text += f"; {who(resigned)} resigned"
    return text


@dataclass
class MatchStarted:
    uid: str
    game: GameSpec
    agents: list[str]
    seed: int
    env: Any  # the live AEC env, for front ends that draw it


@dataclass
class MovePlayed:
    uid: str
    move: Move
    insight: Insight | None
    env: Any


@dataclass
class MatchEnded:
    result: MatchResult


Event = MatchStarted | MovePlayed | MatchEnded


class Observer(Protocol):
    """Anything that wants to hear about matches.

    Optional attributes: ``wants_moves`` (default True) and ``wants_insight``
    (default False; asks the mover's explain() after each move).
    """

    def on_event(self, event: Event) -> None: ...


class MoveTimeout(BaseException):
    """Raised inside an agent that overran its time.

    A BaseException, so an agent's own ``except Exception`` cannot swallow it.
    """


class MoveClock:
    """Runs agents' moves under a time limit.

    In the main thread a SIGALRM interrupts the agent, even a busy loop in
    Python. Elsewhere (a front end's worker thread) the move runs in a daemon
    thread that is abandoned if it overruns.
    """

    def __init__(self, limit: float | None):
        self.limit = limit
        self._alarm = (
            limit is not None
            and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
        )
        self._armed = False
        self._old_handler: Any = None

    def __enter__(self) -> MoveClock:
        if self._alarm:
            self._old_handler = signal.signal(signal.SIGALRM, self._fire)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old_handler)

    def _fire(self, signum: int, frame: Any) -> None:
        if self._armed:
            self._armed = False
            raise MoveTimeout()

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(*args), or MoveTimeout if it takes longer than the limit."""
        limit = self.limit
        if limit is None:
            return fn(*args)
        start = time.perf_counter()
        if self._alarm:
            self._armed = True
            signal.setitimer(signal.ITIMER_REAL, limit)
            try:
                result = fn(*args)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                self._armed = False
        else:
            result = self._call_in_thread(fn, args, limit)
        # Native code can hold off the signal; the clock still rules.
        if time.perf_counter() - start > limit:
            raise MoveTimeout()
        return result

    @staticmethod
    def _call_in_thread(fn: Callable[..., Any], args: tuple, limit: float) -> Any:
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = fn(*args)
            except BaseException as exc:  # handed back to the caller's thread
                box["error"] = exc

        worker = threading.Thread(target=run, daemon=True, name="arena-move")
        worker.start()
        worker.join(limit)
        if worker.is_alive():
            raise MoveTimeout()
        if "error" in box:
            raise box["error"]
        return box["value"]


class HarnessFault(RuntimeError):
    """The harness, not an agent, failed the game: it could not give a seat its time.

    The game is void: `arena match` and tournaments play it again.
    """


#: An overrun is the machine's fault when the agent waited for a CPU over this share of its
#: limit: it got less than half the time it was given.
STARVED_SHARE = 0.5


#: Open schedstat files of this process's threads (tid -> fd), read again with pread on
#: every call, and the thread list, looked up again at most every second: listing and
#: opening them anew cost 30 us a move, a real share of a fast game.
_schedstat: dict[str, int] = {}
_schedstat_pid = 0
_tids: list[str] = []
_tids_at = -1.0
_TIDS_EVERY_S = 1.0


def cpu_wait_s() -> float | None:
    """Seconds this process's threads have spent ready to run but waiting for a CPU.

    From Linux's per-thread schedstat (run-queue wait); None where it is not available.
    A seat that overran its clock while it waited this long was starved by the
    machine (other processes held the cores), not slow by its own fault.
    """
    global _schedstat_pid, _tids, _tids_at
    if _schedstat_pid != os.getpid():  # a forked child: the files are its parent's threads
        for fd in _schedstat.values():
            os.close(fd)
        _schedstat.clear()
        _schedstat_pid, _tids_at = os.getpid(), -1.0
    now = time.monotonic()
    if now - _tids_at >= _TIDS_EVERY_S:
        try:
            _tids = os.listdir("/proc/self/task")
        except OSError:
            return None
        _tids_at = now
    tids = _tids
    total = 0
    for tid in tids:
        fd = _schedstat.get(tid)
        try:
            if fd is None:
                fd = _schedstat[tid] = os.open(f"/proc/self/task/{tid}/schedstat", os.O_RDONLY)
            total += int(os.pread(fd, 64, 0).split()[1])
        except (FileNotFoundError, ProcessLookupError):  # the thread ended meanwhile
            continue
        except (OSError, ValueError, IndexError):
            return None
    if len(_schedstat) > len(tids):  # forget threads that have ended
        for tid in set(_schedstat) - set(tids):
            os.close(_schedstat.pop(tid))
    return total / 1e9


def _seat_wait(agent: Agent) -> float | None:
    """cpu_wait_s, and for an agent in a process of its own (IsolatedAgent) its wait too."""
    own = cpu_wait_s()
    if own is None or not isinstance(agent, IsolatedAgent):
        return own
    return own + agent.cpu_wait_s()


def _exited(exc: SystemExit) -> str:
    """The forfeit reason of an agent that called sys.exit()."""
    return f"exited with code {exit_code(exc)}"


def _overrun(player: int, limit: float | None, waited: float | None) -> BaseException:
    """What an overrun of the clock is: the agent's forfeit, or a harness fault if starved."""
    if limit is not None and waited is not None and waited > STARVED_SHARE * limit:
        return HarnessFault(f"player {player} waited {waited:.1f} s of its {limit:g} s for a CPU "
                            f"(the machine is oversubscribed); the game is void")
    return _Forfeit(player, f"exceeded the time per move ({limit:g} s)")


class _Forfeit(Exception):
    """Ends the game early: `player` loses, by forfeit or (resigned) by resignation."""

    def __init__(self, player: int, reason: str, resigned: bool = False):
        super().__init__(reason)
        self.player = player
        self.reason = reason
        self.resigned = resigned


def agent_seed(seed: int, player: int) -> int:
    """The seed an agent gets for a game: fixed by the game's seed and the seat."""
    return int(np.random.SeedSequence([seed, player]).generate_state(1)[0])


def _check_action(action: Any, mask: np.ndarray | None, space: Any,
                  rules: Any = None) -> tuple[Any, str | None]:
    """(the action in canonical form, None) or (action, why it is not allowed).

    `mask` is the env's own (the agent saw a copy); `rules` is the game's search state
    in the position, judging legality by the game's own rules where it has one.
    """
    if mask is not None:
        if isinstance(action, (bool, np.bool_)):
            return action, f"returned {action!r}, not an action number"
        try:
            index = operator.index(action)
        except TypeError:
            return action, f"returned {shown_value(action)}, not an action number"
        if not 0 <= index < len(mask):
            shown = f"action {index}" if abs(index) < 2**63 else shown_value(index)
            return index, f"returned {shown}, outside 0..{len(mask) - 1}"
        if not mask[index] or (rules is not None and not _legal_by_rules(rules, index)):
            return index, f"played illegal action {index}{_why_illegal(rules, index)}"
        return index, None
    try:
        ok = space.contains(action)
    except Exception:  # an odd type the space cannot even compare
        ok = False
    if not ok:
        return action, f"returned {shown_value(action)}, outside the action space"
    return action, None


def _legal_by_rules(state: Any, action: int) -> bool:
    if action >= state.num_actions:
        return False
    is_legal = getattr(state, "is_legal", None)
    if callable(is_legal):
        return bool(is_legal(action))
    return bool(state.legal_mask()[action])


def _why_illegal(state: Any, action: int) -> str:
    """" (c3: occupied)", from the game's own rules where they say why."""
    if state is None:
        return ""
    try:
        label = state.action_label(action)
        reason = state.illegal_reason(action) if hasattr(state, "illegal_reason") else None
    except Exception:  # a label or reason the state cannot give: the number says enough
        return ""
    return f" ({label}: {reason})" if reason else f" ({label})"


def _outcomes(returns: list[float], players: int) -> tuple[list[str], int | None]:
    if players == 1:
        return ["done"], None
    best = max(returns)
    if all(r == best for r in returns):
        return ["draw"] * players, None
    winners = [i for i, r in enumerate(returns) if r == best]
    outcomes = ["win" if r == best else "loss" for r in returns]
    return outcomes, winners[0] if len(winners) == 1 else None


def play_match(
    game: GameSpec,
    agents: Sequence[Agent],
    *,
    seed: int = 0,
    time_per_move: float | None = None,
    max_moves: int | None = None,
    observers: Sequence[Observer] = (),
    names: Sequence[str] | None = None,
    render_mode: str | None = None,
    tag: str | None = None,
) -> MatchResult:
    """Play one game of `game`; `agents[i]` plays the i-th seat (0 moves first).

    Returns the result after observers have seen MatchEnded. A KeyboardInterrupt
    ends the game as "abandoned" (observers hear it) and is then re-raised.
    """
    for agent in agents:
        if getattr(agent, "needs_state", False) and game.new_state is None:
            raise UserError(f"agent '{agent.name}' needs a board game with a search state; "
                            f"game '{game.id}' has none")
        check_game(agent, game)  # a connect four network in a Go game: refused, not forfeited
    env = game.env(render_mode=render_mode)
    env.reset(seed=seed)
    seats = list(env.possible_agents)
    if len(agents) != len(seats):
        raise UserError(f"game '{game.id}' needs {len(seats)} agent(s), got {len(agents)}")
    names = list(names) if names is not None else [a.name for a in agents]
    index = {seat: i for i, seat in enumerate(seats)}
    seeds = [agent_seed(seed, i) for i in range(len(seats))]
    labeler = game.new_state() if game.new_state is not None else None
    rules = labeler  # the game's own position, to judge moves by; None once out of step
    move_observers = [o for o in observers if getattr(o, "wants_moves", True)]
    want_insight = any(getattr(o, "wants_insight", False) for o in observers)

    uid = uuid.uuid4().hex
    started = time.time()
    t_start = time.perf_counter()
    totals = [0.0] * len(seats)
    moves: list[Move] = []
    forfeit: _Forfeit | None = None
    truncated = False
    status = "finished"

    for o in observers:
        o.on_event(MatchStarted(uid, game, names, seed, env))
    try:
        with MoveClock(time_per_move) as clock:
            for i, agent in enumerate(agents):
                try:
                    agent.start(MatchContext(game, seats[i], i, seeds[i],
                                             env.action_space(seats[i]), time_per_move))
                except AgentFailed as exc:  # its process exited, or it overran the build limit
                    raise _Forfeit(i, f"failed to start: {exc}") from None
                except SystemExit as exc:
                    raise _Forfeit(i, f"failed to start: {_exited(exc)}") from None
                except Exception as exc:  # an agent that cannot start forfeits, the run goes on
                    raise _Forfeit(i, f"failed to start: {type(exc).__name__}: {exc}") from None
            for seat in env.agent_iter():
                obs, reward, terminated, truncated_env, info = env.last()
                player = index[seat]
                totals[player] += reward
                if terminated or truncated_env:
                    env.step(None)
                    continue
                if type(obs) is dict and "action_mask" in obs:
                    mask = obs["action_mask"]
                    obs = obs["observation"]
                else:
                    mask = info.get("action_mask")
                agent = agents[player]
                # The agent gets copies: what it does to them cannot touch the env's own
                # mask, which (with the game's rules) judges its move.
                seen_mask = None if mask is None else np.array(mask, copy=True)
                seen_obs = obs.copy() if isinstance(obs, np.ndarray) else obs
                t0 = time.perf_counter()
                waited0 = _seat_wait(agent) if time_per_move is not None else None
                try:
                    if agent.timed:
                        action = clock.call(agent.act, seen_obs, seen_mask)
                    else:
                        action = agent.act(seen_obs, seen_mask)
                except MoveTimeout:
                    waited = _seat_wait(agent)
                    raise _overrun(player, time_per_move, None if waited is None or waited0 is None
                                   else waited - waited0) from None
                except Resignation as exc:
                    raise _Forfeit(player, str(exc) or "resigned", resigned=True) from None
                except AgentFailed as exc:  # its process exited or was killed: the reason says
                    raise _Forfeit(player, str(exc)) from None
                except SystemExit as exc:
                    raise _Forfeit(player, _exited(exc)) from None
                except Exception as exc:
                    raise _Forfeit(player, f"raised {type(exc).__name__}: {exc}") from None
                think = time.perf_counter() - t0
                if rules is not None and rules.is_terminal():
                    rules = None  # the env plays on past the state's end: the mask judges alone
                action, illegal = _check_action(action, mask, env.action_space(seat), rules)
                if illegal:
                    raise _Forfeit(player, illegal)
                label = labeler.action_label(action) if labeler is not None else str(action)
                env.step(action)
                if rules is not None:
                    try:
                        rules.play(action)
                    except Exception:  # out of step with the env: judge by the mask alone
                        rules = None
                for j, other in enumerate(agents):
                    try:
                        other.observe(player, action)
                    except AgentFailed as exc:
                        raise _Forfeit(j, f"{exc} in observe") from None
                    except SystemExit as exc:
                        raise _Forfeit(j, f"{_exited(exc)} in observe") from None
                    except Exception as exc:
                        raise _Forfeit(j, f"raised {type(exc).__name__} in observe: {exc}") from None
                move = Move(len(moves), player, action, label, think)
                moves.append(move)
                if move_observers:
                    insight = agents[player].explain() if want_insight else None
                    event = MovePlayed(uid, move, insight, env)
                    for o in move_observers:
                        o.on_event(event)
                if max_moves is not None and len(moves) >= max_moves and _unfinished(env):
                    # The move cap: a game with a rule for it (Go: the area score with
                    # komi) is adjudicated; any other two-player game is a draw.
                    truncated = True
                    for s, r in env._cumulative_rewards.items():
                        totals[index[s]] += r
                    verdict = _adjudicate(env)
                    if verdict is not None:
                        for s, r in zip(seats, verdict):
                            totals[index[s]] += float(r)
                    break
    except _Forfeit as f:
        forfeit = f
    except HarnessFault:  # void: nothing to record; the caller plays the game again
        env.close()
        raise
    except KeyboardInterrupt:
        status = "abandoned"
        result = _result(uid, game, names, seed, seeds, totals, moves, started, t_start,
                         None, truncated, status, tag)
        for o in observers:
            o.on_event(MatchEnded(result))
        env.close()
        raise
    result = _result(uid, game, names, seed, seeds, totals, moves, started, t_start,
                     forfeit, truncated, status, tag)
    for o in observers:
        o.on_event(MatchEnded(result))
    env.close()
    return result


def _unfinished(env: Any) -> bool:
    """True while the game goes on: someone is still in it and the one to move is not done."""
    if not env.agents:
        return False
    seat = env.agent_selection
    return not (env.terminations.get(seat) or env.truncations.get(seat))


def _adjudicate(env: Any) -> Sequence[float] | None:
    """Each seat's reward for a game stopped by the move cap here, if the game has a rule
    for it (BoardGameEnv.adjudicate); None means a draw."""
    adjudicate = getattr(env.unwrapped, "adjudicate", None)
    return adjudicate() if callable(adjudicate) else None


def _result(uid: str, game: GameSpec, names: list[str], seed: int, seeds: list[int],
            totals: list[float], moves: list[Move], started: float, t_start: float,
            forfeit: _Forfeit | None, truncated: bool, status: str, tag: str | None) -> MatchResult:
    players = len(names)
    returns = [float(t) for t in totals]
    if forfeit is not None and players > 1:
        returns = [1.0] * players
        returns[forfeit.player] = -1.0
    outcomes, winner = _outcomes(returns, players)
    resigned = forfeit is not None and forfeit.resigned
    if players == 1 and forfeit is not None:
        outcomes = ["resigned" if resigned else "forfeit"]
    elif players == 1 and truncated:
        outcomes = ["truncated"]
    end = "resignation" if resigned else "forfeit" if forfeit is not None else "played"
    if status == "abandoned":
        outcomes, winner, end = ["abandoned"] * players, None, "abandoned"
    faulted = forfeit if forfeit is not None and not resigned else None
    return MatchResult(
        uid=uid, game=game.id, agents=names, seed=seed, agent_seeds=seeds, returns=returns,
        outcomes=outcomes, moves=moves, started_at=started,
        duration_s=time.perf_counter() - t_start, status=status, winner=winner,
        forfeit_player=faulted.player if faulted else None,
        forfeit_reason=faulted.reason if faulted else None, truncated=truncated, tag=tag,
        end=end, resign_player=forfeit.player if resigned else None,
        resign_reason=forfeit.reason if resigned else None,
    )
