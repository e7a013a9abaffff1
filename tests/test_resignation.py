"""A resignation is a loss by resignation, not a forfeit: stored, written to SGF and counted so.

Forfeits are faults (a crash, an illegal move, a timeout) and repeated crashes
withdraw a tournament participant; a resignation is neither.
"""

from __future__ import annotations

import json
import sqlite3

from conftest import FIXTURES, run_arena
from tournament_support import write_spec

from agents.random_agent import RandomAgent
from arena.config import load_settings
from agents.match import play_match
from tournaments.store import MIGRATIONS, SCHEMA, SCHEMA_VERSION, Store, StoreWriter
from games.go.sgf import read_sgf
from tournaments.recording import SgfWriter, match_sgf
from games.registry import resolve_game
from tournaments import records
from tournaments.runner import run_tournament
from tournaments.spec import load_spec

RESIGNER = FIXTURES / "resigning_agent.py"


def resigner(moves: int = 1, say: str = "") -> str:
    return f"{RESIGNER}:Resigner:moves={moves}" + (f",say={say}" if say else "")


def test_an_agent_that_resigns_loses_by_resignation_not_forfeit(tmp_path):
    from agents.registry import make_agent

    store = Store(tmp_path / "arena.db")
    result = play_match(resolve_game("tictactoe"), [make_agent(resigner(1)), RandomAgent()],
                        seed=4, observers=[StoreWriter(store)])
    assert result.end == "resignation" and result.resign_player == 0
    assert result.resign_reason == "resigned"
    assert result.forfeit_player is None and result.forfeit_reason is None
    assert result.winner == 1 and result.outcomes == ["loss", "win"]
    assert result.returns == [-1.0, 1.0] and len(result.moves) == 2  # X, O, then X resigned
    stored = store.get_match(result.match_id)
    assert stored.end == "resignation" and stored.resign_player == 0
    assert stored.forfeit_player is None and stored.forfeit_reason is None
    assert stored.winner == 1 and stored.outcomes == ["loss", "win"]
    # A fault is still a forfeit, and a game played out says so too.
    raiser = make_agent(f"{FIXTURES / 'faulty_agents.py'}:Raiser:bad_game=0")
    faulted = play_match(resolve_game("tictactoe"), [RandomAgent(), raiser], seed=4,
                         observers=[StoreWriter(store)])
    assert faulted.end == "forfeit" and faulted.forfeit_player == 1 and faulted.resign_player is None
    assert store.get_match(faulted.match_id).end == "forfeit"
    played = play_match(resolve_game("tictactoe"), [RandomAgent(), RandomAgent()], seed=4,
                        observers=[StoreWriter(store)])
    assert played.end == "played" and store.get_match(played.match_id).end == "played"
    store.close()


def test_sgf_of_a_resigned_game_says_W_plus_R(tmp_path):
    from agents.registry import make_agent

    game = resolve_game("go9")
    writer = SgfWriter(tmp_path / "sgf")
    store = Store(tmp_path / "arena.db")
    result = play_match(game, [make_agent(resigner(3, "hopeless")), RandomAgent()], seed=1,
                        observers=[StoreWriter(store), writer])
    assert result.resign_player == 0 and result.resign_reason == "hopeless"
    text = (tmp_path / "sgf" / f"{result.match_id}.sgf").read_text()
    assert "RE[W+R]" in text and "GC[" in text and "resigned: hopeless" in text
    assert read_sgf(tmp_path / "sgf" / f"{result.match_id}.sgf").result == "W+R"
    # White resigning: B+R; read back from the store, the same.
    result = play_match(game, [RandomAgent(), make_agent(resigner(2))], seed=1,
                        observers=[StoreWriter(store)])
    assert b"RE[B+R]" in match_sgf(result, game.new_state())
    from tournaments.export import stored_as_result

    again = stored_as_result(store.get_match(result.match_id))
    assert b"RE[B+R]" in match_sgf(again, game.new_state())
    store.close()


def test_arena_match_counts_resignations_apart_from_forfeits(config):
    proc = run_arena("match", "tictactoe", resigner(1), "random", "--games", "4", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    me, other = data["agents"]
    assert (me["resigned"], me["forfeits"], me["losses"], me["wins"]) == (4, 0, 4, 0)
    assert (other["resigned"], other["forfeits"], other["wins"]) == (0, 0, 4)
    assert data["forfeits"] == [] and len(data["resignations"]) == 4
    assert {r["agent"] for r in data["resignations"]} == {resigner(1)}
    # The table has a column for it.
    proc = run_arena("match", "tictactoe", resigner(1), "random", "--games", "2")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = next(line for line in lines if line.startswith("agent"))
    assert header.split() == ["agent", "games", "wins", "draws", "losses", "forfeits",
                              "resigned", "score"]
    mine = next(line for line in lines if line.startswith(resigner(1)))
    assert mine.split()[1:7] == ["2", "0", "0", "2", "0", "2"]
    assert sum(line.startswith("resignation in match") for line in lines) == 2
    assert not any(line.startswith("forfeit in match") for line in lines)
    # The stored game reads back as a resignation.
    replay = run_arena("replay", "1")
    assert "resigned" in replay.stdout and "forfeited" not in replay.stdout


def test_tournament_standings_count_resignations_and_never_withdraw_for_them(tmp_path, config):
    path = write_spec(tmp_path, name="resigns", game="tictactoe", format="round-robin",
                      games_per_pairing=4, withdraw_after=2,
                      participants=["random", {"name": "quitter", "agent": resigner(1)}])
    report = run_tournament(load_spec(path), load_settings(), source=str(path), concurrency=1)
    assert report.done == 4 and report.withdrawn == []  # four resignations, two allowed crashes
    store = Store(tmp_path / "data" / "arena.db")
    tid = records.require_tournament(store, "resigns").id
    played = records.played_games(store, tid)
    assert all(g.resign_player == g.seats.index("quitter") and g.forfeit_player is None
               for g in played)
    parts = {p.name: p for p in records.participants(store, tid)}
    assert parts["quitter"].status == "active" and parts["quitter"].strikes == 0
    notes = {n for (n,) in store.conn.execute("SELECT note FROM tournament_games")}
    assert notes == {"quitter resigned"}
    store.close()
    proc = run_arena("tournament", "show", "resigns", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    rows = {r["name"]: r for r in data["standings"]}
    assert (rows["quitter"]["resigned"], rows["quitter"]["forfeits"],
            rows["quitter"]["losses"]) == (4, 0, 4)
    assert (rows["random"]["resigned"], rows["random"]["wins"]) == (0, 4)
    assert data["forfeits"] == [] and len(data["resignations"]) == 4
    table = run_arena("tournament", "show", "resigns").stdout
    header = next(line for line in table.splitlines() if line.strip().startswith("rank"))
    assert "resigned" in header.split()
    quitter = next(line for line in table.splitlines() if " quitter " in line)
    cols = header.split()
    assert quitter.split()[cols.index("resigned")] == "4"
    assert quitter.split()[cols.index("forf")] == "0"
    # The terminal app's standings table shows the same counts (forfeits/resignations).
    from arena.tui.widgets.standings import TWO_PLAYER_COLUMNS, standings_rows

    shown = {r[1]: r for r in standings_rows(data)}
    assert shown["quitter"][TWO_PLAYER_COLUMNS.index("forf/res")] == "0/4"


def test_an_old_store_opens_and_its_resignations_become_resignations(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA + MIGRATIONS[2] + MIGRATIONS[3] + "PRAGMA user_version = 3;")
    rows = [(1, "a", "resigned"), (2, "b", "raised RuntimeError: boom"), (3, "c", None)]
    for mid, uid, reason in rows:
        conn.execute("INSERT INTO matches (id, uid, game, seed, started_at, duration_s, status, "
                     "plies, winner, truncated, forfeit_player, forfeit_reason) "
                     "VALUES (?, ?, 'tictactoe', 0, 0, 0, 'finished', 3, 1, 0, ?, ?)",
                     (mid, uid, 0 if reason else None, reason))
        for player, outcome in ((0, "loss"), (1, "win")):
            conn.execute("INSERT INTO match_agents VALUES (?, ?, ?, 0, ?, ?)",
                         (mid, player, f"p{player}", -1.0 if player == 0 else 1.0, outcome))
    conn.commit()
    conn.close()
    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    resigned, faulted, played = (store.get_match(i) for i in (1, 2, 3))
    assert (resigned.end, resigned.resign_player, resigned.forfeit_player) == ("resignation", 0, None)
    assert resigned.resign_reason == "resigned" and resigned.forfeit_reason is None
    assert (faulted.end, faulted.forfeit_player, faulted.resign_player) == ("forfeit", 0, None)
    assert faulted.forfeit_reason == "raised RuntimeError: boom"
    assert (played.end, played.forfeit_player, played.resign_player) == ("played", None, None)
    store.close()
    # Opening it again (already migrated) changes nothing, and new games record as before.
    store = Store(path)
    assert store.get_match(1).end == "resignation" and store.count() == 3
    store.close()


def test_two_stores_opening_an_old_file_at_once_migrate_it_once(tmp_path):
    import threading

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA + MIGRATIONS[2] + MIGRATIONS[3] + "PRAGMA user_version = 3;")
    conn.close()
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            Store(path).close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    columns = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(matches)")]
    assert columns.count("ending") == 1


def test_the_window_reports_a_resignation_in_words():
    from agents.match import MatchResult
    from arena.window.session import describe

    result = MatchResult(uid="u", game="go5", agents=["a", "b"], seed=0, agent_seeds=[0, 0],
                         returns=[1.0, -1.0], outcomes=["win", "loss"], moves=[], started_at=0,
                         duration_s=0, winner=0, end="resignation", resign_player=1,
                         resign_reason="resigned")
    assert describe(result, ["a", "b"], ["Black", "White"]) == "b (White) resigns; a (Black) wins"
