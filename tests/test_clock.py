"""Agents keep to their clock: search agents plan their time, and a starved seat is no forfeit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from conftest import ARENA, ROOT

from agents.base import ThinkingClock, plan_clock_time, plan_move_time
from agents.registry import make_agent
from agents.match import play_match
from games.registry import resolve_game

CONNECT4_MODEL = "alphazero:assets/models/connect4"
GO9_MODEL = "alphago:assets/models/go9-alphago"


def test_the_plan_leaves_a_margin_and_takes_the_tighter_limit():
    assert plan_move_time(None) is None
    assert 0 < plan_move_time(1.0) < 0.6
    assert plan_move_time(10.0) == pytest.approx(4.95)
    assert plan_clock_time(5.0, 1) == pytest.approx(plan_move_time(5.0))  # byo-yomi: 1 stone
    assert plan_clock_time(300.0, 25) == pytest.approx(plan_move_time(12.0))  # Canadian
    assert plan_clock_time(60.0, 0) < 60.0 / 20  # main time is spread over the game
    clock = ThinkingClock(own=2.0)
    assert clock.budget() == 2.0
    clock.start(1.0)
    assert clock.budget() == pytest.approx(plan_move_time(1.0))
    clock.start(30.0)
    assert clock.budget() == 2.0
    clock.set_clock(None)
    assert clock.budget() == 2.0
    with pytest.raises(ValueError, match="positive"):
        ThinkingClock(own=0)


@pytest.mark.parametrize("game_id, ref", [
    ("go9", "mcts:sims=100000000"),
    ("connect4", f"{CONNECT4_MODEL},sims=100000000"),
    ("go9", f"{GO9_MODEL},sims=100000000"),
])
def test_a_search_with_more_simulations_than_time_stops_in_time(game_id, ref, one_thread):
    # Without a plan these searches would run for hours and forfeit on the first move.
    game = resolve_game(game_id)
    agent = make_agent(ref)
    result = play_match(game, [agent, make_agent("random")], seed=3, time_per_move=1.0,
                        max_moves=6)
    assert result.forfeit_reason is None
    own = [m.think_s for m in result.moves if m.player == 0]
    assert own and max(own) < 1.0
    assert 0 < agent.last_sims < 100000000


def test_the_agents_own_time_caps_each_move(one_thread):
    agent = make_agent("mcts:sims=100000000,time=0.2")
    result = play_match(resolve_game("tictactoe"), [agent, make_agent("random")], seed=0,
                        time_per_move=30.0, max_moves=2)
    assert result.forfeit_reason is None
    assert result.moves[0].think_s < 1.0  # the match allowed 14.95 s; its own time said 0.2


def test_gtp_time_settings_and_time_left_feed_the_budget():
    # A search that would never end on its simulations answers both moves in its time.
    commands = "boardsize 9\nclear_board\ntime_settings 0 1 1\ngenmove b\n" \
               "time_left w 2 1\ngenmove w\nquit\n"
    done = subprocess.run([*ARENA, "gtp", "mcts:sims=100000000", "--size", "9"],
                          input=commands, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    replies = [line for line in done.stdout.splitlines() if line.startswith("=")]
    assert len(replies) == 7
    assert replies[3] != "=" and replies[5] != "="  # two moves, e.g. "= E5"


# A script run in its own process: it pins itself and three CPU hogs to one core, so
# an agent there gets about a quarter of the core.
_STARVED = textwrap.dedent("""
    import os, subprocess, sys, time, json
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    hog = "import os; os.sched_setaffinity(0, {%d})\\nwhile True: pass" % core
    hogs = [subprocess.Popen([sys.executable, "-c", hog]) for _ in range(3)]
    try:
        time.sleep(0.5)
        from agents.base import Agent
        from agents.registry import make_agent
        from agents.match import HarnessFault, play_match
        from agents.series import run_series
        from games.errors import UserError
        from games.registry import resolve_game

        class Busy(Agent):
            def act(self, obs, mask):
                end = time.perf_counter() + 30
                while time.perf_counter() < end:
                    pass

        class Sleepy(Agent):
            def act(self, obs, mask):
                time.sleep(30)

        game = resolve_game("tictactoe")
        out = {}
        try:
            play_match(game, [Busy(), make_agent("random")], time_per_move=1.0)
            out["busy"] = "no fault"
        except HarnessFault as fault:
            out["busy"] = "void: " + str(fault)
        result = play_match(game, [Sleepy(), make_agent("random")], time_per_move=1.0)
        out["sleepy"] = result.forfeit_reason
        voids = []
        try:
            run_series(game, [Busy(), make_agent("random")], ["busy", "random"], games=1,
                       time_per_move=1.0, on_void=lambda i, why: voids.append(i))
        except UserError as exc:
            out["series"] = str(exc)
        out["voids"] = voids
        # A tournament worker voids such a game (the driver plays it again), blaming nobody.
        from tournaments.worker import GameJob, play_job
        fixture = os.path.join(os.getcwd(), "tests", "fixtures", "busy_agent.py")
        job = GameJob(key="k", game="tictactoe", seats=["busy", "random"],
                      agents=[fixture + ":Busy", "random"], seed=0, time_per_move=1.0,
                      max_moves=None, tag="t")
        outcome = play_job(job)
        out["worker"] = [outcome.void_reason, outcome.result is None]
        print(json.dumps(out))
    finally:
        for h in hogs:
            h.kill()
""")


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs Linux schedstat")
def test_a_seat_the_machine_starves_voids_the_game_and_a_slow_one_forfeits():
    import json

    done = subprocess.run([sys.executable, "-c", _STARVED], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["busy"].startswith("void: player 0 waited"), out
    assert out["sleepy"] == "exceeded the time per move (1 s)"  # its own slowness
    assert out["voids"] == [0, 0, 0]  # played again, then given up with one line
    assert "void 3 times" in out["series"]
    reason, no_result = out["worker"]
    assert no_result and "waited" in reason and "for a CPU" in reason
