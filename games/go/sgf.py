"""SGF for Go: reading files, and the coordinates and texts SGF and GTP share.

`read_sgf` gives the size, komi, setup stones, moves and result of a file;
`SgfGame.to_state` builds the GoState after them. Writing a finished match as
SGF is the recording layer's (tournaments/recording.py), since it needs the
match loop's results.

Any file that cannot be used (unparsable, not Go, a size outside 5..19, a
point off the board, an illegal move or setup) raises UserError with one line
naming the file and what is wrong.

SGF coordinates (sgfmill's (row, col)) count rows from the BOTTOM; Arena's
actions count them from the TOP. All conversions go through `to_point` and
`_to_action`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from games.errors import UserError
from games.go.state import GoState

MIN_SIZE, MAX_SIZE = 5, 19
COLOURS = ("b", "w")  # sgfmill's colour names, indexed by Arena's player (0 black)


def to_point(action: int, size: int) -> tuple[int, int] | None:
    if action == size * size:
        return None
    row, col = divmod(action, size)
    return size - 1 - row, col


def _to_action(point: tuple[int, int] | None, size: int) -> int:
    if point is None:
        return size * size
    row, col = point
    return (size - 1 - row) * size + col


def score_text(score: float) -> str:
    """A Tromp-Taylor score (black minus white minus komi) as SGF/GTP write it: B+3.5, W+0.5, 0."""
    if score == 0:
        return "0"
    return f"{'B' if score > 0 else 'W'}+{abs(score):g}"


def position_from_stones(size: int, komi: float, black: Iterable[int], white: Iterable[int],
                         to_play: int = 0, *, max_moves: int | None = None) -> GoState:
    """A GoState with these stones on the board and `to_play` (0 black, 1 white) to move.

    The stones are placed by `play_as`. That is exact: in a position where
    every group has a liberty, placing its stones one at a time never
    captures and is never suicide (a partly placed group touches an empty
    point where its missing stones go). The last stone placed is of the
    colour not to play, which leaves `to_play` to move; with no such stone,
    that colour passes once. Then the position becomes a game's start
    (``_start_here``): no moves played, no pass, no captures, and a history
    of this one board, so networks with history planes see it as it is.

    Raises ValueError for a point off the board, a point given twice, or a
    position with a group that has no liberties.
    """
    black, white = list(black), list(white)
    n = size * size
    seen: set[int] = set()
    for a in black + white:
        if not 0 <= a < n:
            raise ValueError(f"point {a} is off the {size}x{size} board")
        if a in seen:
            raise ValueError(f"point {_label(a, size)} has two stones")
        seen.add(a)
    state = GoState(size, komi, False, 0 if max_moves is None else max_moves)
    mover = 1 - to_play  # the colour whose stone must go last
    first = white if mover == 0 else black
    last = black if mover == 0 else white
    order = [(a, 1 - mover) for a in first] + [(a, mover) for a in last]
    for action, colour in order:
        try:
            state.play_as(action, colour)
        except ValueError as exc:
            raise ValueError(f"setup stone at {_label(action, size)} leaves a group without "
                             f"liberties ({exc})") from None
    if not last:
        state.play_as(state.pass_action, mover)
    board = state.board()
    placed = int((board != 0).sum())
    if placed != len(order):
        raise ValueError("the setup stones leave a group without liberties")
    state._start_here()
    return state


def ready_to_move(state: GoState, colour: int) -> GoState:
    """`state` itself if `colour` may move in it now, else its board rebuilt with
    `colour` to move (see `position_from_stones`; the komi and the move cap carry
    over). For play that goes on after two passes or out of turn, as GTP and
    SGF allow."""
    if not state.is_terminal() and state.to_play == colour:
        return state
    board = state.board().reshape(-1)
    return position_from_stones(state.size, state.komi, np.flatnonzero(board == 1).tolist(),
                                np.flatnonzero(board == 2).tolist(), colour,
                                max_moves=state.max_moves)


def _label(action: int, size: int) -> str:
    return GoState(size).action_label(action) if 0 <= action <= size * size else str(action)


# -- reading --------------------------------------------------------------------------------


@dataclass
class SgfGame:
    """What an SGF file holds of a Go game. Points and moves are Arena actions."""

    path: str
    size: int
    komi: float
    setup_black: list[int] = field(default_factory=list)
    setup_white: list[int] = field(default_factory=list)
    first_player: int = 0  # who moves first: PL, else the colour of the first move, else black
    moves: list[tuple[int, int]] = field(default_factory=list)  # (colour, action)
    result: str | None = None
    black_name: str | None = None
    white_name: str | None = None

    def initial_state(self, max_moves: int | None = 0) -> GoState:
        """The position before the first move: the setup stones, `first_player` to move."""
        if not self.setup_black and not self.setup_white and self.first_player == 0:
            return GoState(self.size, self.komi, False, max_moves)
        try:
            return position_from_stones(self.size, self.komi, self.setup_black,
                                        self.setup_white, self.first_player,
                                        max_moves=max_moves)
        except ValueError as exc:
            raise UserError(f"{self.path}: bad setup stones: {exc}") from None

    def to_state(self, max_moves: int | None = 0) -> GoState:
        """The position after all the moves (no move cap unless `max_moves` says so).

        Raises UserError naming the file and the move if one is illegal.
        """
        state = self.initial_state(max_moves)
        for number, (colour, action) in enumerate(self.moves, start=1):
            if state.is_terminal() and state.passes >= 2:
                state = ready_to_move(state, colour)  # play went on after two passes
            try:
                state.play_as(action, colour)
            except ValueError as exc:
                raise UserError(f"{self.path}: move {number} "
                                f"({COLOURS[colour].upper()} {state.action_label(action)}) "
                                f"is illegal: {exc}") from None
        return state


def _bad(path: str | Path, what: str) -> UserError:
    return UserError(f"{path}: {what}")


def read_sgf(path: str | Path) -> SgfGame:
    """The Go game in the SGF file at `path` (its main line), checked move by move.

    Raises UserError with one line naming the file for anything unusable.
    """
    from sgfmill import sgf

    from games.inputs import read_bounded

    try:  # at most 16 MB: an endless file (a link to /dev/zero) is refused, not read whole
        data = read_bounded(path, "SGF")
    except OSError as exc:
        raise _bad(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        game = sgf.Sgf_game.from_bytes(data)
    except ValueError as exc:
        raise _bad(path, f"not valid SGF: {_one_line(exc)}") from None
    root = game.get_root()
    if root.has_property("GM"):
        try:
            gm = root.get("GM")
        except ValueError:
            gm = None
        if gm != 1:
            raise _bad(path, f"not a Go game (GM[{_raw(root, 'GM')}], Go is GM[1])")
    size = game.get_size()
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise _bad(path, f"board size {size} is outside {MIN_SIZE}..{MAX_SIZE}")
    try:
        komi = game.get_komi()
    except ValueError:
        raise _bad(path, f"komi KM[{_raw(root, 'KM')}] is not a number") from None
    out = SgfGame(str(path), size, float(komi))
    board = f"the {size}x{size} board"
    try:
        black, white, _empty = root.get_setup_stones()
    except ValueError:
        raw = " ".join(f"{p}[{_raw(root, p)}]" for p in ("AB", "AW", "AE") if root.has_property(p))
        raise _bad(path, f"setup stones {raw} are not all points on {board}") from None
    moves: list[tuple[int, tuple[int, int] | None]] = []
    for node in game.get_main_sequence():
        if node is not root and node.has_setup_stones():
            raise _bad(path, f"setup stones after move {len(moves)} are not supported")
        try:
            colour, point = node.get_move()
        except ValueError:
            prop = "B" if node.has_property("B") else "W"
            raise _bad(path, f"move {len(moves) + 1} {prop}[{_raw(node, prop)}] is not a point "
                             f"on {board}") from None
        if colour is not None:
            moves.append((COLOURS.index(colour), point))
    first_player: int | None = None
    if root.has_property("PL"):
        try:
            first_player = COLOURS.index(root.get("PL"))
        except ValueError:
            raise _bad(path, f"PL[{_raw(root, 'PL')}] is not B or W") from None
    out.setup_black = sorted(_to_action(p, size) for p in black)
    out.setup_white = sorted(_to_action(p, size) for p in white)
    out.moves = [(c, _to_action(p, size)) for c, p in moves]
    if first_player is None:
        first_player = moves[0][0] if moves else (1 if black and not white else 0)
    out.first_player = first_player
    for prop, attr in (("RE", "result"), ("PB", "black_name"), ("PW", "white_name")):
        if root.has_property(prop):
            try:
                setattr(out, attr, root.get(prop))
            except ValueError:
                pass
    out.to_state()  # every move checked now, so a bad file fails here with its move number
    return out


def _raw(node: Any, prop: str) -> str:
    """A property's values as written, e.g. "zz" or "aa][bb" (for messages)."""
    try:
        return b"][".join(node.get_raw_list(prop)).decode("utf-8", "replace")
    except (KeyError, ValueError):
        return "?"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def state_from_sgf(path: str | Path, max_moves: int | None = 0) -> GoState:
    """The GoState at the end of the SGF file's main line; UserError for a bad file."""
    return read_sgf(path).to_state(max_moves)

