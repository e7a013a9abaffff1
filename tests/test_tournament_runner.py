"""The tournament runner with real worker processes and a real SQLite store.

Every finished game is stored once, a second run resumes (here: finds nothing
left), agents' faults forfeit, harness faults void and replay, a participant
that keeps crashing is withdrawn, the lock refuses a second runner.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
from conftest import run_arena
from tournament_support import FAULTY, db_rows, fault, games_by_status, write_spec

from arena.config import load_settings
from games.errors import UserError
from tournaments.store import Store
from tournaments import records
from tournaments.lock import TournamentLock
from tournaments.runner import run_tournament
from tournaments.spec import load_spec
from tournaments.worker import GameJob, play_job


class Messages:
    """A Progress that keeps what it was told."""

    def __init__(self):
        self.lines, self.updates = [], []

    def begin(self, *args):
        pass

    def update(self, done, total, rate, eta, leader):
        self.updates.append((done, total, leader))

    def message(self, text):
        self.lines.append(text)

    def end(self):
        pass


def run(path, **kwargs):
    progress = kwargs.pop("progress", None) or Messages()
    report = run_tournament(load_spec(path), load_settings(), source=str(path),
                            progress=progress, **kwargs)
    return report, progress


def test_every_game_is_stored_once_and_a_second_run_plays_nothing(tmp_path, config):
    path = write_spec(tmp_path, name="rr", game="tictactoe", games_per_pairing=2, seed=7,
                      participants=["random", "greedy", {"name": "uct", "agent": "mcts:sims=20"}])
    report, progress = run(path, concurrency=2)
    assert (report.total, report.done, report.played_now, report.finished) == (6, 6, 6, True)
    db = tmp_path / "data" / "arena.db"
    keys = db_rows(db, "SELECT game_key, match_id, status FROM tournament_games")
    assert len(keys) == 6 and {s for _, _, s in keys} == {"done"}
    tagged = db_rows(db, "SELECT id FROM matches WHERE tag = 'tournament:rr'")
    assert sorted(m for _, m, _ in keys) == sorted(i for (i,) in tagged)
    # The stored match is the planned game: its seats and seed.
    for key, match_id, _ in keys:
        _, _, seats, seed = json.loads(key)
        assert db_rows(db, "SELECT seed FROM matches WHERE id = ?", match_id) == [(seed,)]
        assert [a for (a,) in db_rows(db, "SELECT agent FROM match_agents WHERE match_id = ? "
                                          "ORDER BY player", match_id)] == seats
    assert progress.updates[-1][:2] == (6, 6) and progress.updates[-1][2] is not None
    again, _ = run(path)
    assert (again.played_now, again.done) == (0, 6)
    assert len(db_rows(db, "SELECT id FROM matches")) == 6


def test_a_changed_spec_under_the_same_name_is_refused(tmp_path, config):
    path = write_spec(tmp_path, name="cup", game="tictactoe", games_per_pairing=1,
                      participants=["random", "greedy"])
    run(path, concurrency=1)
    # What does not change the games may change: it is stored for later runs and `show`.
    write_spec(tmp_path, name="cup", game="tictactoe", games_per_pairing=1, concurrency=2,
               anchor="random", participants=["random", "greedy"])
    assert run(path)[0].played_now == 0
    store = Store(tmp_path / "data" / "arena.db")
    assert records.require_tournament(store, "cup").spec.anchor == "random"
    store.close()
    write_spec(tmp_path, name="cup", game="tictactoe", games_per_pairing=2,
               participants=["random", "greedy"])
    with pytest.raises(UserError, match=r"already stored with a different spec \(field "
                                        r"'games_per_pairing' was 1, now 2\)"):
        run(path)


def test_the_lock_refuses_a_second_runner_with_one_line(tmp_path, config):
    path = write_spec(tmp_path, name="locked", game="tictactoe", games_per_pairing=1,
                      participants=["random", "greedy"])
    settings = load_settings()
    with TournamentLock(settings.data_dir, "locked"):
        proc = run_arena("tournament", "run", str(path))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    import os
    assert f"tournament 'locked' is already being run by pid {os.getpid()} on " in lines[0]
    assert "locked.lock" in lines[0]
    assert not (tmp_path / "data" / "arena.db").exists() or games_by_status(
        tmp_path / "data" / "arena.db", "locked") == {}


def test_agents_faults_are_forfeits_with_the_reason(tmp_path, config):
    path = write_spec(
        tmp_path, name="faults", game="tictactoe", format="gauntlet", games_per_pairing=2,
        time_per_move=0.3, withdraw_after=10,
        participants=["random",
                      {"name": "illegal", "agent": f"{FAULTY}:Illegal:bad_game=0"},
                      {"name": "sleeper", "agent": f"{FAULTY}:Sleeper:bad_game=0"},
                      {"name": "raiser", "agent": f"{FAULTY}:Raiser:bad_game=0"},
                      {"name": "no-start", "agent": fault("FailsToStart")}])
    start = time.perf_counter()
    report, _ = run(path, concurrency=2)
    assert time.perf_counter() - start < 60
    assert report.done == 8 and report.withdrawn == []
    store = Store(tmp_path / "data" / "arena.db")
    data = {g.key: g for g in records.played_games(store, 1)}
    reasons = {"illegal": "played illegal action", "sleeper": "exceeded the time per move (0.3 s)",
               "raiser": "raised RuntimeError: boom",
               "no-start": "failed to start: OSError: cannot open its model"}
    for g in data.values():
        if "illegal" in g.seats and g.seats.index("illegal") == 0:
            continue  # moving first, "Illegal" has no occupied point to play at its first move
        bad = g.seats[g.forfeit_player]
        assert reasons[bad] in g.forfeit_reason
        assert g.outcomes[g.forfeit_player] == "loss" and g.score(g.seats.index("random")) == 1
    store.close()


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _worker_of(pid: int) -> int:
    """The tournament worker that process `pid` (an agent's own process) plays for: the
    ancestor just below this process (or below its fork server)."""
    chain = []
    while pid not in (os.getpid(), 0, 1):
        chain.append(pid)
        pid = _ppid(pid)
    with open(f"/proc/{chain[-1]}/cmdline", "rb") as f:
        return chain[-2] if b"forkserver" in f.read() else chain[-1]


def test_a_worker_that_dies_voids_the_game_and_it_is_played_again(tmp_path, config):
    """A worker killed from outside mid-game (an agent's own death is its forfeit, below)."""
    marker = tmp_path / "die-once"
    marker.touch()
    pid_file = tmp_path / "die-once.pid"

    def kill_the_worker():
        deadline = time.monotonic() + 60
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.1)
        os.kill(_worker_of(int(pid_file.read_text())), signal.SIGKILL)

    killer = threading.Thread(target=kill_the_worker, daemon=True)
    killer.start()
    path = write_spec(tmp_path, name="dies", game="tictactoe", games_per_pairing=2,
                      participants=["random", "greedy",
                                    {"name": "dier", "agent": fault("WaitsOnMarker",
                                                                    marker=marker)}])
    report, progress = run(path, concurrency=2)
    killer.join(5)
    assert not marker.exists()
    assert (report.done, report.played_now, report.voided_now, report.void) == (6, 6, 1, 0)
    db = tmp_path / "data" / "arena.db"
    replayed = db_rows(db, "SELECT seats, attempts, note, match_id FROM tournament_games "
                           "WHERE attempts > 0")
    assert len(replayed) == 1
    seats, attempts, note, match_id = replayed[0]
    assert attempts == 1 and "dier" in json.loads(seats) and match_id is not None
    assert "was killed by SIGKILL during the game (in dier's code)" in note
    assert any("voided, playing it again" in line for line in progress.lines)
    assert len(db_rows(db, "SELECT id FROM matches")) == 6  # the void attempt stored nothing
    assert db_rows(db, "SELECT status, strikes FROM tournament_participants WHERE name = 'dier'"
                   ) == [("active", 0)]


def test_a_participant_that_keeps_crashing_is_withdrawn(tmp_path, config):
    path = write_spec(tmp_path, name="crashy", game="tictactoe", games_per_pairing=4,
                      participants=["random", "greedy",
                                    {"name": "crasher", "agent": fault("AlwaysRaises")}])
    report, progress = run(path, concurrency=2)
    assert report.withdrawn == ["crasher"]
    db = tmp_path / "data" / "arena.db"
    status = games_by_status(db, "crashy")
    # 3 crashes withdraw it; at most 3 more of its 8 games were already in flight (2 workers,
    # 2 games each), and those are played.
    assert status["done"] + status["skipped"] == 12 and status["skipped"] >= 2
    for seats, state, note in db_rows(db, "SELECT seats, status, note FROM tournament_games"):
        if "crasher" not in json.loads(seats):
            assert state == "done"
        elif state == "skipped":
            assert note == "skipped: crasher was withdrawn"
    ((pstatus, pnote),) = db_rows(db, "SELECT status, note FROM tournament_participants "
                                      "WHERE name = 'crasher'")
    assert pstatus == "withdrawn"
    assert pnote.startswith("withdrawn after 3 crashes in a row (last: raised RuntimeError")
    assert any("crasher withdrawn" in line for line in progress.lines)


def test_a_participant_whose_process_keeps_dying_is_withdrawn(tmp_path, config):
    """os._exit in an agent ends its own process, not the worker: a forfeit, and a crash."""
    path = write_spec(tmp_path, name="killer", game="tictactoe", games_per_pairing=2,
                      participants=["random", "greedy",
                                    {"name": "dier", "agent": fault("AlwaysDies")}])
    report, _ = run(path, concurrency=2)
    assert report.withdrawn == ["dier"] and report.voided_now == 0
    db = tmp_path / "data" / "arena.db"
    rows = db_rows(db, "SELECT seats, status, note FROM tournament_games")
    assert all(s == "done" for seats, s, _ in rows if "dier" not in json.loads(seats))
    dier = [(s, note) for seats, s, note in rows if "dier" in json.loads(seats)]
    assert all(s in ("done", "skipped") for s, _ in dier)
    assert sum(s == "done" for s, _ in dier) >= 3
    assert all("dier forfeited: exited with code 13" in note for s, note in dier if s == "done")
    ((pnote,),) = db_rows(db, "SELECT note FROM tournament_participants WHERE name = 'dier'")
    assert pnote.startswith("withdrawn after 3 crashes in a row (last: exited with code 13)")


def test_a_harness_error_is_a_void_outcome_not_a_forfeit():
    outcome = play_job(GameJob(key="k", game="no-such-game", seats=["a", "b"],
                               agents=["random", "random"], seed=0, time_per_move=None,
                               max_moves=None, tag="t"))
    assert outcome.result is None and "harness error" in outcome.void_reason


def test_sprt_stops_a_head_to_head_match_early(tmp_path, config):
    path = write_spec(tmp_path, name="h2h", game="connect4", games_per_pairing=60,
                      participants=["greedy", "random"],
                      sprt={"elo0": 0, "elo1": 100, "alpha": 0.05, "beta": 0.05})
    report, _ = run(path, concurrency=2)
    assert report.stopped.startswith("stopped early: SPRT H1 accepted")
    assert report.done < 60 and report.done + report.skipped == 60
    proc = run_arena("tournament", "show", "h2h", "--json")
    data = json.loads(proc.stdout)
    assert data["sprt"]["decision"] == "H1" and data["status"] == "finished"
    assert data["standings"][0]["name"] == "greedy"


def test_a_swiss_tournament_plays_its_rounds_with_byes(tmp_path, config):
    path = write_spec(tmp_path, name="sw", game="tictactoe", format="swiss", rounds=3,
                      games_per_pairing=1,
                      participants=["random", "greedy", {"name": "r2", "agent": "random"},
                                    {"name": "g2", "agent": "greedy"},
                                    {"name": "uct", "agent": "mcts:sims=20"}])
    report, _ = run(path, concurrency=2)
    assert (report.total, report.done) == (6, 6)
    db = tmp_path / "data" / "arena.db"
    rows = db_rows(db, "SELECT round, seats, status FROM tournament_games ORDER BY ordinal")
    assert [r for r, _, s in rows if s == "bye"] == [0, 1, 2]
    byes = [json.loads(seats)[0] for _, seats, s in rows if s == "bye"]
    assert len(set(byes)) == 3
    pairs = [frozenset(json.loads(seats)) for _, seats, s in rows if s == "done"]
    assert len(set(pairs)) == len(pairs) == 6  # nobody met twice


def test_show_json_and_export_write_what_they_promise(tmp_path, config):
    path = write_spec(tmp_path, name="ex", game="tictactoe", games_per_pairing=2,
                      participants=["random", "greedy"])
    proc = run_arena("tournament", "run", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "games/s" in proc.stderr and "leader: " in proc.stderr  # live progress
    assert "tournament ex: 2 games on local" in proc.stderr
    data = json.loads(run_arena("tournament", "show", "ex", "--json").stdout)
    assert data["games"] == {"total": 2, "done": 2, "skipped": 0, "void": 0, "byes": 0,
                             "remaining": 0}
    row = {r["name"]: r for r in data["standings"]}
    assert row["greedy"]["games"] == 2 and row["greedy"]["rank"] in (1, 2)
    assert {"elo", "ci95", "los_next", "openskill", "score_pct"} <= set(row["greedy"])
    assert data["rating_method"].startswith("Bradley-Terry")
    out = tmp_path / "export"
    proc = run_arena("tournament", "export", "ex", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    csv_lines = (out / "standings.csv").read_text().splitlines()
    assert csv_lines[0].startswith("rank,name,agent,status,games,wins")
    assert len(csv_lines) == 3
    assert json.loads((out / "standings.json").read_text())["standings"] == data["standings"]
    games = sorted((out / "games").iterdir())
    assert len(games) == 2
    moves = json.loads(games[0].read_text())
    assert moves["tournament"] == "ex" and moves["moves"][0]["ply"] == 0
    assert (out / "ratings.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    shown = run_arena("tournament", "show", str(path))  # a spec file names its tournament
    assert shown.returncode == 0 and "rank  name" in shown.stdout and "Elo: Bradley-Terry" in (
        shown.stdout)
    missing = run_arena("tournament", "show", "nope")
    assert missing.returncode == 2 and "no tournament named 'nope'" in missing.stderr


def test_go_games_are_exported_as_sgf_that_reads_back(tmp_path, config):
    from games.go.sgf import read_sgf

    path = write_spec(tmp_path, name="go", game="go5", games_per_pairing=2,
                      participants=["random", "greedy"])
    run(path, concurrency=2)
    out = tmp_path / "go-export"
    proc = run_arena("tournament", "export", "go", "--out", str(out), "--no-chart")
    assert proc.returncode == 0, proc.stderr
    files = sorted((out / "games").glob("*.sgf"))
    assert len(files) == 2 and not (out / "ratings.png").exists()
    db = tmp_path / "data" / "arena.db"
    for f in files:
        match_id = int(f.stem.split("match")[1])
        game = read_sgf(f)
        plies, = db_rows(db, "SELECT plies FROM matches WHERE id = ?", match_id)[0]
        assert len(game.moves) == plies and game.result
        # The runner wrote the same file where `arena replay` looks for it.
        assert (tmp_path / "data" / "sgf" / f"{match_id}.sgf").read_bytes() == f.read_bytes()


def test_export_without_matplotlib_is_one_line_and_writes_nothing(tmp_path, config, capsys,
                                                                  monkeypatch):
    import sys

    from arena.cli import main

    path = write_spec(tmp_path, name="np", game="tictactoe", games_per_pairing=1,
                      participants=["random", "greedy"])
    run(path, concurrency=1)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    out = tmp_path / "np-export"
    assert main(["tournament", "export", "np", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == ("arena: the ratings chart needs matplotlib: pip install 'arena[plots]' "
                   "(or pass --no-chart)\n")
    assert not out.exists()
