"""The store's league tables: leagues, their players, planned games and ratings history.

The tables are defined in tournaments/store.py (schema 3). A league's players are
its fixed references and the snapshots its learners froze; a snapshot's row
and its round's planned evaluation games are written in one transaction, and a
planned game is marked ``done`` in the transaction that records its match (as
tournaments do), so a resumed league knows exactly what remains. A round is
finished when its ratings rows exist.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import ClassVar

from games.errors import UserError
from tournaments.league.spec import LEAGUE_FIELDS, LeagueSpec
from tournaments.records import (
    StoredGame,
    Tagged,
    count_by_status,
    first_difference,
    game_rows,
    outcome_score,
    require_named,
)
from tournaments.store import Store


@dataclass
class LeagueRecord(Tagged):
    """A stored league."""

    TAG: ClassVar[str] = "league"
    id: int
    name: str
    game: str
    spec: LeagueSpec
    created_at: float
    finished_at: float | None


@dataclass
class Player:
    """A reference or a snapshot, as stored."""

    name: str
    kind: str  # snapshot | reference
    agent: str
    learner: str | None
    round: int | None  # 0-based round that froze a snapshot
    steps: int | None


@dataclass
class LeagueGame(StoredGame):
    """A planned evaluation game as stored."""


@dataclass
class RatingRow:
    """One player's rating after one round."""

    round: int
    player: str
    elo: float
    ci95: float
    games: int


_COLUMNS = "id, name, game, spec, created_at, finished_at"


def _row_to_league(row: tuple) -> LeagueRecord:
    lid, name, game, spec_json, created, finished = row
    return LeagueRecord(lid, name, game, LeagueSpec.model_validate_json(spec_json), created,
                        finished)


def get_league(store: Store, name: str) -> LeagueRecord | None:
    """The league called `name`, or None."""
    row = store.conn.execute(f"SELECT {_COLUMNS} FROM leagues WHERE name = ?", (name,)).fetchone()
    return _row_to_league(row) if row else None


def list_leagues(store: Store) -> list[LeagueRecord]:
    """Every stored league, oldest first."""
    return [_row_to_league(r)
            for r in store.conn.execute(f"SELECT {_COLUMNS} FROM leagues ORDER BY id")]


def require_league(store: Store, name: str) -> LeagueRecord:
    """The league called `name`; UserError naming the known ones if there is none."""
    return require_named(get_league(store, name), name, "league", store,
                         (lg.name for lg in list_leagues(store)))


def open_league(store: Store, spec: LeagueSpec, source: str) -> LeagueRecord:
    """The stored league for `spec`, created with its references if new.

    A league of that name stored with different training or games is a
    UserError naming the first field that differs. `rounds`, `device` and
    `concurrency` may change; the stored spec takes the new values.
    """
    record = get_league(store, spec.name)
    spec_json = spec.model_dump_json(by_alias=True)
    if record is not None:
        differs = first_difference(record.spec.league_fields(), spec.league_fields(),
                                   LEAGUE_FIELDS)
        if differs is not None:
            raise UserError(f"{source}: league '{spec.name}' is already stored with different "
                            f"settings ({differs}); rename the league to start a new one")
        with store.transaction() as conn:
            conn.execute("UPDATE leagues SET spec = ?, finished_at = CASE WHEN ? THEN NULL "
                         "ELSE finished_at END WHERE id = ?",
                         (spec_json, int(spec.rounds > record.spec.rounds), record.id))
        return require_league(store, spec.name)
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO leagues (name, game, spec, fingerprint, created_at) VALUES (?, ?, ?, ?, ?)",
            (spec.name, spec.game, spec_json, spec.fingerprint(), time.time()))
        lid = cursor.lastrowid
        conn.executemany(
            "INSERT INTO league_players (league_id, name, kind, agent, created_at) "
            "VALUES (?, ?, 'reference', ?, ?)",
            [(lid, r.name, r.agent, time.time()) for r in spec.references])
    return require_league(store, spec.name)


def players(store: Store, lid: int) -> list[Player]:
    """References first (in spec order), then snapshots in the order they were frozen."""
    rows = store.conn.execute(
        "SELECT name, kind, agent, learner, round, steps FROM league_players WHERE league_id = ? "
        "ORDER BY kind = 'snapshot', created_at, rowid", (lid,))
    return [Player(*r) for r in rows]


def add_snapshot(store: Store, lid: int, snapshot: Player, games: list[LeagueGame]) -> None:
    """Register a frozen snapshot together with its planned evaluation games (one transaction)."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO league_players (league_id, name, kind, agent, learner, round, steps, "
            "created_at) VALUES (?, ?, 'snapshot', ?, ?, ?, ?, ?)",
            (lid, snapshot.name, snapshot.agent, snapshot.learner, snapshot.round, snapshot.steps,
             time.time()))
        (start,) = conn.execute("SELECT COALESCE(MAX(ordinal) + 1, 0) FROM league_games "
                                "WHERE league_id = ?", (lid,)).fetchone()
        conn.executemany(
            "INSERT INTO league_games (league_id, game_key, ordinal, round, seats, seed, status) "
            "VALUES (?, ?, ?, ?, ?, ?, 'planned')",
            [(lid, g.key, start + i, g.round, json.dumps(g.seats), g.seed)
             for i, g in enumerate(games)])


def games(store: Store, lid: int, status: str | None = None,
          round: int | None = None) -> list[LeagueGame]:
    """Planned games in order of play (only those with `status` / in `round`, if given)."""
    rows = game_rows(store, "league_games", "league_id", lid,
                     "game_key, ordinal, round, seats, seed, status, match_id, attempts",
                     status=status, round=round)
    return [LeagueGame(k, o, r, json.loads(s), seed, st, m, a)
            for k, o, r, s, seed, st, m, a in rows]


def mark_done(conn: sqlite3.Connection, lid: int, key: str, match_id: int) -> None:
    """Inside the transaction that stored the match: its planned game is done."""
    cursor = conn.execute(
        "UPDATE league_games SET status = 'done', match_id = ?, finished_at = ? "
        "WHERE league_id = ? AND game_key = ? AND status = 'planned'",
        (match_id, time.time(), lid, key))
    if cursor.rowcount != 1:
        raise RuntimeError(f"planned game {key} of league {lid} is not waiting to be played")


def void_attempt(store: Store, lid: int, key: str, attempts: int, reason: str,
                 final: bool) -> None:
    """Count a voided attempt; with `final`, the game is given up as void."""
    with store.transaction() as conn:
        conn.execute(
            "UPDATE league_games SET attempts = ?, note = ?, status = ?, finished_at = ? "
            "WHERE league_id = ? AND game_key = ? AND status = 'planned'",
            (attempts, reason, "void" if final else "planned", time.time() if final else None,
             lid, key))


def results(store: Store, lid: int) -> list[tuple[str, str, float, int]]:
    """Every done game as (seat 0, seat 1, score of seat 0, round), in order of play."""
    rows = store.conn.execute(
        "SELECT g.round, g.seats, a.outcome FROM league_games g "
        "JOIN match_agents a ON a.match_id = g.match_id AND a.player = 0 "
        "WHERE g.league_id = ? AND g.status = 'done' ORDER BY g.ordinal", (lid,))
    out = []
    for rnd, seats, outcome in rows:
        a, b = json.loads(seats)
        out.append((a, b, outcome_score(outcome), rnd))
    return out


def store_ratings(store: Store, lid: int, round: int, rows: list[RatingRow],
                  finished: bool) -> None:
    """The ratings after `round` (replacing any), and the league finished if it was the last."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM league_ratings WHERE league_id = ? AND round = ?", (lid, round))
        conn.executemany(
            "INSERT INTO league_ratings (league_id, round, player, elo, ci95, games) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(lid, round, r.player, r.elo, r.ci95, r.games) for r in rows])
        if finished:
            conn.execute("UPDATE leagues SET finished_at = ? WHERE id = ?", (time.time(), lid))


def rated_rounds(store: Store, lid: int) -> set[int]:
    """The rounds whose ratings are stored (finished rounds)."""
    return {r for (r,) in store.conn.execute(
        "SELECT DISTINCT round FROM league_ratings WHERE league_id = ?", (lid,))}


def ratings_history(store: Store, lid: int) -> list[RatingRow]:
    """Every stored rating, by round then player."""
    rows = store.conn.execute(
        "SELECT round, player, elo, ci95, games FROM league_ratings WHERE league_id = ? "
        "ORDER BY round, player", (lid,))
    return [RatingRow(*r) for r in rows]


def latest_ratings(store: Store, lid: int) -> dict[str, RatingRow]:
    """Each player's rating after the last rated round."""
    (last,) = store.conn.execute("SELECT MAX(round) FROM league_ratings WHERE league_id = ?",
                                 (lid,)).fetchone()
    if last is None:
        return {}
    return {r.player: r for r in ratings_history(store, lid) if r.round == last}


def status_counts(store: Store, lid: int) -> dict[str, int]:
    """Planned games per status."""
    return count_by_status(store, "league_games", "league_id", lid)
