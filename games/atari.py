"""Atari games (ALE v5) with the standard DQN preprocessing.

`pong` and `space-invaders` are registered when games.registry is imported;
ale_py (which ships the ROMs) is imported only when one of their envs is made,
so listing games stays fast and works without ale-py installed.

The env, for training and for matches alike:
  ALE/<Game>-v5 with frameskip=1 (v5's sticky actions, p=0.25, kept)
  -> AtariPreprocessing: up to 30 no-op actions at reset, the action repeated
     4 frames with the last two max-pooled, 84x84 greyscale, and no terminal
     on life loss (an episode is a whole game)
  -> FrameStackObservation(4): observations are (4, 84, 84) uint8.
make_gym(train=True) adds, outside those, RecordEpisodeStatistics (so the
trainer sees unclipped game scores) and then reward clipping to the sign of the
reward. Matches (the AEC env) use train=False: the real, unclipped score.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from games.errors import UserError
from games.registry import register, single_player

STACK = 4
SCREEN = 84


def _import_ale() -> Any:
    try:
        import ale_py
    except ImportError:
        raise UserError("Atari games need the ale-py package (pip install ale-py)") from None
    import gymnasium as gym

    gym.register_envs(ale_py)  # idempotent: ALE/... ids for gym.make
    return ale_py


def atari_env(env_id: str, render_mode: str | None = None, train: bool = False) -> Any:
    """The preprocessed gymnasium env for an ALE id (see the module docstring)."""
    _import_ale()
    import gymnasium as gym
    from gymnasium.wrappers import (
        AtariPreprocessing,
        FrameStackObservation,
        RecordEpisodeStatistics,
        TransformReward,
    )

    # frameskip=1 in the emulator: AtariPreprocessing does the skipping, with max-pooling.
    env = gym.make(env_id, frameskip=1, render_mode=render_mode)
    env = AtariPreprocessing(env, noop_max=30, frame_skip=4, screen_size=SCREEN,
                             terminal_on_life_loss=False, grayscale_obs=True)
    env = FrameStackObservation(env, STACK)
    if train:
        env = RecordEpisodeStatistics(env)  # before clipping: reports the game's own score
        env = TransformReward(env, lambda r: float(np.sign(r)))
    return env


def _maker(env_id: str) -> Callable[..., Any]:
    def make(render_mode: str | None = None, train: bool = False) -> Any:
        return atari_env(env_id, render_mode=render_mode, train=train)

    return make


register(single_player("pong", "Pong (Atari)", _maker("ALE/Pong-v5"),
                       "Atari 2600 Pong, 84x84x4 frames (ALE v5, needs ale-py)"))
register(single_player("space-invaders", "Space Invaders (Atari)", _maker("ALE/SpaceInvaders-v5"),
                       "Atari 2600 Space Invaders, 84x84x4 frames (ALE v5, needs ale-py)"))
