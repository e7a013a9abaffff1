"""SIGKILL a running tournament at random moments: resumed each time, it ends with
exactly the planned games, each played once (checked in the store)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

from conftest import ARENA, ROOT, run_arena
from tournament_support import db_rows, done_games, wait_for_more_done, write_spec

from tournaments.schedule import plan_games
from tournaments.spec import load_spec

KILLS = 10


def live_members(pgid: int) -> list[int]:
    """Processes of process group `pgid` that are alive (zombies are not)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry.name))
    return alive


def done_count(db: Path) -> int:
    return done_games(db, "tournament_games")


def test_sigkill_at_random_moments_loses_no_game_and_plays_none_twice(tmp_path, config):
    # Search agents make each game take a while (~0.1 s), so the kills land mid-run.
    path = write_spec(tmp_path, name="killme", game="connect4", games_per_pairing=100, seed=11,
                      concurrency=2, participants=[{"name": "uct-a", "agent": "mcts:sims=200"},
                                                   {"name": "uct-b", "agent": "mcts:sims=160"}])
    db = tmp_path / "data" / "arena.db"
    rng = random.Random(20240601)
    total = len(plan_games(load_spec(path)))
    seen = []  # games done at each kill
    for i in range(KILLS):
        proc = subprocess.Popen([*ARENA, "tournament", "run", str(path)], cwd=ROOT,
                                env=dict(os.environ), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        if i % 2 == 0:
            # Any moment: while it starts, creates the tables, plans, or plays.
            time.sleep(rng.uniform(0.0, 1.5))
        else:
            # A moment while it plays: once it has stored a game more than before.
            wait_for_more_done(db, "tournament_games", seen[-1] if seen else 0, proc, 120)
            time.sleep(rng.uniform(0.0, 0.5))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        # The killed runner's workers notice they are orphans and stop.
        deadline = time.time() + 15
        while live_members(proc.pid) and time.time() < deadline:
            time.sleep(0.1)
        assert live_members(proc.pid) == [], "workers outlived their killed runner"
        seen.append(done_count(db))
    assert sum(0 < n < total for n in seen) >= 4, f"too few kills landed mid-run: {seen}"
    assert seen == sorted(seen)  # nothing stored is ever lost

    final = run_arena("tournament", "run", str(path))
    assert final.returncode == 0, final.stderr

    planned = {g.key: g for g in plan_games(load_spec(path))}
    rows = db_rows(db, "SELECT game_key, status, match_id FROM tournament_games")
    assert {k for k, _, _ in rows} == set(planned)  # exactly the planned games
    assert {s for _, s, _ in rows} == {"done"}
    match_ids = [m for _, _, m in rows]
    assert len(set(match_ids)) == len(match_ids) == total  # each played once
    tagged = [i for (i,) in db_rows(db, "SELECT id FROM matches WHERE tag = 'tournament:killme'")]
    assert sorted(tagged) == sorted(match_ids)  # and no match stored outside the plan
    for key, _, match_id in rows:
        (seed,) = db_rows(db, "SELECT seed FROM matches WHERE id = ?", match_id)[0]
        seats = [a for (a,) in db_rows(db, "SELECT agent FROM match_agents WHERE match_id = ? "
                                           "ORDER BY player", match_id)]
        assert (seats, seed) == (list(planned[key].seats), planned[key].seed)
        assert json.loads(key)[3] == seed
        plies = db_rows(db, "SELECT plies, (SELECT COUNT(*) FROM moves WHERE match_id = ?) "
                            "FROM matches WHERE id = ?", match_id, match_id)[0]
        assert plies[0] == plies[1] > 0  # whole matches only
