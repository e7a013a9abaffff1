"""Shared by the tournament tests: writing spec files, opening the store they filled."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import yaml

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FAULTS = FIXTURES / "tournament_faults.py"
FAULTY = FIXTURES / "faulty_agents.py"


def write_spec(directory: Path, **fields: Any) -> Path:
    """A spec file `<name>.yaml` in `directory` with these fields."""
    path = Path(directory) / f"{fields['name']}.yaml"
    path.write_text(yaml.safe_dump(fields, sort_keys=False))
    return path


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


def games_by_status(db: Path, name: str) -> dict[str, int]:
    """A tournament's planned games per status."""
    return dict(db_rows(db, "SELECT g.status, COUNT(*) FROM tournament_games g JOIN tournaments t "
                            "ON t.id = g.tournament_id WHERE t.name = ? GROUP BY g.status", name))
