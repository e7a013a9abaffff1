"""The Agent contract: what a seat in a match holds.

An agent is told a game is starting (`start`), is asked for moves
(`act(observation, action_mask)`), hears every move played (`observe`), and
can say what it thinks of the position now (`explain`) for front ends.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from arena.errors import UserError

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
    value: float | None = None  # the position's value for the side to move, if known
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


class Agent:
    """Base class of every agent. Subclasses implement `act`."""

    name: str = "agent"
    #: The match loop enforces the time per move only on timed agents (not on people).
    timed: bool = True
    #: True for agents that search the game's rules (they need a GameSpec with new_state).
    needs_state: bool = False

    ctx: MatchContext | None = None
    rng: np.random.Generator = np.random.default_rng(0)

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


class SearchAgent(Agent):
    """An agent that keeps the game's search state up to date from the moves it hears."""

    needs_state = True
    state: GameState

    def start(self, ctx: MatchContext) -> None:
        if ctx.game.new_state is None:
            raise UserError(
                f"agent '{self.name}' needs a board game with a search state; "
                f"game '{ctx.game.id}' has none"
            )
        self.state = ctx.game.new_state()
        super().start(ctx)

    def observe(self, player: int, action: Any) -> None:
        self.state.play(int(action))


def legal_actions(action_mask: np.ndarray) -> np.ndarray:
    """The indices where a mask allows play."""
    return np.flatnonzero(action_mask)
