"""What the Tournaments screen reads: stored tournaments, their standings, runners and replays.

Everything here reads the store through a read-only SQLite connection (the
store is in WAL mode, so a runner writing games is never blocked, and the app
never takes a write lock). A tournament started from the app is
`arena tournament run SPEC` in its own process session: it goes on when the
app closes, and stopping it is SIGINT to the runner that holds the
tournament's lock (tournaments/lock.py); the same command resumes it later.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tournaments.store import Store, StoredMatch

#: Recent games shown under the standings.
RECENT_GAMES = 12


class ReadOnlyStore(Store):
    """A Store opened read-only: queries work, nothing is ever written (no migrations either)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5.0,
                                    isolation_level=None)


@dataclass
class RecentGame:
    """One finished game of a tournament, as the recent-games table shows it."""

    match_id: int
    seats: list[str]
    result: str  # "1-0", "½-½", "0-1"; single player: the return
    reason: str  # how it ended: "forfeit: ...", "move cap", "N plies"


@dataclass
class TournamentSnapshot:
    """A tournament as read from the store at one moment.

    `standings` is exactly what `arena tournament show NAME --json` prints
    (tournaments.standings.compute_standings); `recent` holds the newest
    games first.
    """

    name: str
    game: str
    format: str
    finished: bool
    done: int
    total: int
    standings: dict[str, Any]
    recent: list[RecentGame] = field(default_factory=list)

    @property
    def single_player(self) -> bool:
        return self.format == "leaderboard"


def list_tournament_names(store_path: Path) -> list[str]:
    """Names of the stored tournaments, oldest first (none without a store)."""
    return stored_names(store_path, "tournaments")


def stored_names(store_path: Path, table: str) -> list[str]:
    """The `name` column of `table`, oldest first (none without a store, or an older store)."""
    if not Path(store_path).exists():
        return []
    store = ReadOnlyStore(store_path)
    try:
        return [row[0] for row in store.conn.execute(f"SELECT name FROM {table} ORDER BY id")]
    except sqlite3.OperationalError:  # a store from before the table existed
        return []
    finally:
        store.close()


def _result_text(seats: list[str], outcomes: list[str], returns: list[float]) -> str:
    if len(seats) == 1:
        return f"{returns[0]:g}"
    first = outcomes[0]
    return "1-0" if first == "win" else "0-1" if first == "loss" else "½-½"


def read_tournament(store_path: Path, name: str,
                    recent: int = RECENT_GAMES) -> TournamentSnapshot | None:
    """The tournament `name` as stored now, or None if the store does not hold it (yet)."""
    from tournaments import records
    from tournaments.standings import compute_standings

    if not Path(store_path).exists():
        return None
    store = ReadOnlyStore(store_path)
    try:
        try:
            record = records.get_tournament(store, name)
        except sqlite3.OperationalError:
            return None
        if record is None:
            return None
        standings = compute_standings(store, record)
        played = records.played_games(store, record.id)[-recent:][::-1]
        ids = [g.match_id for g in played]
        details: dict[int, tuple[int, int]] = {}
        if ids:
            marks = ",".join("?" * len(ids))
            rows = store.conn.execute(
                f"SELECT id, plies, truncated FROM matches WHERE id IN ({marks})", ids)
            details = {i: (plies, truncated) for i, plies, truncated in rows}
    finally:
        store.close()
    games: list[RecentGame] = []
    for g in played:
        plies, truncated = details.get(g.match_id, (0, 0))
        if g.forfeit_player is not None:
            reason = f"{g.seats[g.forfeit_player]} forfeit: {g.forfeit_reason}"
        elif g.resign_player is not None:
            reason = f"{g.seats[g.resign_player]} resigned"
        elif truncated:
            reason = f"move cap ({plies} plies)"
        else:
            reason = f"{plies} {'steps' if len(g.seats) == 1 else 'plies'}"
        games.append(RecentGame(g.match_id, list(g.seats),
                                _result_text(g.seats, g.outcomes, g.returns), reason))
    counts = standings["games"]
    return TournamentSnapshot(name=record.name, game=record.game, format=record.format,
                              finished=record.finished_at is not None, done=counts["done"],
                              total=counts["total"], standings=standings, recent=games)


def read_match(store_path: Path, match_id: int) -> StoredMatch | None:
    """The stored game `match_id`, moves included, or None."""
    store = ReadOnlyStore(store_path)
    try:
        return store.get_match(match_id)
    finally:
        store.close()


# -- runners -----------------------------------------------------------------------------------


def spec_files(directory: Path) -> list[Path]:
    """The tournament specs (`*.yaml`, `*.yml`) in `directory`, by name."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def run_command(spec: Path) -> list[str]:
    """The command that plays (or resumes) the tournament in `spec`."""
    return [sys.executable, "-m", "arena", "tournament", "run", str(spec)]


def start_runner(spec: Path, data_dir: Path, name: str) -> subprocess.Popen:
    """Start `arena tournament run SPEC` in its own session, output to <data_dir>/tournaments/NAME.log.

    Its own session: closing the app or Ctrl-C in its terminal does not reach
    the runner; `stop_runner` does. Its pid is written next to the log.
    """
    folder = Path(data_dir) / "tournaments"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(run_command(spec), stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    (folder / f"{name}.pid").write_text(f"{process.pid}\n")
    return process


def runner_pid(data_dir: Path, name: str) -> int | None:
    """The pid of the runner playing tournament `name` now (whoever started it), or None.

    The runner holds a flock on its lock file and wrote its pid into it; a
    lock nobody holds means nothing runs.
    """
    from tournaments.lock import lock_path

    return lock_holder_pid(lock_path(Path(data_dir), name))


def lock_holder_pid(path: Path) -> int | None:
    """The pid written into the lock file at `path` by the process holding its flock, or None.

    A shared non-blocking flock that succeeds means nobody holds it (it is
    released at once); one that would block means a runner does.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                return int(json.loads(os.pread(fd, 4096, 0) or b"{}")["pid"])
            except (ValueError, KeyError, TypeError):
                return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def stop_runner(data_dir: Path, name: str, sig: int = signal.SIGINT) -> bool:
    """Send `sig` (SIGINT: finish cleanly, every stored game kept) to the runner; False if none runs."""
    return send_signal(runner_pid(data_dir, name), sig)


def send_signal(pid: int | None, sig: int) -> bool:
    """Send `sig` to process `pid`; False if there is none (None, or it has gone)."""
    if pid is None:
        return False
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


# -- replays -----------------------------------------------------------------------------------


def replay_positions(match: StoredMatch) -> list[Any] | None:
    """The positions of a stored board game: before any move, then after each; None without a state.

    Promises: len(result) == len(match.moves) + 1 and result[-1] is the final position.
    """
    from games.errors import UserError
    from games.registry import resolve_game

    try:
        game = resolve_game(match.game)
    except UserError:
        return None
    if game.new_state is None:
        return None
    state = game.new_state()
    positions = [state.copy()]
    for _, action, _, _ in match.moves:
        state.play(int(action))
        positions.append(state.copy())
    return positions
