"""Go's PettingZoo AEC env: equal to PettingZoo's ``classic/go_v5`` move for move.

Agents ``black_0`` (moves first) and ``white_0``; actions row-major from the
top-left with pass = N*N; observations (N, N, 17) bool as go_v5 builds them;
the rewards go_v5 gives at the end: +1/-1 by Tromp-Taylor area score with
komi, where go_v5 counts a score of exactly 0 as a win for white. Unlike
go_v5, a move cap (adjudicated by score) keeps every game finite, and any
board size works in one process (go_v5 keeps its size in module globals).
"""

from __future__ import annotations

import sys
import types
from collections.abc import Sequence
from typing import Any

import numpy as np

from games.board_env import BoardGameEnv
from games.go.state import GoState


def _pass_only(state: GoState) -> np.ndarray:
    # go_v5 leaves only pass in the mask of the agent to move once the game is over.
    mask = np.zeros(state.num_actions, dtype=np.int8)
    mask[state.pass_action] = 1
    return mask


class GoEnv(BoardGameEnv):
    """A Go game as an AEC env; the live position is ``env.unwrapped.state`` (a GoState)."""

    def __init__(self, board_size: int = 9, komi: float = 7.5, render_mode: str | None = None,
                 max_moves: int | None = None, superko: bool = False, screen_size: int = 640):
        if not 5 <= board_size <= 19:
            raise ValueError(f"board_size must be 5..19, got {board_size}")
        self.board_size = board_size
        self.komi = komi
        self.screen_size = screen_size
        super().__init__(
            new_state=lambda: GoState(board_size, komi, superko, max_moves),
            agent_names=("black_0", "white_0"),
            name="go_v5",
            render_mode=render_mode,
            mask_after_end=_pass_only,
            render_fps=2,
            render_modes=("human", "ansi", "rgb_array"),
        )

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        super().reset(seed=seed, options=options)
        # go_v5 starts its rewards as floats.
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)

    def terminal_rewards(self, state: GoState) -> Sequence[float]:
        return (1, -1) if state.score() > 0 else (-1, 1)

    def adjudicate(self) -> Sequence[float]:
        """A game stopped by a move cap is scored as it stands: Tromp-Taylor area with komi,
        exactly as the engine's own cap and two passes score it."""
        return self.terminal_rewards(self.state)

    def render(self) -> Any:
        if self.render_mode == "rgb_array":
            from games.go.render import rgb_array

            return rgb_array(self.state, self.last_action, self.screen_size)
        return super().render()


def env(board_size: int = 9, komi: float = 7.5, render_mode: str | None = None,
        max_moves: int | None = None, superko: bool = False) -> GoEnv:
    """A Go AEC env; see GoEnv. max_moves None is the engine's default cap, 0 is none."""
    return GoEnv(board_size, komi, render_mode, max_moves, superko)


class _CallableModule(types.ModuleType):
    """This module, callable: ``games.go.env(board_size=9)`` is ``games.go.env.env(board_size=9)``,
    the PettingZoo spelling, while ``from games.go.env import GoEnv`` still names the module."""

    def __call__(self, *args: Any, **kwargs: Any) -> GoEnv:
        return env(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
