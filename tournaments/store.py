"""The store: every match Arena plays, in one SQLite file.

WAL mode, so readers (the TUI, `arena replay`) never block the writer. A match
is written in one transaction: it is either fully recorded or not at all.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from games.errors import UserError
from agents.match import Event, MatchEnded, MatchResult

SCHEMA_VERSION = 4

SCHEMA = """
CREATE TABLE IF NOT EXISTS matches (
    id             INTEGER PRIMARY KEY,
    uid            TEXT NOT NULL UNIQUE,
    game           TEXT NOT NULL,
    seed           INTEGER NOT NULL,
    started_at     REAL NOT NULL,
    duration_s     REAL NOT NULL,
    status         TEXT NOT NULL,          -- finished | abandoned
    plies          INTEGER NOT NULL,
    winner         INTEGER,                -- player index; NULL for a draw or one player
    truncated      INTEGER NOT NULL,       -- 1 if the move cap stopped it
    forfeit_player INTEGER,
    forfeit_reason TEXT,
    tag            TEXT                    -- what the match was part of (a tournament...)
);
CREATE TABLE IF NOT EXISTS match_agents (
    match_id   INTEGER NOT NULL REFERENCES matches(id) ON DELETE CASCADE,
    player     INTEGER NOT NULL,           -- 0 moves first
    agent      TEXT NOT NULL,              -- the agent reference
    agent_seed INTEGER NOT NULL,
    return     REAL NOT NULL,
    outcome    TEXT NOT NULL,              -- win | loss | draw | done | truncated | forfeit | resigned | abandoned
    PRIMARY KEY (match_id, player)
);
CREATE TABLE IF NOT EXISTS moves (
    match_id INTEGER NOT NULL REFERENCES matches(id) ON DELETE CASCADE,
    ply      INTEGER NOT NULL,
    player   INTEGER NOT NULL,
    action   TEXT NOT NULL,                -- JSON
    label    TEXT NOT NULL,
    think_ms REAL NOT NULL,
    PRIMARY KEY (match_id, ply)
);
CREATE INDEX IF NOT EXISTS matches_by_tag ON matches(tag);
CREATE INDEX IF NOT EXISTS agents_by_name ON match_agents(agent);
"""

# Schema 2: tournaments (tournaments/records.py reads and writes them). A planned
# game is a row of tournament_games; the transaction that records its match also
# marks it done, so a resumed tournament knows exactly which games remain.
TOURNAMENT_SCHEMA = """
CREATE TABLE IF NOT EXISTS tournaments (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    game        TEXT NOT NULL,
    format      TEXT NOT NULL,
    spec        TEXT NOT NULL,             -- the effective spec as JSON
    fingerprint TEXT NOT NULL,             -- sha256 of what fixes the schedule and the games
    created_at  REAL NOT NULL,
    finished_at REAL,
    note        TEXT                       -- e.g. why it stopped early (SPRT)
);
CREATE TABLE IF NOT EXISTS tournament_participants (
    tournament_id INTEGER NOT NULL REFERENCES tournaments(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,           -- the name in the tournament (and in match_agents)
    agent         TEXT NOT NULL,           -- its agent reference
    position      INTEGER NOT NULL,        -- order in the spec
    status        TEXT NOT NULL,           -- active | withdrawn
    strikes       INTEGER NOT NULL DEFAULT 0,  -- crashes in a row
    note          TEXT,                    -- why it was withdrawn
    PRIMARY KEY (tournament_id, name)
);
CREATE TABLE IF NOT EXISTS tournament_games (
    tournament_id INTEGER NOT NULL REFERENCES tournaments(id) ON DELETE CASCADE,
    game_key      TEXT NOT NULL,           -- stable: round, game index, seats, seed
    ordinal       INTEGER NOT NULL,        -- order of play
    round         INTEGER NOT NULL,
    seats         TEXT NOT NULL,           -- JSON list of participant names, seat 0 moves first
    seed          INTEGER NOT NULL,
    status        TEXT NOT NULL,           -- planned | done | bye | skipped | void
    match_id      INTEGER UNIQUE REFERENCES matches(id),
    attempts      INTEGER NOT NULL DEFAULT 0,  -- voided attempts (harness errors)
    note          TEXT,                    -- why it was voided, skipped or forfeited
    finished_at   REAL,
    PRIMARY KEY (tournament_id, game_key),
    UNIQUE (tournament_id, ordinal)
);
"""

# Schema 3: leagues (tournaments/league/records.py reads and writes them). A league
# trains its learners round by round, freezes snapshots, plays planned evaluation
# games (marked done in the transaction that records their match, as tournaments
# do) and stores everyone's ratings after each round.
LEAGUE_SCHEMA = """
CREATE TABLE IF NOT EXISTS leagues (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    game        TEXT NOT NULL,
    spec        TEXT NOT NULL,             -- the effective spec as JSON
    fingerprint TEXT NOT NULL,             -- sha256 of what fixes training and the games
    created_at  REAL NOT NULL,
    finished_at REAL                       -- when its last round was rated
);
CREATE TABLE IF NOT EXISTS league_players (
    league_id  INTEGER NOT NULL REFERENCES leagues(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,              -- the name in match_agents: a snapshot or a reference
    kind       TEXT NOT NULL,              -- snapshot | reference
    agent      TEXT NOT NULL,              -- its agent reference (a snapshot: its checkpoint dir)
    learner    TEXT,                       -- a snapshot's main learner
    round      INTEGER,                    -- the round that froze a snapshot
    steps      INTEGER,                    -- the learner's training steps at the freeze
    created_at REAL NOT NULL,
    PRIMARY KEY (league_id, name)
);
CREATE TABLE IF NOT EXISTS league_games (
    league_id   INTEGER NOT NULL REFERENCES leagues(id) ON DELETE CASCADE,
    game_key    TEXT NOT NULL,             -- stable: round, snapshot, game index, seed
    ordinal     INTEGER NOT NULL,          -- order of play
    round       INTEGER NOT NULL,
    seats       TEXT NOT NULL,             -- JSON list of player names, seat 0 moves first
    seed        INTEGER NOT NULL,
    status      TEXT NOT NULL,             -- planned | done | void
    match_id    INTEGER UNIQUE REFERENCES matches(id),
    attempts    INTEGER NOT NULL DEFAULT 0,
    note        TEXT,
    finished_at REAL,
    PRIMARY KEY (league_id, game_key),
    UNIQUE (league_id, ordinal)
);
CREATE TABLE IF NOT EXISTS league_ratings (
    league_id INTEGER NOT NULL REFERENCES leagues(id) ON DELETE CASCADE,
    round     INTEGER NOT NULL,            -- ratings after this round's games
    player    TEXT NOT NULL,
    elo       REAL NOT NULL,
    ci95      REAL NOT NULL,
    games     INTEGER NOT NULL,
    PRIMARY KEY (league_id, round, player)
);
"""

# Schema 4: how a game ended, so that a resignation is a loss by resignation and
# not a forfeit (a fault). Stores written before it recorded a resignation as a
# forfeit with the reason "resigned"; those become resignations here.
ENDINGS_SCHEMA = """
ALTER TABLE matches ADD COLUMN ending TEXT NOT NULL DEFAULT 'played';  -- played | resignation | forfeit | abandoned
ALTER TABLE matches ADD COLUMN resign_player INTEGER;                  -- who resigned
ALTER TABLE matches ADD COLUMN resign_reason TEXT;                     -- what they said
UPDATE matches SET ending = 'abandoned' WHERE status = 'abandoned';
UPDATE matches SET ending = 'forfeit' WHERE status != 'abandoned' AND forfeit_player IS NOT NULL;
UPDATE matches SET ending = 'resignation', resign_player = forfeit_player,
    resign_reason = forfeit_reason, forfeit_player = NULL, forfeit_reason = NULL
    WHERE ending = 'forfeit' AND forfeit_reason = 'resigned';
UPDATE match_agents SET outcome = 'resigned' WHERE outcome = 'forfeit' AND match_id IN
    (SELECT id FROM matches WHERE ending = 'resignation');
"""

#: version -> the script that brings a store of the version before it up to it.
MIGRATIONS: dict[int, str] = {2: TOURNAMENT_SCHEMA, 3: LEAGUE_SCHEMA, 4: ENDINGS_SCHEMA}


def _statements(script: str) -> list[str]:
    """The SQL statements of `script`, one by one (sqlite3's execute runs only one)."""
    out, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            out.append(pending.strip())
            pending = ""
    if pending.strip():
        out.append(pending.strip())
    return out


def _json_action(action: Any) -> str:
    if hasattr(action, "tolist"):
        action = action.tolist()
    return json.dumps(action)


@dataclass
class StoredMatch:
    """A match read back from the store."""

    id: int
    uid: str
    game: str
    seed: int
    started_at: float
    duration_s: float
    status: str
    plies: int
    winner: int | None
    truncated: bool
    forfeit_player: int | None
    forfeit_reason: str | None
    tag: str | None
    agents: list[str]
    returns: list[float]
    outcomes: list[str]
    moves: list[tuple[int, Any, str, float]]  # (player, action, label, think_ms)
    end: str = "played"  # played | resignation | forfeit | abandoned (MatchResult.end)
    resign_player: int | None = None
    resign_reason: str | None = None


class StoreError(UserError):
    """The store cannot be opened or written (disk full, not a directory, ...): one line."""


def _failure(exc: BaseException) -> bool:
    """True for SQLite's error of the file or the disk under the store (full, I/O, locked,
    read-only, not a database), not one of Arena's own SQL (a constraint, a misuse)."""
    if isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError,
                        sqlite3.InterfaceError)):
        return False
    return isinstance(exc, sqlite3.DatabaseError)


def store_error(path: Path, exc: BaseException, doing: str = "write") -> StoreError:
    """"cannot write the store at PATH: disk full" and the like, for a failure `exc`."""
    import errno

    text = str(exc)
    if (getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL" or "disk is full" in text
            or getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT)):
        reason = "disk full"
    elif getattr(exc, "sqlite_errorname", "") in ("SQLITE_IOERR_WRITE", "SQLITE_IOERR_SHMSIZE",
                                                   "SQLITE_IOERR_TRUNCATE", "SQLITE_IOERR_FSYNC"):
        reason = f"{text} while writing (is the disk full?)"  # EFBIG, EIO: not ENOSPC itself
    elif isinstance(exc, (FileExistsError, NotADirectoryError)) and exc.filename:
        reason = f"'{exc.filename}' is not a directory"  # mkdir of a data_dir that is a file
    elif isinstance(exc, OSError):
        reason = exc.strerror or text
    else:
        reason = text or type(exc).__name__
    return StoreError(f"cannot {doing} the store at {path}: {reason}")


class Store:
    """One SQLite database of matches.

    A failure of the file or the disk (disk full, a data_dir that is a file, no
    permission, not an SQLite file) is a StoreError, a UserError of one line;
    a transaction that fails is rolled back, so the store stays as it was.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.is_dir():
                raise IsADirectoryError(21, "is a directory")
            self.conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise store_error(self.path, exc, "open") from None
        try:
            self._open()
        except BaseException as exc:
            self.conn.close()
            if _failure(exc):
                raise store_error(self.path, exc, "open") from None
            raise

    def _open(self) -> None:
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        # The version is read inside the write lock, so two processes opening an
        # old store at once migrate it once (ALTER TABLE cannot run twice).
        with self.transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                from games.errors import UserError

                raise UserError(f"store '{self.path}' was written by a newer Arena "
                                f"(schema {version}, this one reads {SCHEMA_VERSION})")
            if version < SCHEMA_VERSION:
                # A new file gets every migration too: they are its schema's later parts.
                migrations = "".join(MIGRATIONS[v]
                                     for v in range(max(version, 1) + 1, SCHEMA_VERSION + 1))
                for statement in _statements(SCHEMA + migrations):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error.

        A failure of the file or the disk (at BEGIN, inside, or at COMMIT) is a
        StoreError naming the store; the transaction is rolled back first.
        """
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            if _failure(exc):
                raise store_error(self.path, exc) from None
            raise
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException as exc:
            self._rollback()
            if _failure(exc):
                raise store_error(self.path, exc) from None
            raise

    def _rollback(self) -> None:
        """ROLLBACK if a transaction is open (SQLite may have rolled back a failed one itself)."""
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def close(self) -> None:
        self.conn.close()

    def record(self, result: MatchResult,
               then: Callable[[sqlite3.Connection, int], None] | None = None) -> int:
        """Write a match with its agents and moves in one transaction; its id.

        `then(conn, match_id)`, if given, runs inside that same transaction (a
        tournament marks its planned game done there): both happen or neither.
        """
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO matches (uid, game, seed, started_at, duration_s, status, plies, "
                "winner, truncated, forfeit_player, forfeit_reason, tag, ending, resign_player, "
                "resign_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (result.uid, result.game, result.seed, result.started_at, result.duration_s,
                 result.status, result.plies, result.winner, int(result.truncated),
                 result.forfeit_player, result.forfeit_reason, result.tag, result.end,
                 result.resign_player, result.resign_reason),
            )
            match_id = cursor.lastrowid
            conn.executemany(
                "INSERT INTO match_agents (match_id, player, agent, agent_seed, return, outcome) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(match_id, i, name, result.agent_seeds[i], result.returns[i], result.outcomes[i])
                 for i, name in enumerate(result.agents)],
            )
            conn.executemany(
                "INSERT INTO moves (match_id, ply, player, action, label, think_ms) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(match_id, m.ply, m.player, _json_action(m.action), m.label, m.think_s * 1000.0)
                 for m in result.moves],
            )
            if then is not None:
                then(conn, match_id)
        result.match_id = match_id
        return match_id

    def get_match(self, match_id: int) -> StoredMatch | None:
        """The match with this id, or None."""
        row = self.conn.execute(
            "SELECT id, uid, game, seed, started_at, duration_s, status, plies, winner, truncated, "
            "forfeit_player, forfeit_reason, tag, ending, resign_player, resign_reason "
            "FROM matches WHERE id = ?", (match_id,)
        ).fetchone()
        if row is None:
            return None
        seats = self.conn.execute(
            "SELECT agent, return, outcome FROM match_agents WHERE match_id = ? ORDER BY player",
            (match_id,),
        ).fetchall()
        moves = self.conn.execute(
            "SELECT player, action, label, think_ms FROM moves WHERE match_id = ? ORDER BY ply",
            (match_id,),
        ).fetchall()
        return StoredMatch(
            *row[:9], bool(row[9]), *row[10:13],
            agents=[s[0] for s in seats], returns=[s[1] for s in seats],
            outcomes=[s[2] for s in seats],
            moves=[(p, json.loads(a), label, ms) for p, a, label, ms in moves],
            end=row[13], resign_player=row[14], resign_reason=row[15],
        )

    def match_ids(self, tag: str | None = None, limit: int | None = None) -> list[int]:
        """Ids of stored matches, newest first (only those with `tag`, if given)."""
        sql = "SELECT id FROM matches"
        args: list[Any] = []
        if tag is not None:
            sql += " WHERE tag = ?"
            args.append(tag)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [r[0] for r in self.conn.execute(sql, args)]

    def count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM matches").fetchone()[0]


class StoreWriter:
    """Observer that records every ended match (abandoned ones too), under `tag` if given."""

    wants_moves = False

    def __init__(self, store: Store, tag: str | None = None):
        self.store = store
        self.tag = tag

    def on_event(self, event: Event) -> None:
        if isinstance(event, MatchEnded):
            if self.tag is not None:
                event.result.tag = self.tag
            self.store.record(event.result)
