"""`alphazero:<checkpoint dir>[,sims=N]`: plays with a trained network and PUCT search.

The agent keeps one search tree for the whole game and moves its root along
every move it hears (its own and the opponent's), so the statistics of the
subtree that was actually played are reused. It plays the most visited move,
without noise. Leaves are evaluated `batch` at a time (a small virtual loss
keeps them apart), which pays on a GPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from agents.alphazero.evaluators import TorchEvaluator
from agents.alphazero.puct import MCTS, SearchConfig
from agents.alphazero.network import load_net
from agents.base import (ActionInsight, Insight, MatchContext, Resignation, SearchAgent,
                         ThinkingClock)
from agents.learner import resolve_device
from games.errors import UserError


#: simulations per move when neither the reference nor the model's metadata names a number
DEFAULT_SIMS = 200


class AlphaZeroAgent(SearchAgent):
    """PUCT search with a policy+value network loaded from a checkpoint directory.

    `resign` (e.g. -0.95): resign when the best move's value falls below it;
    None never resigns. `time` caps each move's search in seconds (the clock of
    the match or of a GTP controller caps it too); `sims` stays the upper bound.
    """

    name = "alphazero"

    def __init__(self, checkpoint: str, sims: int | None = None, batch: int = 8,
                 c_init: float = 1.25, resign: float | None = None, device: str = "auto",
                 time: float | None = None) -> None:
        if sims is not None and sims < 1:
            raise ValueError(f"sims must be at least 1, got {sims}")
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        self.checkpoint = Path(checkpoint).expanduser()
        net, self.features, self.meta = load_net(self.checkpoint, resolve_device(device))
        if sims is None:  # the model's own play setting (a shipped model's, a run's preset's)
            sims = int(self.meta.get("play_sims") or self.meta.get("config", {}).get("play_sims")
                       or DEFAULT_SIMS)
        self.evaluator = TorchEvaluator(net, self.features, next(net.parameters()).device)
        self.sims = sims
        self.batch = batch
        self.search_config = SearchConfig(sims=sims, c_init=c_init, resign_threshold=resign)
        self.clock = ThinkingClock(time)
        self.tree: MCTS | None = None
        self._searched: Any = None  # the root of the last search; explain() reads it after the move

    def start(self, ctx: MatchContext) -> None:
        if ctx.game.id != self.features.game_id:
            raise UserError(f"agent '{self.name}' was trained on {self.features.game_id}, "
                            f"not on {ctx.game.id}")
        super().start(ctx)

    def reset(self) -> None:
        self.tree = None
        self._searched = None

    def act(self, observation: Any, action_mask: np.ndarray | None) -> int:
        deadline = self.clock.deadline() if self.clock is not None else None
        if self.tree is None:
            self.tree = MCTS(self.state, self.search_config, self.rng)
        tree = self.tree
        self.last_sims = tree.search(self.evaluator, self.sims, batch=self.batch, deadline=deadline)
        self._searched = tree.root
        if tree.should_resign():
            raise Resignation(f"value {tree.best_value():+.2f} is below {self.search_config.resign_threshold}")
        return self._not_a_losing_end(tree.choose(move_number=10**9))  # the most visited move

    def _not_a_losing_end(self, action: int) -> int:
        """`action`, unless it ends the game in our loss while another move does not: then
        the most visited such move. (In Go a pass after the opponent's pass ends the game
        with the score as it stands; any other move keeps every chance open.)"""
        state = self.state
        me = state.to_play

        def loses(a: int) -> bool:
            after = state.copy()
            after.play(a)
            return after.is_terminal() and after.returns()[me] < 0

        if self.tree is None or not loses(action):
            return action
        root = self.tree.root
        for i in np.argsort(-root.N, kind="stable"):
            if root.actions[i] != action and not loses(root.actions[i]):
                return int(root.actions[i])
        return action

    def observe(self, player: int, action: Any) -> None:
        super().observe(player, action)
        if self.tree is not None:
            self.tree.advance(int(action))

    def explain(self) -> Insight | None:
        """The root's moves, most visited first: visits, prior and win rate (Q mapped to [0, 1])."""
        root = self._searched
        if root is None or not root.expanded or root.visits <= 1:
            return None
        order = np.argsort(-root.N, kind="stable")
        state = root.state
        moves = [ActionInsight(root.actions[i], state.action_label(root.actions[i]),
                               (float(root.Q[i]) + 1.0) / 2.0, visits=int(root.N[i]),
                               prior=float(root.clean_prior[i]))
                 for i in order if root.N[i] > 0]
        # The root's mean value is for the side to move there (the mover), in [-1, 1]: as a
        # win rate in [0, 1], the scale of the moves' scores.
        return Insight("mcts", moves, value=(root.value_sum / root.visits + 1.0) / 2.0,
                       note=f"{int(root.visits)} visits at the root")
