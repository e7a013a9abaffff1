"""Connect four: the search state and an AEC env equal to PettingZoo's connect_four_v3.

The board is 6 rows by 7 columns; an action is a column (0-6, labelled 1-7)
and the piece falls to the lowest empty row. Each player's pieces are one
Python int in the classic bitboard layout: 7 bits per column, bit
``column * 7 + height`` with height 0 at the bottom, and bit 6 of each column
always empty so that shifted copies never run from one column into the next.
Four in a row is then four shift-and-AND operations.

PettingZoo indexes the board ``row * 7 + column`` with row 0 at the TOP, so
PettingZoo row ``r`` is height ``5 - r`` here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from games.board_env import BoardGameEnv
from games.state import BitboardState

ROWS = 6
COLUMNS = 7
_CELLS = ROWS * COLUMNS
_STRIDE = ROWS + 1  # bits per column, the top one a permanently empty sentinel

_BOTTOM = tuple(1 << (column * _STRIDE) for column in range(COLUMNS))
_COLUMN_BITS = tuple(((1 << ROWS) - 1) << (column * _STRIDE) for column in range(COLUMNS))
_TOP = tuple(1 << (column * _STRIDE + ROWS - 1) for column in range(COLUMNS))
_ALL_TOPS = sum(_TOP)

# Keyed by `filled & _ALL_TOPS`, i.e. by which columns are full.
_OPEN_COLUMNS: dict[int, tuple[int, ...]] = {}
_OPEN_MASK: dict[int, np.ndarray] = {}
for _full in range(1 << COLUMNS):
    _key = sum(_TOP[c] for c in range(COLUMNS) if _full >> c & 1)
    _OPEN_COLUMNS[_key] = tuple(c for c in range(COLUMNS) if not _full >> c & 1)
    _OPEN_MASK[_key] = np.array([0 if _full >> c & 1 else 1 for c in range(COLUMNS)], dtype=np.int8)
del _full, _key
_NO_ACTIONS = np.zeros(COLUMNS, dtype=np.int8)

# obs[r, c, plane] is bit number _OBS_BIT[r, c, plane] of `own | other << 64`.
_OBS_BIT = np.array(
    [[[c * _STRIDE + ROWS - 1 - r + 64 * plane for plane in range(2)] for c in range(COLUMNS)]
     for r in range(ROWS)],
    dtype=np.intp,
)

# network_planes: cell (r, c), row 0 at the top, is bit _CELL_SHIFTS[r * 7 + c] of a bitboard.
_CELL_SHIFTS = np.array(
    [c * _STRIDE + ROWS - 1 - r for r in range(ROWS) for c in range(COLUMNS)], dtype=np.uint64
)


class Connect4State(BitboardState):
    """A connect four position; player 0 is PettingZoo's ``player_0``.

    `_marks0` and `_marks1` are the players' pieces. `observation` is a fresh
    (6, 7, 2) int8 array equal to PettingZoo's connect_four_v3 observation.
    """

    num_actions = COLUMNS
    __slots__ = ()
    _obs_shift = 64
    _obs_bit = _OBS_BIT

    def legal_actions(self) -> list[int]:
        if self._over:
            return []
        return list(_OPEN_COLUMNS[(self._marks0 | self._marks1) & _ALL_TOPS])

    def legal_mask(self) -> np.ndarray:
        if self._over:
            return _NO_ACTIONS.copy()
        return _OPEN_MASK[(self._marks0 | self._marks1) & _ALL_TOPS].copy()

    def open_columns_mask(self) -> np.ndarray:
        """An int8 mask of the columns that are not full, even once the game is over.

        PettingZoo's env shows this as the mover's action mask after a win.
        """
        return _OPEN_MASK[(self._marks0 | self._marks1) & _ALL_TOPS].copy()

    def play(self, action: int) -> None:
        filled = self._marks0 | self._marks1
        # Adding the column's bottom bit carries through the filled cells of
        # that column and lands on the lowest empty one.
        piece = (filled + _BOTTOM[action]) & _COLUMN_BITS[action]
        mover = self._moves & 1
        if mover:
            pieces = self._marks1 = self._marks1 | piece
        else:
            pieces = self._marks0 = self._marks0 | piece
        self._moves += 1
        # x & x >> s marks the starts of pairs s bits apart; a pair of pairs
        # 2s apart is four in a row. s = 7: horizontal, 1: vertical, 6 and 8:
        # the two diagonals.
        if (
            (pairs := pieces & pieces >> 7) & pairs >> 14
            or (pairs := pieces & pieces >> 1) & pairs >> 2
            or (pairs := pieces & pieces >> 6) & pairs >> 12
            or (pairs := pieces & pieces >> 8) & pairs >> 16
        ):
            self._winner = mover
            self._over = True
        elif self._moves == _CELLS:
            self._over = True

    def owner_at(self, row: int, column: int) -> int | None:
        """The player whose piece is at (row, column), row 0 at the top as in PettingZoo."""
        bit = 1 << (column * _STRIDE + ROWS - 1 - row)
        if self._marks0 & bit:
            return 0
        if self._marks1 & bit:
            return 1
        return None

    def column_height(self, column: int) -> int:
        """How many pieces are in `column`."""
        return (((self._marks0 | self._marks1) >> (column * _STRIDE)) & ((1 << ROWS) - 1)).bit_length()

    def illegal_reason(self, action: int) -> str | None:
        """Why the player to move may not play `action` ("column full"), or None."""
        if not 0 <= action < COLUMNS:
            return f"{action} is not a column (0-6)"
        if self._over:
            return "the game is over"
        if self.column_height(action) >= ROWS:
            return "column full"
        return None

    def action_label(self, action: int) -> str:
        if not 0 <= action < COLUMNS:
            raise ValueError(f"{action} is not a connect four column (0-6)")
        return str(action + 1)

    def parse_action(self, text: str) -> int:
        """The column `text` names: its label '1'-'7' (so '1' is action 0)."""
        cleaned = text.strip()
        if len(cleaned) == 1 and "1" <= cleaned <= "7":
            return int(cleaned) - 1
        raise ValueError(f"'{cleaned}' is not a column: use a number from 1 to 7")

    def render_text(self, last_action: int | None = None) -> str:
        """The board with column numbers above and below; the last piece is drawn as [X]."""
        symbols = self.symbols()
        marked_row = None
        if last_action is not None and 0 <= last_action < COLUMNS:
            height = self.column_height(last_action)
            if height:
                marked_row = ROWS - height
        header = "  " + "   ".join(str(c + 1) for c in range(COLUMNS))
        lines = [header]
        for row in range(ROWS):
            cells = []
            for column in range(COLUMNS):
                owner = self.owner_at(row, column)
                mark = " " if owner is None else symbols[owner]
                cells.append(f"[{mark}]" if column == last_action and row == marked_row
                             else f" {mark} ")
            lines.append("│" + "│".join(cells) + "│")
        lines.append("└" + "┴".join("───" for _ in range(COLUMNS)) + "┘")
        lines.append(header)
        return "\n".join(lines)

    def __repr__(self) -> str:
        rows = "/".join(
            "".join("." if (owner := self.owner_at(r, c)) is None else "XO"[owner]
                    for c in range(COLUMNS))
            for r in range(ROWS)
        )
        return f"Connect4State('{rows}')"


def _mover_boards(state: Connect4State) -> tuple[int, int, int]:
    if state._moves & 1:
        return (state._marks1, state._marks0, 0)
    return (state._marks0, state._marks1, 1)


def network_planes(states: Sequence[Connect4State]) -> np.ndarray:
    """float32 (B, 3, 6, 7): for each position, the mover's pieces, the opponent's, to-play.

    Planes 0 and 1 are the mover's PettingZoo observation (``observation(
    to_play)[:, :, 0]`` and ``[:, :, 1]``, row 0 at the top); plane 2 is all
    ones when player 0 is to move, zeros when player 1 is. One numpy pass for
    the whole batch.
    """
    n = len(states)
    boards = np.array([_mover_boards(s) for s in states], dtype=np.uint64).reshape(n, 3)
    out = np.empty((n, 3, ROWS, COLUMNS), dtype=np.float32)
    bits = (boards[:, :2, None] >> _CELL_SHIFTS) & np.uint64(1)
    out[:, :2] = bits.reshape(n, 2, ROWS, COLUMNS)
    out[:, 2] = boards[:, 2, None, None]
    return out


def env(render_mode: str | None = None) -> BoardGameEnv:
    """An AEC env that behaves as PettingZoo's ``connect_four_v3.env()`` (wrappers included).

    Agents are ``player_0`` (moves first) and ``player_1``; the live search
    state is ``env.unwrapped.state``. render_mode: None, "ansi" or "human".
    """
    return BoardGameEnv(
        new_state=Connect4State,
        agent_names=("player_0", "player_1"),
        name="connect_four_v3",
        render_mode=render_mode,
        mask_after_end=Connect4State.open_columns_mask,
        render_fps=2,
    )
