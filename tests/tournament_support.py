"""Shared by the tournament and league tests: writing spec files, opening the store they
filled, making an older Arena's store, waiting on a Textual app."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from tournaments.store import Store

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FAULTS = FIXTURES / "tournament_faults.py"
FAULTY = FIXTURES / "faulty_agents.py"


def write_spec(directory: Path, **fields: Any) -> Path:
    """A spec file `<name>.yaml` in `directory` with these fields."""
    path = Path(directory) / f"{fields['name']}.yaml"
    path.write_text(yaml.safe_dump(fields, sort_keys=False))
    return path


def spec_folder(tmp_path: Path, **fields: Any) -> Path:
    """A folder `specs` in `tmp_path` holding one spec file with these fields."""
    folder = Path(tmp_path) / "specs"
    folder.mkdir()
    write_spec(folder, **fields)
    return folder


def fault(cls: str, **params: Any) -> str:
    """The agent reference of a class in tests/fixtures/tournament_faults.py."""
    text = ",".join(f"{k}={v}" for k, v in params.items())
    return f"{FAULTS}:{cls}" + (f":{text}" if text else "")


def db_rows(db: Path, sql: str, *args: Any) -> list[tuple]:
    """Rows of a query on the store file (a separate, read-only look at it)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def old_store(path: Path, script: str, version: int, *inserts: str) -> Store:
    """The store at `path` as an older Arena left it (its `script` run, schema `version`,
    these rows inserted), opened now: migrated to the current schema."""
    conn = sqlite3.connect(path)
    conn.executescript(script + f"PRAGMA user_version = {version};")
    for sql in inserts:
        conn.execute(sql)
    conn.commit()
    conn.close()
    return Store(path)


def tables(store: Store) -> set[str]:
    """The names of the store's tables."""
    return {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def games_by_status(db: Path, name: str) -> dict[str, int]:
    """A tournament's planned games per status."""
    return dict(db_rows(db, "SELECT g.status, COUNT(*) FROM tournament_games g JOIN tournaments t "
                            "ON t.id = g.tournament_id WHERE t.name = ? GROUP BY g.status", name))


def done_games(db: Path, table: str) -> int:
    """Games marked done in `table` of the store file (0 before the runner made it)."""
    if not db.exists():
        return 0
    try:
        return db_rows(db, f"SELECT COUNT(*) FROM {table} WHERE status = 'done'")[0][0]
    except sqlite3.Error:  # the runner may not have created the tables yet
        return 0


def wait_for_more_done(db: Path, table: str, before: int, proc: subprocess.Popen,
                       timeout_s: float) -> None:
    """Wait until `table` holds more than `before` done games, `proc` ends, or `timeout_s` passes.

    Waiting on progress rather than on the clock, so a slow start cannot dodge a kill.
    """
    deadline = time.time() + timeout_s
    while done_games(db, table) <= before and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)


async def wait_for(pilot: Any, condition: Any, timeout: float = 30.0, step: float = 0.02) -> None:
    """Let the app run (Textual's Pilot) until `condition()` holds, at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(step)


def plain(widget: Any) -> str:
    """The text a Textual widget shows now."""
    rendered = widget.render()
    return getattr(rendered, "plain", str(rendered))
