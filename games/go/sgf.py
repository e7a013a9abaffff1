"""SGF for Go: finished matches written as SGF files, SGF files read back.

Writing: `match_sgf` turns a Go match's result into SGF bytes, and the
`SgfWriter` observer writes ``<match_id>.sgf`` into a directory for every Go
match that ends. Reading: `read_sgf` gives the size, komi, setup stones,
moves and result of a file; `SgfGame.to_state` builds the GoState after them.

Any file that cannot be used (unparsable, not Go, a size outside 5..19, a
point off the board, an illegal move or setup) raises UserError with one line
naming the file and what is wrong.

SGF coordinates (sgfmill's (row, col)) count rows from the BOTTOM; Arena's
actions count them from the TOP. All conversions go through `_to_point` and
`_to_action`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from arena import __version__
from arena.errors import UserError
from arena.match import Event, MatchEnded, MatchResult, MatchStarted
from games.fileio import atomic_write
from games.go.state import GoState

MIN_SIZE, MAX_SIZE = 5, 19
COLOURS = ("b", "w")  # sgfmill's colour names, indexed by Arena's player (0 black)


def is_go_game(game_id: str) -> bool:
    """True for the ids of Go games (go5 ... go19)."""
    return game_id.startswith("go")


def _to_point(action: int, size: int) -> tuple[int, int] | None:
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


# -- writing --------------------------------------------------------------------------------


def result_text(result: MatchResult, final: GoState | None) -> str | None:
    """SGF's RE for a finished match: the score, or B+R / B+T / B+F, or Void; None if unknown.

    A resignation is +R; a forfeit is a time loss (+T) when the agent overran
    its time, else +F.
    """
    if result.status == "abandoned":
        return "Void"
    resigned = getattr(result, "resign_player", None)
    if resigned is not None:
        return f"{'W' if resigned == 0 else 'B'}+R"
    if result.forfeit_player is not None:
        winner = "W" if result.forfeit_player == 0 else "B"
        reason = (result.forfeit_reason or "").lower()
        how = "T" if "time per move" in reason else "F"
        return f"{winner}+{how}"
    if final is not None and (final.is_terminal() or result.truncated):
        return score_text(final.score())  # a game the move cap stopped is scored as it stands
    return None


def match_sgf(result: MatchResult, start: GoState) -> bytes:
    """SGF (FF[4]) of a Go match from `start` (the game's empty board, its komi and move cap).

    Holds GM SZ KM PB PW DT RU AP, RE (see `result_text`) and the moves; a
    forfeit's reason goes in GC. Raises ValueError if the recorded moves are
    not a legal game from `start`.
    """
    from sgfmill import sgf

    size = start.size
    game = sgf.Sgf_game(size)
    root = game.get_root()
    root.set("KM", float(start.komi))
    root.set("AP", ("Arena", __version__))
    root.set("RU", "Tromp-Taylor")
    names = list(result.agents) + ["?", "?"]
    root.set("PB", names[0])
    root.set("PW", names[1])
    root.set("DT", time.strftime("%Y-%m-%d", time.localtime(result.started_at)))
    # Replayed on the game's own start, so a game ended by its move cap is
    # terminal here too and scored as the match scored it.
    state = start.copy()
    for move in result.moves:
        action = int(move.action)
        node = game.extend_main_sequence()
        node.set_move(COLOURS[move.player], _to_point(action, size))
        state.play_as(action, move.player)
    re = result_text(result, state)
    if re is not None:
        root.set("RE", re)
    if result.forfeit_reason and result.forfeit_player is not None:
        root.set("GC", f"{names[result.forfeit_player]} forfeited: {result.forfeit_reason}")
    elif getattr(result, "resign_player", None) is not None:
        said = result.resign_reason
        root.set("GC", f"{names[result.resign_player]} resigned"
                       + (f": {said}" if said and said != "resigned" else ""))
    return game.serialise()


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one.

    The file gets the mode of any new file (0644 under umask 022), not mkstemp's 0600.
    """
    atomic_write(path, data)


class SgfWriter:
    """Observer: writes ``<match_id>.sgf`` into `directory` when a Go match ends.

    It must come after the store's StoreWriter among the observers: the file
    is named by the stored match id (by the match's uid if it was not stored).
    """

    wants_moves = False

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._games: dict[str, Any] = {}  # uid -> GameSpec, between start and end
        self.written: list[Path] = []

    def on_event(self, event: Event) -> None:
        if isinstance(event, MatchStarted):
            if is_go_game(event.game.id) and event.game.new_state is not None:
                self._games[event.uid] = event.game
        elif isinstance(event, MatchEnded):
            spec = self._games.pop(event.result.uid, None)
            if spec is None:
                return
            result = event.result
            name = str(result.match_id) if result.match_id is not None else result.uid
            path = self.directory / f"{name}.sgf"
            try:
                write_atomic(path, match_sgf(result, spec.new_state()))
            except OSError as exc:  # a full disk, a data_dir/sgf that is a file: one line
                why = "disk full" if exc.errno == 28 else exc.strerror or str(exc)
                stored = (f" (match {result.match_id} is stored)"
                          if result.match_id is not None else "")
                raise UserError(f"cannot write the SGF file {path}: {why}{stored}") from None
            self.written.append(path)


def sgf_path(data_dir: str | Path, match_id: int) -> Path:
    """Where the SgfWriter of `arena match` puts a match's SGF file."""
    return Path(data_dir) / "sgf" / f"{match_id}.sgf"


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

