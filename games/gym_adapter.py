"""A single-player gymnasium env seen through the PettingZoo AEC API.

The match loop has one shape for every game; a gymnasium env becomes a
one-agent AEC env whose only agent is ``player_0``. For discrete action
spaces the info carries an all-ones ``action_mask``, so agents see the same
(observation, mask) pair as in board games.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from pettingzoo import AECEnv

AGENT = "player_0"


class GymAECEnv(AECEnv):
    """One-agent AEC env around a gymnasium env."""

    def __init__(self, gym_env: gym.Env, name: str = "gym"):
        super().__init__()
        self.gym_env = gym_env
        self.metadata = {
            "name": name,
            "render_modes": list(gym_env.metadata.get("render_modes", [])),
            "is_parallelizable": False,
            "render_fps": gym_env.metadata.get("render_fps", 30),
        }
        self.render_mode = gym_env.render_mode
        self.possible_agents = [AGENT]
        self.observation_spaces = {AGENT: gym_env.observation_space}
        self.action_spaces = {AGENT: gym_env.action_space}
        space = gym_env.action_space
        self._mask = (
            np.ones(int(space.n), dtype=np.int8) if isinstance(space, gym.spaces.Discrete) else None
        )
        self._obs: Any = None
        self.episode_return = 0.0

    def observation_space(self, agent: str) -> gym.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> gym.Space:
        return self.action_spaces[agent]

    def _info(self, info: dict) -> dict:
        if self._mask is not None:
            info = dict(info)
            info["action_mask"] = self._mask
        return info

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        obs, info = self.gym_env.reset(seed=seed, options=options)
        self._obs = obs
        self.episode_return = 0.0
        self.agents = [AGENT]
        self.agent_selection = AGENT
        self.rewards = {AGENT: 0.0}
        self._cumulative_rewards = {AGENT: 0.0}
        self.terminations = {AGENT: False}
        self.truncations = {AGENT: False}
        self.infos = {AGENT: self._info(info)}

    def observe(self, agent: str) -> Any:
        return self._obs

    def step(self, action: Any) -> None:
        if self.terminations[AGENT] or self.truncations[AGENT]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[AGENT] = 0.0
        obs, reward, terminated, truncated, info = self.gym_env.step(action)
        self._obs = obs
        self.episode_return += float(reward)
        self.rewards[AGENT] = float(reward)
        self.terminations[AGENT] = bool(terminated)
        self.truncations[AGENT] = bool(truncated)
        self.infos[AGENT] = self._info(info)
        self._accumulate_rewards()

    def render(self) -> Any:
        return self.gym_env.render()

    def close(self) -> None:
        self.gym_env.close()
