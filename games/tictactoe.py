"""Tic-tac-toe: the search state and an AEC env equal to PettingZoo's tictactoe_v3.

Cells are numbered as PettingZoo numbers its actions, column by column::

    0 | 3 | 6        a1 | b1 | c1
    1 | 4 | 7   =    a2 | b2 | c2
    2 | 5 | 8        a3 | b3 | c3

so action ``a`` is column ``a // 3`` and row ``a % 3``. Each player's marks
are one 9-bit int (bit ``a`` set = mark on cell ``a``), which makes `play`
and `copy` a handful of integer operations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from games.board_env import BoardGameEnv
from games.state import BitboardState

_CELLS = 9
_ALL_CELLS = (1 << _CELLS) - 1

_LINES = tuple(
    sum(1 << cell for cell in line)
    for line in (
        (0, 1, 2), (3, 4, 5), (6, 7, 8),  # columns
        (0, 3, 6), (1, 4, 7), (2, 5, 8),  # rows
        (0, 4, 8), (2, 4, 6),  # diagonals
    )
)
# Only the lines through the cell just marked can have been completed by it.
_LINES_THROUGH = tuple(tuple(line for line in _LINES if line >> cell & 1) for cell in range(_CELLS))

# Indexed by the 9-bit set of empty cells.
_CELLS_OF = tuple(tuple(c for c in range(_CELLS) if empty >> c & 1) for empty in range(1 << _CELLS))
_MASK_OF = tuple(
    np.array([empty >> c & 1 for c in range(_CELLS)], dtype=np.int8) for empty in range(1 << _CELLS)
)
_NO_ACTIONS = np.zeros(_CELLS, dtype=np.int8)

# PettingZoo's observe() reshapes the flat cell list to (3, 3), so obs[i, j]
# is cell i*3 + j (i.e. obs is the board transposed). The own marks sit in
# bits 0..8 and the opponent's in bits 16..24 of the int unpacked below.
_OBS_BIT = np.array(
    [[[i * 3 + j, 16 + i * 3 + j] for j in range(3)] for i in range(3)], dtype=np.intp
)

# network_planes: value k of a flattened (3, 3, 3) plane stack is bit _PLANE_BITS[k] of a
# position's code (the mover's marks, the opponent's << 9, 1 << 18 when player 0 moves).
_PLANE_BITS = np.array([*range(18)] + [18] * 9, dtype=np.int64)

_COLUMNS = "abc"


class TicTacToeState(BitboardState):
    """A tic-tac-toe position; player 0 is PettingZoo's ``player_1`` (X).

    `observation` is a fresh (3, 3, 2) int8 array equal to PettingZoo's
    tictactoe_v3 observation.
    """

    num_actions = _CELLS
    __slots__ = ()
    _obs_shift = 16
    _obs_bit = _OBS_BIT

    def legal_actions(self) -> list[int]:
        if self._over:
            return []
        return list(_CELLS_OF[_ALL_CELLS & ~(self._marks0 | self._marks1)])

    def legal_mask(self) -> np.ndarray:
        if self._over:
            return _NO_ACTIONS.copy()
        return _MASK_OF[_ALL_CELLS & ~(self._marks0 | self._marks1)].copy()

    def empty_cells_mask(self) -> np.ndarray:
        """An int8 mask of the empty cells, even once the game is over.

        PettingZoo's env shows this as the mover's action mask after a win.
        """
        return _MASK_OF[_ALL_CELLS & ~(self._marks0 | self._marks1)].copy()

    def play(self, action: int) -> None:
        cell = 1 << action
        mover = self._moves & 1
        if mover:
            marks = self._marks1 = self._marks1 | cell
        else:
            marks = self._marks0 = self._marks0 | cell
        self._moves += 1
        for line in _LINES_THROUGH[action]:
            if marks & line == line:
                self._winner = mover
                self._over = True
                return
        if self._moves == _CELLS:
            self._over = True

    def cell_owner(self, action: int) -> int | None:
        """The player whose mark is on cell `action`, or None when it is empty."""
        if self._marks0 >> action & 1:
            return 0
        if self._marks1 >> action & 1:
            return 1
        return None

    def illegal_reason(self, action: int) -> str | None:
        """Why the player to move may not play `action` ("occupied by X"), or None."""
        if not 0 <= action < _CELLS:
            return f"{action} is not a cell (0-8)"
        if self._over:
            return "the game is over"
        owner = self.cell_owner(action)
        if owner is not None:
            return f"occupied by {self.symbols()[owner]}"
        return None

    def action_label(self, action: int) -> str:
        if not 0 <= action < _CELLS:
            raise ValueError(f"{action} is not a tic-tac-toe cell (0-8)")
        return f"{_COLUMNS[action // 3]}{action % 3 + 1}"

    def parse_action(self, text: str) -> int:
        """The cell `text` names: a label such as 'b2' (any case) or a number 0-8."""
        cleaned = text.strip().lower()
        if len(cleaned) == 2 and cleaned[0] in _COLUMNS and cleaned[1] in "123":
            return _COLUMNS.index(cleaned[0]) * 3 + int(cleaned[1]) - 1
        if cleaned.isascii() and cleaned.isdigit() and int(cleaned) < _CELLS:
            return int(cleaned)
        raise ValueError(
            f"'{text.strip()}' is not a cell: use a column a-c and a row 1-3 (e.g. 'b2'), or 0-8"
        )

    def render_text(self, last_action: int | None = None) -> str:
        """The board with columns a-c and rows 1-3; the last mark is drawn as [X]."""
        symbols = self.symbols()
        lines = ["    a   b   c", "  ┌───┬───┬───┐"]
        for row in range(3):
            cells = []
            for column in range(3):
                action = column * 3 + row
                owner = self.cell_owner(action)
                mark = " " if owner is None else symbols[owner]
                cells.append(f"[{mark}]" if action == last_action and owner is not None
                             else f" {mark} ")
            lines.append(f"{row + 1} │" + "│".join(cells) + "│")
            lines.append("  ├───┼───┼───┤" if row < 2 else "  └───┴───┴───┘")
        return "\n".join(lines)

    def __repr__(self) -> str:
        marks = "".join(
            "." if (owner := self.cell_owner(a)) is None else "XO"[owner] for a in range(_CELLS)
        )
        return f"TicTacToeState('{marks}')"


def _mover_code(state: TicTacToeState) -> int:
    if state._moves & 1:
        return state._marks1 | state._marks0 << 9
    return state._marks0 | state._marks1 << 9 | 1 << 18


def network_planes(states: Sequence[TicTacToeState]) -> np.ndarray:
    """float32 (B, 3, 3, 3): for each position, the mover's marks, the opponent's, to-play.

    Planes 0 and 1 are the mover's PettingZoo observation (``observation(
    to_play)[:, :, 0]`` and ``[:, :, 1]``); plane 2 is all ones when player 0
    is to move, zeros when player 1 is. One numpy pass for the whole batch.
    """
    n = len(states)
    codes = np.fromiter(map(_mover_code, states), dtype=np.int64, count=n)
    bits = (codes[:, None] >> _PLANE_BITS) & 1
    return bits.astype(np.float32).reshape(n, 3, 3, 3)


def env(render_mode: str | None = None) -> BoardGameEnv:
    """An AEC env that behaves as PettingZoo's ``tictactoe_v3.env()`` (wrappers included).

    Agents are ``player_1`` (X, moves first) and ``player_2``; the live search
    state is ``env.unwrapped.state``. render_mode: None, "ansi" or "human".
    """
    return BoardGameEnv(
        new_state=TicTacToeState,
        agent_names=("player_1", "player_2"),
        name="tictactoe_v3",
        render_mode=render_mode,
        mask_after_end=TicTacToeState.empty_cells_mask,
    )
