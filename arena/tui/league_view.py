"""What the league view reads: stored leagues, their ratings and history, their runners.

Reads go through the tournament view's read-only store (the app never takes a
write lock). A league started from the app is `arena league run SPEC` in its
own process session, logging to ``<data_dir>/leagues/NAME.log``; it holds the
league's lock (tournaments/league/runner.py), which says whether it runs.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from arena.tui.tournament_view import ReadOnlyStore, lock_holder_pid, send_signal, stored_names


@dataclass
class LeagueSnapshot:
    """A league as read from the store at one moment.

    `standings` is exactly what `arena league show NAME --json` prints
    (tournaments.league.export.league_standings).
    """

    name: str
    game: str
    finished: bool
    standings: dict[str, Any]

    @property
    def rounds_done(self) -> int:
        return self.standings["rounds_done"]

    @property
    def rounds(self) -> int:
        return self.standings["rounds"]


def list_league_names(store_path: Path) -> list[str]:
    """Names of the stored leagues, oldest first (none without a store, or an older store)."""
    return stored_names(store_path, "leagues")


def read_league(store_path: Path, name: str) -> LeagueSnapshot | None:
    """The league `name` as stored now, or None if the store does not hold it (yet)."""
    from tournaments.league.export import league_standings
    from tournaments.league.records import get_league

    if not Path(store_path).exists():
        return None
    store = ReadOnlyStore(store_path)
    try:
        try:
            record = get_league(store, name)
        except sqlite3.OperationalError:
            return None
        if record is None:
            return None
        standings = league_standings(store, record)
    finally:
        store.close()
    return LeagueSnapshot(record.name, record.game, record.finished_at is not None, standings)


def chart_series(standings: dict[str, Any], mode: str
                 ) -> tuple[dict[str, list[tuple[float, float]]], dict[str, float]]:
    """(series, levels) for the ratings chart.

    mode "snapshots": per learner, its snapshots' current Elo by the round that
    froze each; "history": every snapshot's Elo after each round since it joined.
    `levels` are the references' current Elo (drawn as horizontal lines).
    """
    from tournaments.league.export import player_series, snapshot_series

    refs = {row["name"]: row["elo"] for row in standings["standings"]
            if row["kind"] == "reference" and row["elo"] is not None}
    if mode == "snapshots":
        series = {k: [(float(r), e) for r, e, _ in v]
                  for k, v in snapshot_series(standings).items()}
    else:
        series = {k: [(float(r), e) for r, e in v]
                  for k, v in player_series(standings).items() if k not in refs}
    return series, refs


def is_league_spec(path: Path) -> bool:
    """True if the YAML file at `path` describes a league (it has `learners`)."""
    from games.errors import UserError
    from games.inputs import load_yaml, read_text_bounded

    try:  # bounded and with aliases limited, as the league command reads it
        data = load_yaml(read_text_bounded(path, "YAML"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, UserError):
        return False
    return isinstance(data, dict) and "learners" in data


def start_league_runner(spec: Path, data_dir: Path, name: str) -> subprocess.Popen:
    """Start `arena league run SPEC` in its own session, output to <data_dir>/leagues/NAME.log."""
    folder = Path(data_dir) / "leagues"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{name}.log").open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", "arena", "league", "run", str(spec)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)


def league_runner_pid(data_dir: Path, name: str) -> int | None:
    """The pid of the runner holding league `name`'s lock now, or None."""
    from tournaments.league.runner import league_dir

    return lock_holder_pid(league_dir(Path(data_dir), name) / "league.lock")


def stop_league_runner(data_dir: Path, name: str) -> bool:
    """SIGINT to the league's runner (finished games and rounds stay); False if none runs."""
    return send_signal(league_runner_pid(data_dir, name), signal.SIGINT)
