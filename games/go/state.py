"""Go's search state: the compiled rules engine (`games.go._core`) as a GameState.

Rules are PettingZoo go_v5's (minigo's go_base), move for move: a stone may
not go on an occupied point, on the simple-ko point, or commit suicide;
simple ko is set when a move into a point surrounded by the opponent captures
exactly one stone, and cleared by any other move or pass; pass is always
legal; two consecutive passes end the game; the result is the Tromp-Taylor
area score minus komi. Beyond go_v5: optional positional superko, and a move
cap (default ``3 * size * size`` plies) that keeps every game finite.

Actions are go_v5's: ``a = row * size + column`` with row 0 at the TOP, and
``size * size`` is pass. Labels are GTP coordinates: columns ``A..T`` without
``I`` from the left, rows counted from the BOTTOM (action 0 on 9x9 is "A9").

Everything hot (play, copy, legal moves, scoring, history planes) runs in C;
this class adds the numpy views, labels and text rendering.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Self

import numpy as np

from games.go import _core
from games.state import GameState

GTP_COLUMNS = "ABCDEFGHJKLMNOPQRST"
BLACK_STONE = "●"
WHITE_STONE = "○"
_EMPTY_POINT = "·"
_STAR_POINT = "+"
HISTORY_LENGTH = _core.HISTORY  # boards kept for planes / observations


def _star_points(n: int) -> set[tuple[int, int]]:
    """The hoshi (row, column) drawn on an n x n board."""
    if n < 7:
        return {(n // 2, n // 2)} if n % 2 else set()
    edge = 2 if n < 13 else 3
    far = n - 1 - edge
    points = {(edge, edge), (edge, far), (far, edge), (far, far)}
    if n % 2:
        mid = n // 2
        points.add((mid, mid))
        if n >= 15:
            points |= {(edge, mid), (far, mid), (mid, edge), (mid, far)}
    return points


def lead_text(score: float) -> str:
    """A score from black's view as Go writes it: "B+3.5", "W+0.5", "even"."""
    if score == 0:
        return "even"
    return f"{'B' if score > 0 else 'W'}+{abs(score):g}"


#: score_label's estimates by position (size, komi, hash, ko, passes): a display
#: redraws the same position many times.
_ESTIMATES: dict[tuple, float] = {}


class GoState(_core.Board, GameState):
    """A Go position; player 0 is black (go_v5's ``black_0``), 1 is white.

    ``GoState(size=9, komi=7.5, superko=False, max_moves=None)``: size 5..19
    (else ValueError); ``max_moves`` None is the default cap of
    ``3 * size * size`` plies (passes count), 0 is no cap.

    Implemented in C (see _core.c), all with the contract of GameState:
    ``copy()``, ``play(a)`` (ValueError, position unchanged, when illegal or
    over), ``play_as(a, colour)``, ``is_legal(a)``, ``illegal_reason(a)``,
    ``legal_actions()``, ``is_terminal()``, ``returns()``, ``score()``,
    ``area()``, ``colour_at(a)``, ``group_liberties(a)``, and the read-only
    ``size komi superko max_moves num_actions pass_action to_play
    moves_played passes ko captures last_action hash board_hash``.
    """

    __slots__ = ()

    def __init__(self, size: int = 9, komi: float = 7.5, superko: bool = False,
                 max_moves: int | None = None) -> None:
        # The C constructor (tp_new) has already validated and built everything;
        # this exists for the signature and docs.
        pass

    @classmethod
    def from_moves(cls, size: int = 9, komi: float = 7.5, moves: Iterable[int | str] = (),
                   superko: bool = False, max_moves: int | None = None) -> Self:
        """A position after `moves` (actions or GTP labels), played alternately from black.

        Raises ValueError on the first illegal or unreadable move.
        """
        state = cls(size, komi, superko, max_moves)
        for move in moves:
            state.play(state.parse_action(move) if isinstance(move, str) else move)
        return state

    # -- arrays ------------------------------------------------------------

    def legal_mask(self) -> np.ndarray:
        """int8 over num_actions, 1 where legal (pass included); all zeros once over."""
        return np.frombuffer(self._legal_bytes(), dtype=np.int8)

    def legal_for_search(self) -> bytearray:
        """The legal mask as bytes (pass included): the search's cheapest form of it."""
        return self._legal_bytes()

    def board(self) -> np.ndarray:
        """int8 (size, size): 0 empty, 1 black, 2 white; row 0 is the top row."""
        n = self.size
        return np.frombuffer(self._board_bytes(), dtype=np.int8).reshape(n, n)

    def history(self, k: int = HISTORY_LENGTH) -> np.ndarray:
        """int8 (k, size, size): the board after each of the last k moves, newest first.

        A pass repeats the board; entries from before the first move are zeros.
        k is 0..8.
        """
        n = self.size
        return np.frombuffer(self._history_bytes(k), dtype=np.int8).reshape(k, n, n)

    def history_colours(self, k: int = HISTORY_LENGTH) -> np.ndarray:
        """int8 (k,): the colour (0 black, 1 white) that made each of history(k)'s moves.

        -1 where there was no move yet.
        """
        return np.frombuffer(self._history_colour_bytes(k), dtype=np.int8)

    def planes(self, k: int = HISTORY_LENGTH) -> np.ndarray:
        """float32 (2k+1, size, size) network input, AlphaGo Zero style.

        Planes 2t and 2t+1 are the side to move's and the opponent's stones
        t moves ago (t=0 is now; zeros before the game began); the last plane
        is all ones when black is to move, zeros when white is.
        """
        n = self.size
        return np.frombuffer(self._planes_bytes(k), dtype=np.float32).reshape(2 * k + 1, n, n)

    def observation(self, player: int) -> np.ndarray:
        """bool (size, size, 17): exactly what go_v5's observe() returns for `player`.

        go_v5 stacks, after every move, [mover's stones, mover's opponent's
        stones] in front of its history, so planes 0..15 are the same for
        both agents; plane 16 is all False for black_0 (0), all True for
        white_0 (1), whoever is to move.
        """
        n = self.size
        return np.frombuffer(self._observation_bytes(player), dtype=np.bool_).reshape(
            n, n, 2 * HISTORY_LENGTH + 1)

    # -- ownership and the score estimate ----------------------------------

    def default_playouts(self) -> int:
        """How many playouts `ownership` runs by default: about 3 ms of them on any board."""
        return max(32, 10_000 // (self.size * self.size))

    def ownership(self, count: int | None = None, seed: int | None = None) -> np.ndarray:
        """float32 (size, size) in [-1, 1]: who owns each point, judged by fast playouts.

        Each of `count` playouts (default `default_playouts()`) plays the
        position to the end with the compiled rollout policy, which captures
        dead groups and never fills its own eyes; a point scores +1 where black
        owns it at the end (a stone, or an empty region reaching only black),
        -1 where white does, 0 where neither does. The mean over the playouts
        is black's probability of owning the point minus white's. The seed
        defaults to one fixed by the position, so the same position always
        gets the same estimate. Once the game is over: the Tromp-Taylor owners.
        """
        n = self.size
        count = self.default_playouts() if count is None else count
        seed = self.hash & 0xFFFFFFFF if seed is None else seed
        return np.frombuffer(self._ownership_bytes(count, seed), dtype=np.float32).reshape(n, n)

    def score_estimate(self, count: int | None = None, seed: int | None = None) -> float:
        """Black's expected lead with dead stones judged: the sum of `ownership` minus komi.

        Once the game is over it is the rules' result, `score()` (Tromp-Taylor).
        """
        if self.is_terminal():
            return self.score()
        return float(self.ownership(count, seed).sum(dtype=np.float64)) - self.komi

    def score_label(self) -> str:
        """The score for a live display: "score est. B+3.5" while the game is on (the
        estimate, to the nearest point of area), "score B+3.5" (Tromp-Taylor) once over."""
        if self.is_terminal():
            return f"score {lead_text(self.score())}"
        key = (self.size, self.komi, self.hash, self.ko, self.passes)
        score = _ESTIMATES.get(key)
        if score is None:
            area = round(self.ownership().sum(dtype=np.float64))
            score = area - self.komi
            if len(_ESTIMATES) >= 256:
                _ESTIMATES.clear()
            _ESTIMATES[key] = score
        return f"score est. {lead_text(score)}"

    # -- labels ------------------------------------------------------------

    def action_label(self, action: int) -> str:
        """The GTP coordinate of an action ("A9" is action 0 on 9x9), or "pass"."""
        n = self.size
        if action == n * n:
            return "pass"
        if not 0 <= action < n * n:
            raise ValueError(f"action {action} is out of range (0..{n * n}, {n * n} = pass)")
        row, col = divmod(action, n)
        return f"{GTP_COLUMNS[col]}{n - row}"

    def parse_action(self, text: str) -> int:
        """The action a GTP coordinate (any case, e.g. "d4") or "pass" names.

        Raises ValueError saying what is wrong for anything else, including
        points off this board.
        """
        n = self.size
        cleaned = text.strip().upper()
        if cleaned == "PASS":
            return n * n
        if len(cleaned) < 2 or not cleaned[0].isalpha() or not cleaned[1:].isdigit() \
                or not cleaned[1:].isascii():
            raise ValueError(f"'{text}' is not a move: expected a point like D4, or pass")
        letter, number = cleaned[0], int(cleaned[1:])
        if letter == "I":
            raise ValueError(f"'{text}': GTP coordinates skip the letter I (H is followed by J)")
        col = GTP_COLUMNS.find(letter)
        if not 0 <= col < n or not 1 <= number <= n:
            raise ValueError(f"'{text}' is off the {n}x{n} board "
                             f"(columns A-{GTP_COLUMNS[n - 1]}, rows 1-{n})")
        return (n - number) * n + col

    def symbols(self) -> tuple[str, str]:
        """The stones as drawn by render_text: black's, then white's."""
        return (BLACK_STONE, WHITE_STONE)

    # -- text --------------------------------------------------------------

    def render_text(self, last_action: int | None = None) -> str:
        """The board with GTP coordinates on all four sides and a status line.

        The last move (`last_action`, or this position's own last move when
        None) is bracketed like ``(●)``; star points show as ``+``.
        """
        n = self.size
        mark = self.last_action if last_action is None else last_action
        mark_row, mark_col = divmod(mark, n) if mark is not None and 0 <= mark < n * n else (-1, -1)
        stars = _star_points(n)
        board = self.board()
        drawn = {0: _EMPTY_POINT, 1: BLACK_STONE, 2: WHITE_STONE}
        letters = "   " + " ".join(GTP_COLUMNS[:n])
        lines = [letters]
        for r in range(n):
            cells = []
            for c in range(n):
                v = int(board[r, c])
                cells.append(_STAR_POINT if v == 0 and (r, c) in stars else drawn[v])
            # Each point is preceded by a separator; the last move swaps the
            # separators on its two sides for brackets.
            row = ""
            for c, cell in enumerate(cells):
                if r == mark_row and c == mark_col:
                    sep = "("
                elif r == mark_row and c == mark_col + 1:
                    sep = ")"
                else:
                    sep = " "
                row += sep + cell
            row += ")" if r == mark_row and mark_col == n - 1 else " "
            label = f"{n - r:>2}"
            lines.append(f"{label}{row}{n - r}")
        lines.append(letters)
        black_caps, white_caps = self.captures
        if self.is_terminal():
            score = self.score()
            result = "draw" if score == 0 else f"{'B' if score > 0 else 'W'}+{abs(score):g}"
            status = f"Game over ({result})"
        else:
            side = "Black" if self.to_play == 0 else "White"
            status = f"{side} ({self.symbols()[self.to_play]}) to play"
        last = f" · last {self.action_label(mark)}" if mark is not None and 0 <= mark <= n * n else ""
        lines.append(f"{status} · captures {BLACK_STONE} {black_caps}  {WHITE_STONE} {white_caps}"
                     f" · move {self.moves_played}{last}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"GoState(size={self.size}, komi={self.komi:g}, moves_played={self.moves_played}, "
                f"to_play={self.to_play})")
