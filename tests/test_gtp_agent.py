"""GTP engines as agents: real GnuGo in `arena match`, and engines that crash, hang or cheat."""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path

import pytest
from conftest import FIXTURES, run_arena

from agents.gtp_agent import GtpAgent, find_gnugo
from agents.random_agent import RandomAgent
from agents.registry import make_agent
from games.errors import UserError
from agents.match import play_match
from games.go.sgf import read_sgf
from games.registry import resolve_game

FAKE = FIXTURES / "fake_gtp_engine.py"
needs_gnugo = pytest.mark.skipif(find_gnugo() is None, reason="gnugo is not installed (make gnugo)")


def gtp_ref(*argv: str | Path) -> str:
    return "gtp:" + shlex.join(str(a) for a in argv)


def match_json(*args: str, timeout: float = 120) -> dict:
    proc = run_arena("match", *args, "--json", timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@needs_gnugo
def test_gnugo_beats_random_and_every_game_is_saved_as_sgf(config):
    data = match_json("go9", "gnugo:level=1", "random", "--games", "10")
    gnugo, rand = data["agents"]
    assert gnugo["wins"] == 10 and gnugo["forfeits"] == 0 and rand["wins"] == 0
    assert data["forfeits"] == []
    sgf_dir = config.parent / "data" / "sgf"
    files = sorted(sgf_dir.glob("*.sgf"), key=lambda p: int(p.stem))
    assert [int(p.stem) for p in files] == data["match_ids"]
    for i, path in enumerate(files):
        game = read_sgf(path)
        gnugo_colour = "BW"[i % 2]  # colours alternate, gnugo is black in game 1
        assert game.size == 9 and game.komi == 7.5
        assert game.result.startswith(f"{gnugo_colour}+"), (path, game.result)
        assert [game.black_name, game.white_name][i % 2] == "gnugo:level=1"
        state = game.to_state()
        score = state.score()
        assert (score > 0) == (gnugo_colour == "B")
        assert len(game.moves) >= 20
    proc = run_arena("replay", str(data["match_ids"][0]))
    assert proc.returncode == 0 and f"sgf: {files[0]}" in proc.stdout


@needs_gnugo
def test_gnugo_games_replay_from_the_match_seed():
    game = resolve_game("go7")

    def moves(seed: int) -> list[int]:
        agents = [make_agent("gnugo:level=1"), make_agent("gnugo:level=1")]
        try:
            return [m.action for m in play_match(game, agents, seed=seed).moves]
        finally:
            for agent in agents:
                agent.close()

    first = moves(5)
    time.sleep(1.1)  # unseeded, GnuGo seeds itself from the clock's seconds
    assert moves(5) == first  # seeded from the game's seed: the same game
    assert any(moves(seed) != first for seed in (6, 7, 8))


def forfeits(data: dict) -> list[str]:
    return [f["reason"] for f in data["forfeits"]]


def test_an_engine_that_crashes_at_once_forfeits(config):
    ref = gtp_ref(sys.executable, "-c", "import sys; sys.stderr.write('no board\\n'); sys.exit(1)")
    t0 = time.perf_counter()
    data = match_json("go9", ref, "random", "--games", "2")
    assert time.perf_counter() - t0 < 30
    reasons = forfeits(data)
    assert len(reasons) == 2 and data["agents"][0]["forfeits"] == 2
    for reason in reasons:
        assert reason.startswith("failed to start: EngineError: engine exited with code 1")
        assert reason.endswith(": no board")


def test_an_engine_that_crashes_mid_game_forfeits(config, tmp_path):
    pids = tmp_path / "pids"
    data = match_json("go9", gtp_ref(sys.executable, FAKE, "crash", pids), "random", "--games", "2")
    reasons = forfeits(data)
    assert len(reasons) == 2
    assert all("engine exited with code 4 while answering 'genmove" in r for r in reasons)
    assert all(r.endswith("fake engine: crashing on purpose") for r in reasons)
    assert len(set(pids.read_text().split())) == 2  # a fresh engine for the second game


def test_an_engine_that_hangs_forfeits_on_time_and_is_killed(config, tmp_path):
    pids = tmp_path / "pids"
    ref = gtp_ref(sys.executable, FAKE, "hang", pids)
    t0 = time.perf_counter()
    data = match_json("go9", ref, "random", "--games", "2", "--time-per-move", "1")
    assert time.perf_counter() - t0 < 30
    reasons = forfeits(data)
    assert reasons == ["exceeded the time per move (1 s)"] * 2
    started = [int(p) for p in pids.read_text().split()]
    assert len(set(started)) == 2  # killed after game 1, a new one for game 2
    for pid in started:
        assert not _alive(pid), f"engine {pid} still runs"


def test_the_agent_own_deadline_stops_a_hang_without_a_match_clock(tmp_path):
    pids = tmp_path / "pids"
    agent = GtpAgent(shlex.join([sys.executable, str(FAKE), "hang", str(pids)]), timeout=0.5)
    try:
        t0 = time.perf_counter()
        result = play_match(resolve_game("go9"), [agent, RandomAgent()], seed=1)
        assert time.perf_counter() - t0 < 10
    finally:
        agent.close()
    assert result.forfeit_player == 0
    assert result.forfeit_reason == ("raised EngineError: engine did not answer "
                                     "'genmove b' within 0.5 s")
    assert not _alive(int(pids.read_text().split()[0]))


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("illegal", "raised EngineError: engine played an illegal move"),
        ("garbage", "raised EngineError: engine answered genmove with 'banana', not a move"),
        ("resign", "resigned"),
    ],
)
def test_engines_that_answer_badly_forfeit(config, tmp_path, mode, reason):
    pids = tmp_path / "pids"
    data = match_json("go9", gtp_ref(sys.executable, FAKE, mode, pids), "random", "--games", "2")
    if mode == "resign":  # a loss by resignation, not a forfeit
        assert data["forfeits"] == [] and data["agents"][0]["resigned"] == 2
        reasons = [r["reason"] for r in data["resignations"]]
    else:
        reasons = forfeits(data)
    assert len(reasons) == 2 and all(r.startswith(reason) for r in reasons), reasons
    restarted = 2 if mode != "resign" else 1  # a resignation is no failure of the engine
    assert len(set(pids.read_text().split())) == restarted
    if mode == "illegal":
        assert "point occupied" in reasons[0]
    # The SGF of a resigned (or forfeited) game says who won and how.
    sgf = read_sgf(config.parent / "data" / "sgf" / f"{data['match_ids'][1]}.sgf")
    assert sgf.result == ("B+R" if mode == "resign" else "B+F")  # the engine was white in game 2


def test_close_quits_a_running_engine(tmp_path):
    """The other side forfeits at once, so the engine is still up when the match ends."""
    pids = tmp_path / "pids"
    agent = GtpAgent(shlex.join([sys.executable, str(FAKE), "hang", str(pids)]))
    raiser = make_agent(f"{FIXTURES / 'faulty_agents.py'}:Raiser:bad_game=0")
    result = play_match(resolve_game("go5"), [raiser, agent], seed=3)
    assert result.forfeit_player == 0
    pid = int(pids.read_text().split()[0])
    assert _alive(pid, wait=0)
    agent.close()
    assert not _alive(pid)


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("gtp:", "command line is empty"),
        ("gtp:no-such-engine-xyz --mode gtp", "no such program 'no-such-engine-xyz'"),
        ("gtp:gnugo 'unclosed", "cannot read the command line"),
        ("gnugo:level=11", "level must be 0..10"),
        ("gnugo:depth=3", "unknown parameter 'depth'"),
    ],
)
def test_bad_references_are_user_errors(ref, message):
    with pytest.raises(UserError, match=message):
        make_agent(ref)


def test_gnugo_is_a_listed_builtin(config):
    proc = run_arena("agents", "--json")
    names = {a["name"]: a["kind"] for a in json.loads(proc.stdout)}
    assert names["gnugo"] == "built-in"
    assert "gtp:<command line>" in run_arena("agents").stdout


def _alive(pid: int, wait: float = 3.0) -> bool:
    """True if a process with this pid still runs (not a zombie) after up to `wait` seconds."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    return False
        except FileNotFoundError:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.05)
