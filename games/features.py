"""Network input planes and board symmetries, per game.

`game_features(game_id)` describes one game to the network: the input shape
(C, H, W), the number of actions, `encode(state) -> float32 (C, H, W)` and
`symmetries(planes, policy)` for data augmentation. Every encoding is from
the side to move's view: own stones first, then the opponent's, then a
to-play plane (all ones when player 0 is to move), as AlphaGo Zero does.

- Go: GoState.planes(k), the engine's own history planes (2k+1 planes).
- Tic-tac-toe and connect four: the PettingZoo observation of the player to
  move (own marks, opponent's marks) plus the to-play plane. The tic-tac-toe
  observation is laid out so that flat index = action, so the 8 square
  symmetries apply to planes and policy together; connect four has only the
  left-right mirror (gravity breaks the others). A batch of them is encoded
  in one numpy pass (`network_planes` of each game's module).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from games.errors import UserError
from games.registry import go_size
from games import connect4, tictactoe
from games.state import GameState
from games.symmetry import NUM_SYMMETRIES, transform_planes, transform_policy

#: History length of Go's input planes (AlphaGo Zero used 8: 17 planes).
GO_HISTORY = 8


@dataclass(frozen=True)
class GameFeatures:
    """How one game is shown to the network."""

    game_id: str
    shape: tuple[int, int, int]  # (channels, height, width)
    num_actions: int
    encode: Callable[[GameState], np.ndarray]
    #: (planes (C,H,W), policy (A,)) -> every symmetric (planes, policy) pair, identity first.
    symmetries: Callable[[np.ndarray, np.ndarray], list[tuple[np.ndarray, np.ndarray]]]
    #: states -> float32 (B, C, H, W) equal to stacking `encode`, in one pass (None: stack them).
    encode_many: Callable[[list[GameState]], np.ndarray] | None = None

    def encode_batch(self, states: list[GameState]) -> np.ndarray:
        """float32 (B, C, H, W): `encode` of each state, stacked."""
        if self.encode_many is not None:
            return self.encode_many(states)
        out = np.empty((len(states), *self.shape), dtype=np.float32)
        for i, state in enumerate(states):
            out[i] = self.encode(state)
        return out


def _observation_planes(state: GameState) -> np.ndarray:
    """Own marks, opponent's marks (the mover's PettingZoo view), then the to-play plane."""
    obs = state.observation(state.to_play)  # (H, W, 2) int8, own first
    h, w, _ = obs.shape
    out = np.empty((3, h, w), dtype=np.float32)
    out[0] = obs[:, :, 0]
    out[1] = obs[:, :, 1]
    out[2] = 1.0 if state.to_play == 0 else 0.0
    return out


def _square_symmetries(n: int) -> Callable[[np.ndarray, np.ndarray], list]:
    def all_eight(planes: np.ndarray, policy: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(transform_planes(planes, k), transform_policy(policy, n, k))
                for k in range(NUM_SYMMETRIES)]
    return all_eight


def _mirror(planes: np.ndarray, policy: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    # Connect four's actions are columns, so mirroring the board reverses the policy.
    return [(planes, policy),
            (np.ascontiguousarray(planes[..., ::-1]), np.ascontiguousarray(policy[::-1]))]


def game_features(game_id: str, go_history: int = GO_HISTORY) -> GameFeatures:
    """The features of a built-in board game: tictactoe, connect4, go5..go19.

    UserError for any other game (AlphaZero needs a search state and planes).
    """
    if game_id == "tictactoe":
        return GameFeatures(game_id, (3, 3, 3), 9, _observation_planes, _square_symmetries(3),
                            tictactoe.network_planes)
    if game_id == "connect4":
        return GameFeatures(game_id, (3, 6, 7), 7, _observation_planes, _mirror,
                            connect4.network_planes)
    n = go_size(game_id)
    if n is not None:
        k = go_history

        def encode(state: GameState) -> np.ndarray:
            return state.planes(k)  # type: ignore[attr-defined]

        return GameFeatures(game_id, (2 * k + 1, n, n), n * n + 1, encode, _square_symmetries(n))
    raise UserError(f"game '{game_id}': AlphaZero supports tictactoe, connect4 and go5..go19")
