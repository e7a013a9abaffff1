"""The store's tournament tables: the schema 1 -> 2 migration, one record per planned game."""

from __future__ import annotations

import sqlite3

import pytest
from tournament_support import old_store, tables

from agents.registry import make_agent
from games.errors import UserError
from agents.match import play_match
from tournaments.store import SCHEMA, SCHEMA_VERSION, Store
from games.registry import resolve_game
from tournaments import records
from tournaments.spec import parse_spec


def test_a_schema_1_store_is_migrated_and_keeps_its_matches(tmp_path):
    path = tmp_path / "old.db"
    store = old_store(path, SCHEMA, 1,
                      "INSERT INTO matches (uid, game, seed, started_at, duration_s, status, "
                      "plies, truncated) VALUES ('u1', 'tictactoe', 4, 0, 0, 'finished', 0, 0)")
    assert SCHEMA_VERSION >= 2
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert {"tournaments", "tournament_participants", "tournament_games"} <= tables(store)
    assert store.get_match(1).uid == "u1" and store.count() == 1
    store.close()
    Store(path).close()  # opening a current store again changes nothing
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(UserError, match="newer Arena"):
        Store(path)


def test_a_planned_game_is_recorded_once_and_a_second_record_rolls_back(tmp_path):
    store = Store(tmp_path / "a.db")
    spec = parse_spec({"name": "once", "game": "tictactoe", "participants": ["random", "greedy"],
                       "games_per_pairing": 1}, "once.yaml")
    record = records.open_tournament(store, spec, "once.yaml")
    (row,) = records.games(store, record.id, "planned")
    game = resolve_game("tictactoe")

    def play():
        return play_match(game, [make_agent("random"), make_agent("greedy")], seed=row.seed,
                          names=row.seats, tag=record.tag)

    store.record(play(), then=lambda conn, mid: records.mark_done(conn, record.id, row.key, mid,
                                                                  None))
    with pytest.raises(RuntimeError, match="not waiting to be played"):
        store.record(play(), then=lambda conn, mid: records.mark_done(conn, record.id, row.key,
                                                                      mid, None))
    assert store.count() == 1  # the second match was rolled back with the refused update
    (done,) = records.games(store, record.id)
    assert done.status == "done" and done.match_id == 1
    store.close()
