"""The search state: one position of a two-player board game.

Search (MCTS, greedy, AlphaZero) is written against this contract only. Each
board game's PettingZoo AEC env is a thin shell around one of these, so the
env and the search agree on the rules by construction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self

import numpy as np


class GameState(ABC):
    """A position: cheap to copy, mutated in place by `play`.

    Players are numbered 0 (moves first) and 1. Actions are the integers of
    the game's PettingZoo action space.
    """

    __slots__ = ()

    num_actions: int
    num_players: int = 2

    @property
    @abstractmethod
    def to_play(self) -> int:
        """The player to move (0 or 1)."""

    @abstractmethod
    def legal_actions(self) -> list[int]:
        """The legal actions, ascending; empty when the game is over."""

    def legal_mask(self) -> np.ndarray:
        """An int8 mask over all actions, 1 where legal."""
        mask = np.zeros(self.num_actions, dtype=np.int8)
        mask[self.legal_actions()] = 1
        return mask

    def legal_for_search(self) -> list[int] | bytes | bytearray | np.ndarray:
        """The legal actions in whichever form is cheapest to make: a list (ascending) or a mask.

        A mask has one byte per action, nonzero where legal. The search calls
        this once per expanded node; the default is `legal_actions()`.
        """
        return self.legal_actions()

    @abstractmethod
    def play(self, action: int) -> None:
        """Apply a legal action for the player to move. The caller checks legality."""

    @abstractmethod
    def is_terminal(self) -> bool:
        """True once the game is over."""

    @abstractmethod
    def returns(self) -> tuple[float, float]:
        """The result from each player's view: +1 win, -1 loss, 0 draw or not over."""

    @abstractmethod
    def copy(self) -> Self:
        """An independent copy."""

    @abstractmethod
    def observation(self, player: int) -> np.ndarray:
        """The PettingZoo observation planes for `player` (own stones first)."""

    @abstractmethod
    def action_label(self, action: int) -> str:
        """A short human label for an action, e.g. 'c3' or '4'."""

    def parse_action(self, text: str) -> int:
        """The action a person means by `text` (a label, or the action number).

        Raises ValueError with a readable message when it means none.
        """
        text = text.strip().lower()
        for action in range(self.num_actions):
            if self.action_label(action).lower() == text:
                return action
        raise ValueError(f"'{text}' is not a move here")

    @abstractmethod
    def render_text(self, last_action: int | None = None) -> str:
        """The board as Unicode text with coordinates, the last move marked."""

    def symbols(self) -> tuple[str, str]:
        """How each player's pieces are drawn."""
        return ("X", "O")


class BitboardState(GameState):
    """A position kept as one int per player, bit n set where that player has a mark on cell n.

    Tic-tac-toe and connect four share this: who is to move, the result,
    the copy and the PettingZoo observation. A subclass sets `_obs_shift`
    (where the opponent's bits start in the code that `observation`
    unpacks: own | other << shift) and `_obs_bit` (obs[...] = that code's
    bit number), and in `play` sets `_marks0`/`_marks1`, `_moves` and, when
    the game ends, `_over` (and `_winner`, the player who won).
    """

    __slots__ = ("_marks0", "_marks1", "_moves", "_winner", "_over")
    _obs_shift: int
    _obs_bit: np.ndarray

    def __init__(self) -> None:
        self._marks0 = 0
        self._marks1 = 0
        self._moves = 0
        self._winner = -1  # -1 while nobody has won
        self._over = False

    @property
    def to_play(self) -> int:
        return self._moves & 1

    def is_terminal(self) -> bool:
        return self._over

    def returns(self) -> tuple[float, float]:
        if self._winner == 0:
            return (1.0, -1.0)
        if self._winner == 1:
            return (-1.0, 1.0)
        return (0.0, 0.0)

    def copy(self) -> Self:
        twin = object.__new__(self.__class__)
        twin._marks0 = self._marks0
        twin._marks1 = self._marks1
        twin._moves = self._moves
        twin._winner = self._winner
        twin._over = self._over
        return twin

    def observation(self, player: int) -> np.ndarray:
        """A fresh int8 array equal to PettingZoo's observation for `player` (own marks first)."""
        own, other = (self._marks0, self._marks1) if player == 0 else (self._marks1, self._marks0)
        code = (own | other << self._obs_shift).to_bytes(self._obs_shift // 4, "little")
        bits = np.unpackbits(np.frombuffer(code, dtype=np.uint8), bitorder="little")
        return bits.take(self._obs_bit).view(np.int8)
