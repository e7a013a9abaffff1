"""`greedy`: wins if it can, blocks if it must, else plays at random.

"Blocks" is checked by looking one reply ahead: a move is safe when the
opponent has no immediate win after it. That covers the plain block and also
avoids moves that hand the opponent a win (in connect four, playing under the
opponent's threat).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.base import ActionInsight, Insight, SearchAgent
from games.state import GameState


def _wins_now(state: GameState, player: int) -> int | None:
    """An action that ends the game with `player` (to move) winning, if there is one."""
    for action in state.legal_actions():
        child = state.copy()
        child.play(action)
        if child.is_terminal() and child.returns()[player] > 0:
            return action
    return None


class GreedyAgent(SearchAgent):
    """One-ply win, two-ply safety, otherwise uniform."""

    name = "greedy"

    def reset(self) -> None:
        self._insight: Insight | None = None

    def act(self, observation: Any, action_mask: np.ndarray | None) -> int:
        state = self.state
        me = state.to_play
        legal = state.legal_actions()
        winning = _wins_now(state, me)
        if winning is not None:
            return self._choose([winning], "win")
        safe = []
        for action in legal:
            child = state.copy()
            child.play(action)
            if child.is_terminal() or _wins_now(child, child.to_play) is None:
                safe.append(action)
        if safe:
            return self._choose(safe, "block" if len(safe) < len(legal) else "random")
        return self._choose(legal, "lost anyway")

    def _choose(self, candidates: list[int], why: str) -> int:
        action = candidates[int(self.rng.integers(len(candidates)))]
        p = 1.0 / len(candidates)
        self._insight = Insight(
            "probs",
            [ActionInsight(a, self.state.action_label(a), p) for a in candidates],
            note=why,
        )
        return action

    def explain(self) -> Insight | None:
        return self._insight
