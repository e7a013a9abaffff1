"""The store's tournament tables: tournaments, their participants and planned games.

The tables themselves are defined in tournaments/store.py (schema 2). A planned
game moves from ``planned`` to one of:

- ``done``: played; its match is in the store (the same transaction wrote both);
- ``bye``: a swiss bye, no game;
- ``skipped``: not played because a participant was withdrawn or the SPRT stopped the match;
- ``void``: the harness failed on it `max_attempts` times in a row.

A game whose attempt the harness voided stays ``planned`` with ``attempts``
counted, and is played again.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from games.errors import UserError
from tournaments.schedule import PlannedGame, plan_games, plan_swiss_round
from tournaments.spec import SCHEDULE_FIELDS, TournamentSpec
from tournaments.store import Store

T = TypeVar("T")

FINAL_STATUSES = ("done", "bye", "skipped", "void")

# -- what the tournament and league tables share (tournaments/league/records.py imports it) --


class Tagged:
    """A stored tournament or league, whose matches carry the tag ``<TAG>:<name>``."""

    TAG: ClassVar[str]
    name: str

    @property
    def tag(self) -> str:
        """The tag of its matches in the store's matches table."""
        return f"{self.TAG}:{self.name}"


@dataclass
class StoredGame:
    """A planned game as stored (tournament_games, league_games)."""

    key: str
    ordinal: int
    round: int
    seats: list[str]
    seed: int
    status: str
    match_id: int | None
    attempts: int


def require_named(record: T | None, name: str, what: str, store: Store,
                  known: Iterable[str]) -> T:
    """`record`; if it is None, a UserError naming the `known` ones instead."""
    if record is None:
        names = ", ".join(known) or "none yet"
        raise UserError(f"no {what} named '{name}' in {store.path} (known: {names})")
    return record


def first_difference(old: dict[str, Any], new: dict[str, Any],
                     fields: Iterable[str]) -> str | None:
    """"field 'F' was OLD, now NEW" for the first of `fields` that differs, or None."""
    for name in fields:
        if old[name] != new[name]:
            return f"field '{name}' was {json.dumps(old[name])}, now {json.dumps(new[name])}"
    return None


def count_by_status(store: Store, table: str, owner_column: str, owner: int) -> dict[str, int]:
    """How many rows of `table` belonging to `owner` there are per status."""
    rows = store.conn.execute(f"SELECT status, COUNT(*) FROM {table} "
                              f"WHERE {owner_column} = ? GROUP BY status", (owner,))
    return dict(rows.fetchall())


def game_rows(store: Store, table: str, owner_column: str, owner: int, columns: str,
              status: str | None = None, round: int | None = None) -> list[tuple]:
    """`columns` of `owner`'s games in `table`, in order of play (with `status` / in `round`)."""
    sql = f"SELECT {columns} FROM {table} WHERE {owner_column} = ?"
    args: list[Any] = [owner]
    if status is not None:
        sql += " AND status = ?"
        args.append(status)
    if round is not None:
        sql += " AND round = ?"
        args.append(round)
    return store.conn.execute(sql + " ORDER BY ordinal", args).fetchall()


def outcome_score(outcome: str) -> float:
    """Points for an outcome: 1 a win, 1/2 a draw, 0 a loss."""
    return 1.0 if outcome == "win" else 0.5 if outcome == "draw" else 0.0


# -- tournaments -----------------------------------------------------------------------------


@dataclass
class TournamentRecord(Tagged):
    """A stored tournament."""

    TAG: ClassVar[str] = "tournament"
    id: int
    name: str
    game: str
    format: str
    spec: TournamentSpec
    created_at: float
    finished_at: float | None
    note: str | None


@dataclass
class GameRow(StoredGame):
    """A planned game as stored, with what was said about it."""

    note: str | None


@dataclass
class ParticipantRow:
    """A participant as stored."""

    name: str
    agent: str
    position: int
    status: str  # active | withdrawn
    strikes: int  # crashes in a row
    note: str | None


def _row_to_tournament(row: tuple) -> TournamentRecord:
    tid, name, game, fmt, spec_json, created, finished, note = row
    return TournamentRecord(tid, name, game, fmt, TournamentSpec.model_validate_json(spec_json),
                            created, finished, note)


_TOURNAMENT_COLUMNS = "id, name, game, format, spec, created_at, finished_at, note"


def get_tournament(store: Store, name: str) -> TournamentRecord | None:
    """The tournament called `name`, or None."""
    row = store.conn.execute(f"SELECT {_TOURNAMENT_COLUMNS} FROM tournaments WHERE name = ?",
                             (name,)).fetchone()
    return _row_to_tournament(row) if row else None


def list_tournaments(store: Store) -> list[TournamentRecord]:
    """Every stored tournament, oldest first."""
    rows = store.conn.execute(f"SELECT {_TOURNAMENT_COLUMNS} FROM tournaments ORDER BY id")
    return [_row_to_tournament(r) for r in rows]


def require_tournament(store: Store, name: str) -> TournamentRecord:
    """The tournament called `name`; UserError naming the known ones if there is none."""
    return require_named(get_tournament(store, name), name, "tournament", store,
                         (t.name for t in list_tournaments(store)))


def _spec_json(spec: TournamentSpec) -> str:
    return spec.model_dump_json()


def _difference(stored: TournamentSpec, spec: TournamentSpec) -> str:
    return (first_difference(stored.schedule_fields(), spec.schedule_fields(), SCHEDULE_FIELDS)
            or "the spec differs")


def open_tournament(store: Store, spec: TournamentSpec, source: str) -> TournamentRecord:
    """The stored tournament for `spec`, created (with its first games planned) if new.

    A tournament of that name stored with a different schedule (other
    participants, games, clock, seed, ...) is a UserError naming the field:
    resuming it would mix two tournaments. The other fields (concurrency,
    anchor, ...) are taken from `spec` and stored.
    """
    existing = get_tournament(store, spec.name)
    if existing is not None:
        if existing.spec.fingerprint() != spec.fingerprint():
            raise UserError(f"{source}: tournament '{spec.name}' is already stored with a different "
                            f"spec ({_difference(existing.spec, spec)}); restore the spec to "
                            f"resume it, or give this one another name")
        if existing.spec != spec:
            with store.transaction() as conn:
                conn.execute("UPDATE tournaments SET spec = ? WHERE id = ?",
                             (_spec_json(spec), existing.id))
            existing.spec = spec
        return existing
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO tournaments (name, game, format, spec, fingerprint, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (spec.name, spec.game, spec.format, _spec_json(spec), spec.fingerprint(), time.time()),
        )
        tid = cursor.lastrowid
        conn.executemany(
            "INSERT INTO tournament_participants (tournament_id, name, agent, position, status) "
            "VALUES (?, ?, ?, ?, 'active')",
            [(tid, p.name, p.agent, i) for i, p in enumerate(spec.participants)],
        )
        if spec.format == "swiss":
            first = plan_swiss_round(spec, 0, {}, set(), set(), spec.names)
        else:
            first = plan_games(spec)
        _insert_games(conn, tid, first)
    record = get_tournament(store, spec.name)
    assert record is not None
    return record


def _insert_games(conn: sqlite3.Connection, tid: int, games: list[PlannedGame]) -> None:
    start = conn.execute("SELECT COALESCE(MAX(ordinal) + 1, 0) FROM tournament_games "
                         "WHERE tournament_id = ?", (tid,)).fetchone()[0]
    now = time.time()
    conn.executemany(
        "INSERT INTO tournament_games (tournament_id, game_key, ordinal, round, seats, seed, "
        "status, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(tid, g.key, start + i, g.round, json.dumps(list(g.seats)), g.seed,
          "bye" if g.bye else "planned", now if g.bye else None)
         for i, g in enumerate(games)],
    )


def add_round(store: Store, tid: int, games: list[PlannedGame]) -> None:
    """Plan a swiss round's games (and bye) in one transaction."""
    with store.transaction() as conn:
        _insert_games(conn, tid, games)


def games(store: Store, tid: int, status: str | None = None) -> list[GameRow]:
    """The tournament's planned games in order of play (only those with `status`, if given)."""
    rows = game_rows(store, "tournament_games", "tournament_id", tid,
                     "game_key, ordinal, round, seats, seed, status, match_id, attempts, note",
                     status=status)
    return [GameRow(k, o, r, json.loads(s), seed, st, m, a, n)
            for k, o, r, s, seed, st, m, a, n in rows]


def status_counts(store: Store, tid: int) -> dict[str, int]:
    """Planned games per status (byes included)."""
    return count_by_status(store, "tournament_games", "tournament_id", tid)


def participants(store: Store, tid: int) -> list[ParticipantRow]:
    """The tournament's participants in spec order."""
    rows = store.conn.execute(
        "SELECT name, agent, position, status, strikes, note FROM tournament_participants "
        "WHERE tournament_id = ? ORDER BY position", (tid,)).fetchall()
    return [ParticipantRow(*r) for r in rows]


def mark_done(conn: sqlite3.Connection, tid: int, key: str, match_id: int,
              note: str | None) -> None:
    """Inside the transaction that stored `match_id`: its planned game is done.

    Raises RuntimeError (rolling the match back) if the game is not planned:
    a game is never recorded twice.
    """
    cursor = conn.execute(
        # A voided attempt's reason stays unless the game itself has something to say.
        "UPDATE tournament_games SET status = 'done', match_id = ?, note = COALESCE(?, note), "
        "finished_at = ? "
        "WHERE tournament_id = ? AND game_key = ? AND status = 'planned'",
        (match_id, note, time.time(), tid, key))
    if cursor.rowcount != 1:
        raise RuntimeError(f"planned game {key} of tournament {tid} is not waiting to be played")


def void_attempt(conn: sqlite3.Connection, tid: int, key: str, attempts: int, reason: str,
                 final: bool) -> None:
    """Count a voided attempt; with `final`, the game is given up as void."""
    conn.execute(
        "UPDATE tournament_games SET attempts = ?, note = ?, status = ?, finished_at = ? "
        "WHERE tournament_id = ? AND game_key = ? AND status = 'planned'",
        (attempts, reason, "void" if final else "planned", time.time() if final else None,
         tid, key))


def set_strikes(conn: sqlite3.Connection, tid: int, name: str, strikes: int) -> None:
    """A participant's count of crashes in a row."""
    conn.execute("UPDATE tournament_participants SET strikes = ? "
                 "WHERE tournament_id = ? AND name = ?", (strikes, tid, name))


def withdraw(conn: sqlite3.Connection, tid: int, name: str, note: str,
             keep: set[str]) -> int:
    """Withdraw a participant; its planned games, except those in `keep`, are skipped.

    `keep` holds the keys of games already being played: they are recorded when
    they end. Returns how many games were skipped.
    """
    conn.execute("UPDATE tournament_participants SET status = 'withdrawn', note = ? "
                 "WHERE tournament_id = ? AND name = ?", (note, tid, name))
    rows = conn.execute("SELECT game_key, seats FROM tournament_games "
                        "WHERE tournament_id = ? AND status = 'planned'", (tid,)).fetchall()
    skipped = [k for k, seats in rows if name in json.loads(seats) and k not in keep]
    conn.executemany(
        "UPDATE tournament_games SET status = 'skipped', note = ?, finished_at = ? "
        "WHERE tournament_id = ? AND game_key = ?",
        [(f"skipped: {name} was withdrawn", time.time(), tid, k) for k in skipped])
    return len(skipped)


def skip_game(store: Store, tid: int, key: str, note: str) -> None:
    """Skip one planned game (a participant in it was withdrawn)."""
    with store.transaction() as conn:
        conn.execute("UPDATE tournament_games SET status = 'skipped', note = ?, finished_at = ? "
                     "WHERE tournament_id = ? AND game_key = ? AND status = 'planned'",
                     (note, time.time(), tid, key))


def finish(store: Store, tid: int, note: str | None = None) -> None:
    """Mark the tournament finished; with `note`, skip every game still planned (an early stop)."""
    with store.transaction() as conn:
        if note is not None:
            conn.execute("UPDATE tournament_games SET status = 'skipped', note = ?, "
                         "finished_at = ? WHERE tournament_id = ? AND status = 'planned'",
                         (f"skipped: {note}", time.time(), tid))
        conn.execute("UPDATE tournaments SET finished_at = COALESCE(finished_at, ?), "
                     "note = COALESCE(?, note) WHERE id = ?", (time.time(), note, tid))


@dataclass
class PlayedGame:
    """A done game with its result, for standings and ratings (in order of completion)."""

    key: str
    round: int
    match_id: int
    seats: list[str]
    returns: list[float]
    outcomes: list[str]
    forfeit_player: int | None
    forfeit_reason: str | None
    finished_at: float
    resign_player: int | None = None  # who resigned, when the game ended so

    def score(self, seat: int) -> float:
        """Points for the participant in `seat`: 1 a win, 1/2 a draw, 0 a loss."""
        return outcome_score(self.outcomes[seat])


def played_games(store: Store, tid: int) -> list[PlayedGame]:
    """Every done game of the tournament with its result, in the order they were stored."""
    rows = store.conn.execute(
        "SELECT g.game_key, g.round, g.match_id, g.seats, m.forfeit_player, m.forfeit_reason, "
        "g.finished_at, a.return, a.outcome, m.resign_player FROM tournament_games g "
        "JOIN matches m ON m.id = g.match_id JOIN match_agents a ON a.match_id = g.match_id "
        "WHERE g.tournament_id = ? AND g.status = 'done' ORDER BY g.match_id, a.player", (tid,))
    out: list[PlayedGame] = []
    for key, rnd, match_id, seats, fp, reason, finished, ret, outcome, resigned in rows:
        if not out or out[-1].match_id != match_id:
            out.append(PlayedGame(key, rnd, match_id, json.loads(seats), [], [], fp, reason,
                                  finished or 0.0, resigned))
        out[-1].returns.append(ret)
        out[-1].outcomes.append(outcome)
    return out
