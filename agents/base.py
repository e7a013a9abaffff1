"""The Agent contract: what a seat in a match holds.

An agent is told a game is starting (`start`), is asked for moves
(`act(observation, action_mask)`), hears every move played (`observe`), and
can say what it thinks of the position now (`explain`) for front ends.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from games.errors import UserError

if TYPE_CHECKING:
    import gymnasium as gym

    from games.registry import GameSpec
    from games.state import GameState


class Resignation(Exception):  # noqa: N818 - it is what happened, not an error
    """Raised by an agent's act() to resign; the match records its message as the reason."""


@dataclass
class ActionInsight:
    """What an agent thinks of one action."""

    action: int
    label: str
    score: float  # a Q-value, a probability, or a search win rate in [0, 1]
    visits: int | None = None
    prior: float | None = None


@dataclass
class Insight:
    """What an agent thinks of the position it just moved from.

    kind is "q" (action values), "probs" (action probabilities) or "mcts"
    (search statistics); actions are ordered best first.
    """

    kind: str
    actions: list[ActionInsight] = field(default_factory=list)
    # The position's value for the side to move (the agent that moved from it), if known;
    # for "mcts" a win rate in [0, 1], like its actions' scores.
    value: float | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MatchContext:
    """What an agent is told when a game starts."""

    game: GameSpec
    seat: str  # the PettingZoo agent name, e.g. "player_0"
    player: int  # index of the seat in possible_agents; 0 moves first
    seed: int  # this agent's seed for this game
    action_space: gym.Space
    time_per_move: float | None = None


#: Share of a hard per-move limit a search plans to use: the rest is margin for a
#: machine that is briefly slower (another process, a garbage collection, a slow batch).
CLOCK_SHARE = 0.5
#: Seconds kept in hand on every move, for the work around the search (features, the reply).
CLOCK_MARGIN_S = 0.05
#: Moves a game is assumed still to last when a clock gives a total, not a per-move, time.
MOVES_LEFT_GUESS = 30


def plan_move_time(per_move_limit: float | None) -> float | None:
    """Seconds a search may think when each move must end within `per_move_limit`."""
    if per_move_limit is None:
        return None
    return max(0.01, per_move_limit * CLOCK_SHARE - CLOCK_MARGIN_S)


def plan_clock_time(seconds_left: float, moves_left: int | None) -> float:
    """Seconds for the next move from a clock that has `seconds_left` for `moves_left` moves.

    `moves_left` None or 0 means the time is for the rest of the game (absolute
    time, or main time before byo-yomi): spread it over MOVES_LEFT_GUESS moves.
    """
    if moves_left:  # a period of `moves_left` moves in `seconds_left` (byo-yomi, Canadian)
        return plan_move_time(seconds_left / moves_left)
    return max(0.01, (seconds_left - CLOCK_MARGIN_S) / MOVES_LEFT_GUESS)


class ThinkingClock:
    """When a search must stop: the tighter of the agent's own `time=` and what the clock allows.

    Search agents keep one. The harness tells it the clock (`start` from the
    match's time per move, `set_clock` from a GTP controller's time_left), and
    each move asks `deadline()` (a time.perf_counter() value, or None for no
    limit) before it searches. The simulation count stays the upper bound.
    """

    def __init__(self, own: float | None = None) -> None:
        if own is not None and not own > 0:
            raise ValueError(f"time must be positive seconds, got {own}")
        self.own = own
        self.allowed: float | None = None

    def start(self, per_move_limit: float | None) -> None:
        self.allowed = plan_move_time(per_move_limit)

    def set_clock(self, seconds_left: float | None, moves_left: int | None = None) -> None:
        self.allowed = None if seconds_left is None else plan_clock_time(seconds_left, moves_left)

    def budget(self) -> float | None:
        """Seconds the next move may take, or None."""
        limits = [t for t in (self.own, self.allowed) if t is not None]
        return min(limits) if limits else None

    def deadline(self) -> float | None:
        budget = self.budget()
        return None if budget is None else time.perf_counter() + budget


class Agent:
    """Base class of every agent. Subclasses implement `act`."""

    name: str = "agent"
    #: The match loop enforces the time per move only on timed agents (not on people).
    timed: bool = True
    #: True for agents that search the game's rules (they need a GameSpec with new_state).
    needs_state: bool = False
    #: The games this agent plays, in words, for the line that refuses it another one
    #: (e.g. "Go only"); None where `accepts` says it all.
    plays: str | None = None

    ctx: MatchContext | None = None
    rng: np.random.Generator = np.random.default_rng(0)

    def accepts(self, game: GameSpec) -> bool:
        """True when this agent can play `game`.

        Arena asks before any game is played (match, eval, watch, play, gtp and a
        tournament's participant checks), so an agent given a game it cannot play is
        refused up front with one line, not forfeited game after game. The default
        takes any game, except that an agent that searches the game's rules
        (`needs_state`) needs one with a search state. Agents for some games only
        override it (and say which in `plays`).
        """
        return not self.needs_state or game.new_state is not None

    def start(self, ctx: MatchContext) -> None:
        """A game is starting; this agent plays `ctx.seat`."""
        self.ctx = ctx
        self.rng = np.random.default_rng(ctx.seed)
        self.reset()

    def reset(self) -> None:
        """Forget the previous game."""

    def act(self, observation: Any, action_mask: np.ndarray | None) -> Any:
        """The action to play. `action_mask` is 1 for legal actions (None if unknown)."""
        raise NotImplementedError

    def observe(self, player: int, action: Any) -> None:
        """`player` played `action` (called for every move, this agent's own included)."""

    def explain(self) -> Insight | None:
        """What this agent thinks of the position it last moved from, for front ends."""
        return None

    def close(self) -> None:
        """Release processes or files this agent holds."""

    def set_clock(self, seconds_left: float | None, moves_left: int | None = None) -> None:
        """A controller's clock: `seconds_left` for `moves_left` moves (None/0: the whole game).

        Agents that plan their time (search agents) take it into their budget;
        others ignore it.
        """


class SearchAgent(Agent):
    """An agent that keeps the game's search state up to date from the moves it hears."""

    needs_state = True
    state: GameState
    #: When the search must stop; search agents that plan their time set one in __init__.
    clock: ThinkingClock | None = None

    def start(self, ctx: MatchContext) -> None:
        if ctx.game.new_state is None:
            raise UserError(
                f"agent '{self.name}' needs a board game with a search state; "
                f"game '{ctx.game.id}' has none"
            )
        self.state = ctx.game.new_state()
        if self.clock is not None:
            self.clock.start(ctx.time_per_move)
        super().start(ctx)

    def set_clock(self, seconds_left: float | None, moves_left: int | None = None) -> None:
        if self.clock is not None:
            self.clock.set_clock(seconds_left, moves_left)

    def observe(self, player: int, action: Any) -> None:
        self.state.play(int(action))


def shown_value(value: Any) -> str:
    """A value an agent returned, as one short line for a forfeit's reason or a GTP error
    (a huge number, an array or a hostile __repr__ too)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"a {value.bit_length()}-bit number"
    try:
        text = " ".join(repr(value).split())
    except Exception:  # a hostile __repr__
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def legal_actions(action_mask: np.ndarray) -> np.ndarray:
    """The indices where a mask allows play."""
    return np.flatnonzero(action_mask)
