"""A match played live for the terminal app: in a worker thread, paced, stoppable, recorded.

The app never plays a game itself. It builds a `LiveMatch`, runs `LiveMatch.run`
in a Textual thread worker, and hears about the game through messages posted
to a target widget (thread-safe: Textual's `post_message` hands them to the
app's event loop). The worker drives `agents.match.play_match`, the same loop
`arena match` uses, so a game watched or played in the app is stored like any
other.

Pausing, single steps and speed are honoured by blocking the worker between
moves (`Pacer`). Stopping raises `MatchStopped` (a KeyboardInterrupt) inside
the loop, which records the game as "abandoned" and unwinds.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from textual.message import Message
from textual.message_pump import MessagePump

from agents.base import Agent, Insight, MatchContext, Resignation
from games.errors import UserError
from agents.match import Event, MatchEnded, MatchResult, MatchStarted, Move, MovePlayed, play_match
from games.registry import GameSpec
from games.state import GameState

#: The speed multipliers `+` and `-` step through; inf is "as fast as it goes".
SPEEDS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0, math.inf)


class MatchStopped(KeyboardInterrupt):
    """Raised inside the match loop to end a live game.

    A KeyboardInterrupt, because that is what play_match turns into an
    "abandoned" result that its observers (the store) still hear about.
    """


class Resigned(Resignation):
    """Raised by a person's act() to resign: the match loop records a loss by resignation."""

    def __init__(self) -> None:
        super().__init__("resigned")


def speed_text(speed: float) -> str:
    """How a speed multiplier is shown: '×2', '×0.5', 'max'."""
    return "max" if math.isinf(speed) else f"×{speed:g}"


class Pacer:
    """Blocks the match thread between moves: pause, single steps, speed, stop.

    `wait()` is called by the match thread after each move; every other
    method is called from the app's thread. Delay between moves is
    ``base_delay / speed``.
    """

    def __init__(self, base_delay: float, speed: float = 1.0, paused: bool = False):
        self.base_delay = base_delay
        self._speed = speed
        self._paused = paused
        self._steps = 0
        self._stopped = False
        self._cond = threading.Condition()

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def delay(self) -> float:
        """Seconds between moves at the current speed."""
        return 0.0 if math.isinf(self._speed) else self.base_delay / self._speed

    def set_speed(self, speed: float) -> None:
        with self._cond:
            self._speed = speed
            self._cond.notify_all()

    def faster(self) -> float:
        """Step up to the next speed in SPEEDS; the new speed."""
        higher = [s for s in SPEEDS if s > self._speed]
        self.set_speed(higher[0] if higher else self._speed)
        return self._speed

    def slower(self) -> float:
        """Step down to the previous speed in SPEEDS; the new speed."""
        lower = [s for s in SPEEDS if s < self._speed]
        self.set_speed(lower[-1] if lower else self._speed)
        return self._speed

    def toggle_pause(self) -> bool:
        """Pause or resume; True when now paused."""
        with self._cond:
            self._paused = not self._paused
            self._steps = 0
            self._cond.notify_all()
            return self._paused

    def step(self) -> None:
        """Let exactly one more move through (pausing first if running)."""
        with self._cond:
            if self._paused:
                self._steps += 1
            self._paused = True
            self._cond.notify_all()

    def stop(self) -> None:
        """Make the match thread stop at its next wait."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def check(self) -> None:
        """Raise MatchStopped if stop() was called."""
        if self._stopped:
            raise MatchStopped()

    def wait(self) -> None:
        """Block until the next move may be played; MatchStopped once stopped."""
        start = time.monotonic()
        with self._cond:
            while True:
                if self._stopped:
                    raise MatchStopped()
                if self._paused:
                    if self._steps > 0:
                        self._steps -= 1
                        return
                    self._cond.wait()
                    start = time.monotonic()  # a resumed game starts its delay afresh
                    continue
                remaining = self.delay - (time.monotonic() - start)
                if remaining <= 0:
                    return
                # Woken early by a speed change or a pause: loop and re-read them.
                self._cond.wait(remaining)


_LEAVE = object()
_RESIGN = object()


class PersonAgent(Agent):
    """A person at the app: act() blocks until the screen hands over a move.

    Not timed: the match loop never forfeits a person for thinking. The
    screen checks moves against the position before `submit`ting them;
    act() still drops any move its mask does not allow (a stale click), so
    the loop never sees an illegal move from a person.
    """

    name = "you"
    timed = False

    def __init__(self, on_turn: Callable[[np.ndarray | None], None] | None = None):
        self.on_turn = on_turn
        self.resigned = False
        self._inbox: queue.Queue[Any] = queue.Queue()

    def start(self, ctx: MatchContext) -> None:
        super().start(ctx)
        self.resigned = False

    def submit(self, action: int) -> None:
        """Play `action` at the person's current (or next) turn."""
        self._inbox.put(int(action))

    def resign(self) -> None:
        """Resign at the current (or next) turn."""
        self._inbox.put(_RESIGN)

    def leave(self) -> None:
        """The person left: a waiting act() raises MatchStopped."""
        self._inbox.put(_LEAVE)

    def act(self, observation: Any, action_mask: np.ndarray | None) -> int:
        if self.on_turn is not None:
            # A copy: the screen reads it in another thread, the env may reuse its array.
            self.on_turn(None if action_mask is None else np.array(action_mask, copy=True))
        while True:
            item = self._inbox.get()
            if item is _LEAVE:
                raise MatchStopped()
            if item is _RESIGN:
                self.resigned = True
                raise Resigned()
            if action_mask is None or (0 <= item < len(action_mask) and action_mask[item]):
                return item


class ScriptedStart(Agent):
    """An agent that replays `script` (the game's first moves), then plays itself.

    How undo works: the game restarts from the beginning with both seats
    replaying the shortened move list. The inner agent hears every move
    (observe), so a search agent's position stays in step.
    """

    def __init__(self, inner: Agent, script: Sequence[int]):
        self.inner = inner
        self.script = list(script)
        self.name = inner.name
        self.timed = inner.timed
        self.needs_state = inner.needs_state
        self._ply = 0

    def start(self, ctx: MatchContext) -> None:
        self._ply = 0
        self.inner.start(ctx)

    def act(self, observation: Any, action_mask: np.ndarray | None) -> Any:
        if self._ply < len(self.script):
            return self.script[self._ply]
        return self.inner.act(observation, action_mask)

    def observe(self, player: int, action: Any) -> None:
        self._ply += 1
        self.inner.observe(player, action)

    def explain(self) -> Insight | None:
        return self.inner.explain() if self._ply > len(self.script) else None

    def close(self) -> None:
        self.inner.close()


@dataclass
class Snapshot:
    """What the screen draws after a move; built in the match thread, never shared with it."""

    state: GameState | None  # a copy of the board game's position
    last_action: Any
    frame: np.ndarray | None  # single-player: (2 * rows, columns, 3) uint8, ready for half-blocks
    total_return: float
    steps: int


class LiveStarted(Message):
    """A live match has started (agents built, env reset)."""

    def __init__(self, live: LiveMatch, snapshot: Snapshot, names: list[str]):
        super().__init__()
        self.live = live
        self.snapshot = snapshot
        self.names = names


class LiveMove(Message):
    """A move was played; `insight` is what its player thought (None if it says nothing)."""

    def __init__(self, live: LiveMatch, move: Move, snapshot: Snapshot, insight: Insight | None):
        super().__init__()
        self.live = live
        self.move = move
        self.snapshot = snapshot
        self.insight = insight


class LiveThinking(Message):
    """An agent (seat `player`) has begun to think about its move, at `since` (time.monotonic())."""

    def __init__(self, live: LiveMatch, player: int, since: float):
        super().__init__()
        self.live = live
        self.player = player
        self.since = since


class LiveTurn(Message):
    """The person is to move; `mask` marks the legal actions."""

    def __init__(self, live: LiveMatch, mask: np.ndarray | None):
        super().__init__()
        self.live = live
        self.mask = mask


class LiveEnded(Message):
    """The match is over: `result` (None if it never started) or `error` (one line)."""

    def __init__(self, live: LiveMatch, result: MatchResult | None, error: str | None):
        super().__init__()
        self.live = live
        self.result = result
        self.error = error


def downscale(frame: np.ndarray, columns: int, rows: int) -> np.ndarray:
    """An RGB frame shrunk to fit `columns` x `rows` half-block cells, aspect kept.

    Each terminal cell shows two pixels (upper and lower half), so the result
    is (2 * r, c, 3) with r <= rows and c <= columns. Nearest-pixel sampling:
    cheap enough to run for every step of CartPole.
    """
    height, width = frame.shape[:2]
    columns, rows = max(columns, 1), max(rows, 1)
    scale = min(columns / width, 2 * rows / height)
    out_w = max(1, min(columns, round(width * scale)))
    out_h = max(2, min(2 * rows, round(height * scale)))
    out_h -= out_h % 2
    ys = ((np.arange(out_h) + 0.5) * height / out_h).astype(np.intp)
    xs = ((np.arange(out_w) + 0.5) * width / out_w).astype(np.intp)
    return np.ascontiguousarray(frame[ys][:, xs, :3])


class _Recorder:
    """Observer: stores the ended match (and Go's SGF file), as `arena match` does.

    One departure, on purpose: an abandoned game is not stored when the
    screen says so (an undo restarts the same game) or when no move was
    played (nothing to keep). A person's resignation is stored as the loop
    reports it: a loss by resignation.
    """

    wants_moves = False

    def __init__(self, live: LiveMatch):
        self.live = live
        self.started: MatchStarted | None = None

    def on_event(self, event: Event) -> None:
        if isinstance(event, MatchStarted):
            self.started = event
            return
        if not isinstance(event, MatchEnded):
            return
        result = event.result
        self.live.result = result
        if result.status == "abandoned" and (not self.live.record_abandoned or not result.moves):
            return
        from tournaments.recording import recorders
        from tournaments.store import Store

        store = Store(self.live.store_path)  # opened in this thread: sqlite objects stay in theirs
        try:
            for recorder in recorders(store, self.live.game, self.live.data_dir):
                if self.started is not None:
                    recorder.on_event(self.started)
                recorder.on_event(event)
        finally:
            store.close()


class _Reporter:
    """Observer: posts every event to the screen and paces the game.

    After each pause between moves it says who thinks next (LiveThinking), for
    agents' turns in board games. Moves replayed after an undo get back the
    think time and insight they had when first played (`LiveMatch.history`):
    the Move is the loop's own object, so the stored game keeps that time too.
    """

    wants_insight = True

    def __init__(self, live: LiveMatch):
        self.live = live
        self.last_frame_post = 0.0

    def on_event(self, event: Event) -> None:
        live = self.live
        if isinstance(event, MatchStarted):
            live.env = event.env
            live.post(LiveStarted(live, live.snapshot(event.env, None), list(event.agents)))
            if live.pacer.paused:
                live.pacer.wait()  # a paused start waits for the first step
            self._announce(event.env)
        elif isinstance(event, MovePlayed):
            move, insight = event.move, event.insight
            if move.ply < len(live.history) and live.history[move.ply][0].action == move.action:
                before, insight = live.history[move.ply]
                move.think_s = before.think_s
            live.moves.append(move)
            live.pacer.check()
            if live.single_player and not self._frame_due(event.env):
                live.pacer.wait()
                return
            live.post(LiveMove(live, move, live.snapshot(event.env, move.action), insight))
            live.pacer.wait()
            self._announce(event.env)

    def _announce(self, env: Any) -> None:
        """Post LiveThinking when an agent (not the person, not a replayed move) is to move now."""
        live = self.live
        if live.single_player or len(live.moves) < len(live.script):
            return
        try:
            seat = env.agent_selection
            if seat not in env.agents or env.terminations[seat] or env.truncations[seat]:
                return
            player = list(env.possible_agents).index(seat)
        except (AttributeError, KeyError, ValueError):
            return
        if live.person is not None and player == live.person_seat:
            return
        live.post(LiveThinking(live, player, time.monotonic()))

    def _frame_due(self, env: Any) -> bool:
        """Single-player games post at most ~40 frames a second, and always the last."""
        now = time.monotonic()
        over = any(env.terminations.values()) or any(env.truncations.values())
        if self.live.pacer.paused or over or now - self.last_frame_post >= 0.025:
            self.last_frame_post = now
            return True
        return False


class LiveMatch:
    """One game of `game` between the agents `refs` name, run by `run()` in a worker thread.

    `build(ref)` makes each agent (in the worker: loading a network may be
    slow or fail; a failure ends the match with a one-line error). `person`,
    when given, takes the seat `person_seat`. Messages go to `target`.
    `script` (actions) replays a game's first moves (an undo); `history` is
    those moves as first played, each with its player's insight, so that
    their think times and insights are kept.
    """

    def __init__(self, game: GameSpec, refs: Sequence[str], build: Callable[[str], Agent], *,
                 target: MessagePump, store_path: Path, data_dir: Path, seed: int = 0,
                 pacer: Pacer | None = None, time_per_move: float | None = None,
                 max_moves: int | None = None, person: PersonAgent | None = None,
                 person_seat: int | None = None, script: Sequence[int] = (),
                 history: Sequence[tuple[Move, Insight | None]] = (),
                 frame_size: Callable[[], tuple[int, int]] | None = None, tag: str | None = None):
        self.game = game
        self.refs = list(refs)
        self.build = build
        self.target = target
        self.store_path = Path(store_path)
        self.data_dir = Path(data_dir)
        self.seed = seed
        self.pacer = pacer or Pacer(0.0)
        self.time_per_move = time_per_move
        self.max_moves = max_moves
        self.person = person
        self.person_seat = person_seat
        self.script = list(script)
        self.history = list(history)[: len(self.script)]
        self.frame_size = frame_size or (lambda: (60, 20))
        self.tag = tag
        self.single_player = game.players == 1
        self.record_abandoned = True
        self.moves: list[Move] = []  # as played so far (appended in the match thread)
        self.result: MatchResult | None = None
        self.env: Any = None
        self.finished = threading.Event()

    # -- called from the app's thread ---------------------------------------
    def stop(self, record: bool = True) -> None:
        """End the game: it is stored as abandoned (unless `record` is False)."""
        self.record_abandoned = record
        self.pacer.stop()
        if self.person is not None:
            self.person.leave()

    # -- called in the worker thread ----------------------------------------
    def post(self, message: Message) -> None:
        self.target.post_message(message)

    def snapshot(self, env: Any, last_action: Any) -> Snapshot:
        """The position now, copied so the screen can draw it while the game goes on."""
        inner = env.unwrapped
        state = getattr(inner, "state", None)
        state = state.copy() if isinstance(state, GameState) else None
        frame = None
        total = 0.0
        if self.single_player:
            total = float(getattr(inner, "episode_return", 0.0))
            try:
                picture = env.render()
            except Exception:  # a game without pictures is still watchable
                picture = None
            if isinstance(picture, np.ndarray) and picture.ndim == 3:
                columns, rows = self.frame_size()
                frame = downscale(picture, columns, rows)
        return Snapshot(state, last_action, frame, total, len(self.moves))

    def run(self) -> MatchResult | None:
        """Build the agents and play the game; the result (None on error or stop)."""
        agents: list[Agent] = []
        try:
            try:
                for seat, ref in enumerate(self.refs):
                    if self.person is not None and seat == self.person_seat:
                        agents.append(self.person)
                    else:
                        agents.append(self.build(ref))
                    self.pacer.check()
                if self.script:
                    agents = [ScriptedStart(a, self.script) for a in agents]
                render = "rgb_array" if self.single_player else None
                result = play_match(self.game, agents, seed=self.seed,
                                    time_per_move=self.time_per_move, max_moves=self.max_moves,
                                    observers=[_Reporter(self), _Recorder(self)],
                                    names=self.refs, render_mode=render, tag=self.tag)
            except MatchStopped:
                self.post(LiveEnded(self, self.result, None))
                return None
            except UserError as exc:
                self.post(LiveEnded(self, None, str(exc)))
                return None
            except Exception as exc:  # shown on the screen in one line; the app goes on
                self.post(LiveEnded(self, None, f"{type(exc).__name__}: {exc}"))
                return None
            self.post(LiveEnded(self, result, None))
            return result
        finally:
            for agent in agents:
                if agent is not self.person:
                    try:
                        agent.close()
                    except Exception:  # closing is best effort; the game is already over
                        pass
            self.finished.set()
