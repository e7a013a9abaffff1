"""`random`: a uniformly random legal action, the baseline every agent must beat."""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.base import Agent


class RandomAgent(Agent):
    """Plays a legal action uniformly at random (any action space without a mask)."""

    name = "random"

    def act(self, observation: Any, action_mask: np.ndarray | None) -> Any:
        if action_mask is None:
            space = self.ctx.action_space
            space.seed(int(self.rng.integers(2**31)))
            return space.sample()
        legal = np.flatnonzero(action_mask)
        return int(legal[self.rng.integers(len(legal))])
