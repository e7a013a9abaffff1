"""Recording finished matches: the store's writer and Go's SGF files, wired in one place.

`recorders(store, game, data_dir)` is what every front end that stores its games
(`arena match`, the terminal app, the window) and the trainer's evaluation hand the
match loop: the store's writer first, then, for Go, the SGF writer, which names each
file by the stored match id. `match_sgf` turns a Go match's result into SGF bytes
(tournaments and exports write them too); reading SGF is games/go/sgf.py's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from agents.match import Event, MatchEnded, MatchResult, MatchStarted
from games import __version__
from games.errors import UserError
from games.fileio import atomic_write
from games.go.sgf import COLOURS, score_text, to_point
from games.go.state import GoState
from tournaments.store import Store, StoreWriter


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
        node.set_move(COLOURS[move.player], to_point(action, size))
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
            if event.game.is_go and event.game.new_state is not None:
                self._games[event.uid] = event.game
        elif isinstance(event, MatchEnded):
            spec = self._games.pop(event.result.uid, None)
            if spec is None:
                return
            result = event.result
            name = str(result.match_id) if result.match_id is not None else result.uid
            path = self.directory / f"{name}.sgf"
            try:
                atomic_write(path, match_sgf(result, spec.new_state()))
            except OSError as exc:  # a full disk, a data_dir/sgf that is a file: one line
                why = "disk full" if exc.errno == 28 else exc.strerror or str(exc)
                stored = (f" (match {result.match_id} is stored)"
                          if result.match_id is not None else "")
                raise UserError(f"cannot write the SGF file {path}: {why}{stored}") from None
            self.written.append(path)


def sgf_path(data_dir: str | Path, match_id: int) -> Path:
    """Where the SgfWriter of `arena match` puts a match's SGF file."""
    return Path(data_dir) / "sgf" / f"{match_id}.sgf"


def write_match_sgf(result: MatchResult, data_dir: str | Path, game: Any) -> Path | None:
    """Write a stored Go match's SGF file where `arena match` puts it; None for other games.

    Raises OSError or ValueError (a record that is not a legal game) for the caller to report.
    """
    if not game.is_go or game.new_state is None or result.match_id is None:
        return None
    path = sgf_path(data_dir, result.match_id)
    atomic_write(path, match_sgf(result, game.new_state()))
    return path


def recorders(store: Store, game: Any, data_dir: str | Path, tag: str | None = None) -> list[Any]:
    """The observers that record a game: the store's writer, then (Go) the SGF writer.

    The SGF writer comes second because it names its file by the stored match id.
    `tag` marks every match stored (the trainer's evaluation games).
    """
    observers: list[Any] = [StoreWriter(store, tag=tag)]
    if game.is_go and game.new_state is not None:
        observers.append(SgfWriter(Path(data_dir) / "sgf"))
    return observers
