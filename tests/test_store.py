"""The store: real SQLite files, WAL, and all-or-nothing match records."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import ROOT

from agents.registry import make_agent
from agents.match import Move, play_match
from tournaments.store import Store, StoreWriter
from games.registry import resolve_game


def test_a_match_round_trips(tmp_path):
    store = Store(tmp_path / "a.db")
    result = play_match(resolve_game("connect4"), [make_agent("greedy"), make_agent("random")],
                        seed=5, observers=[StoreWriter(store)])
    stored = store.get_match(result.match_id)
    assert stored.uid == result.uid and stored.game == "connect4" and stored.seed == 5
    assert stored.agents == ["greedy", "random"]
    assert stored.returns == result.returns and stored.outcomes == result.outcomes
    assert stored.winner == result.winner and stored.plies == result.plies
    assert [(p, a, label) for p, a, label, _ in stored.moves] == [
        (m.player, m.action, m.label) for m in result.moves]
    assert store.get_match(result.match_id + 1) is None


def test_store_uses_wal(tmp_path):
    Store(tmp_path / "a.db").close()
    conn = sqlite3.connect(tmp_path / "a.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    store = Store(tmp_path / "a.db")
    result = play_match(resolve_game("tictactoe"), [make_agent("random"), make_agent("random")],
                        seed=1)
    result.moves.append(Move(99, 0, object(), "?", 0.0))  # cannot be written
    with pytest.raises(TypeError):
        store.record(result)
    conn = store.conn
    for table in ("matches", "match_agents", "moves"):
        assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0
    result.moves.pop()
    assert store.record(result) == 1


def test_killed_writer_leaves_only_whole_matches(tmp_path):
    """SIGKILL a process that records matches in a loop: every stored match is complete."""
    db = tmp_path / "killed.db"
    script = textwrap.dedent(f"""
        from agents.registry import make_agent
        from agents.match import play_match
        from tournaments.store import Store, StoreWriter
        from games.registry import resolve_game
        store = Store({str(db)!r})
        game = resolve_game("connect4")
        writer = StoreWriter(store)
        print("ready", flush=True)
        seed = 0
        while True:
            play_match(game, [make_agent("random"), make_agent("random")], seed=seed,
                       observers=[writer])
            seed += 1
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.time() + 30
    while time.time() < deadline:
        time.sleep(0.3)
        if db.exists() and Store(db).count() >= 20:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = Store(db)
    ids = store.match_ids()
    assert len(ids) >= 20
    for match_id in ids:
        m = store.get_match(match_id)
        assert len(m.moves) == m.plies > 0
        assert len(m.agents) == 2
