"""Hostile agents against every front end: nothing escapes the clock, nothing corrupts the store.

The agents (tests/fixtures/hostile_agents.py) mutate masks, ignore signals, hang or exit
in __init__, reset and act, call os._exit, kill themselves with SIGKILL, print, and
return odd types. `Hostile` takes a new misbehaviour each game it starts, so one
`arena match` (a subprocess), one 2-worker tournament and one `arena gtp` session (a
subprocess, Go 5x5) each meet every one of them. Each run ends within its clock plus
a margin, each fault is a forfeit with its reason, and every stored game replays.

The clock is 1 s a move and the build limit (arena.toml build_limit) 2 s.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import run_arena
from tournament_support import db_rows, write_spec

from agents.base import Agent
from agents.gtp_agent import GtpAgent
from agents.registry import make_agent
from arena.cli import main
from arena.config import load_settings
from agents.match import play_match
from tournaments.store import Store, StoreWriter
from games.registry import resolve_game
from tournaments.runner import run_tournament
from tournaments.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
AGENTS = FIXTURES / "hostile_agents.py"
sys.path.insert(0, str(FIXTURES))
from hostile_agents import MODES  # noqa: E402 - the fixture's own list of misbehaviours

CLOCK = 1.0  # seconds per move
BUILD = 2.0  # seconds to build an agent or start its game
#: What each misbehaviour's forfeit says, in `arena match` and tournaments (tic-tac-toe).
REASONS = {
    "mask": "played illegal action",
    "ignore": "exceeded the time per move (1 s)",
    "swallow": "exceeded the time per move (1 s)",
    "cloop": "exceeded the time per move (1 s)",
    "exit": "exited with code 3",
    "osexit": "exited with code 7",
    "sigkill": "was killed by SIGKILL",
    "print": None,  # no fault: its output goes to stderr
    "none": "returned None, not an action number",
    "string": "returned 'A9', not an action number",
    "float": "returned 1.0, not an action number",
    "array": "returned array([0, 1]), not an action number",
    "huge": "returned a 16610-bit number, outside 0..8",
    "resethang": "failed to start: did not start within 2 s",
    "resetexit": "failed to start: exited with code 5",
}
#: What `arena gtp` answers genmove with, for each.
GTP_ANSWERS = {
    "mask": "? agent chose an illegal move",
    "ignore": "? agent exceeded the time per move (1 s)",
    "swallow": "? agent exceeded the time per move (1 s)",
    "cloop": "? agent exceeded the time per move (1 s)",
    "exit": "? agent failed: exited with code 3",
    "osexit": "? agent failed: exited with code 7",
    "sigkill": "? agent failed: was killed by SIGKILL",
    "print": "= ",
    "none": "? agent returned None, not a move",
    "string": "? agent returned 'A9', not a move",
    "float": "? agent returned 1.0, not a move",
    "array": "? agent returned array([0, 1]), not a move",
    "huge": "? agent chose an illegal move (a 16610-bit number)",
    "resethang": "? agent failed: did not start within 2 s",
    "resetexit": "? agent failed: exited with code 5",
}
#: Seconds the clocks allow a run of every mode: a move's clock for the three that hang
#: in act, the build limit for the one that hangs in reset.
ALL_MODES_S = 3 * CLOCK + BUILD
#: Margin on every wall-clock bound: process start-up on a loaded 2-core machine.
MARGIN_S = 20.0


@pytest.fixture
def config(tmp_path, monkeypatch):
    path = tmp_path / "arena.toml"
    path.write_text(f'data_dir = "data"\ntime_per_move = {CLOCK}\nbuild_limit = {BUILD}\n')
    monkeypatch.setenv("ARENA_CONFIG", str(path))
    monkeypatch.delenv("ARENA_DATA_DIR", raising=False)
    return path


def hostile(claims: Path, modes: str | None = None, replays: bool = False) -> str:
    """The reference of a Hostile agent claiming its misbehaviours in `claims` (a directory);
    with `replays`, a voided game played again meets the same misbehaviour."""
    return (f"{AGENTS}:Hostile:claims={claims}" + (f",modes={modes}" if modes else "")
            + (",replays=1" if replays else ""))


def reason_mode(reason: str | None) -> str | None:
    """The misbehaviour a forfeit's reason names (the first in REASONS that it matches)."""
    if reason is None:
        return None
    for mode, text in REASONS.items():
        if text is not None and text in reason:
            return mode
    raise AssertionError(f"unexpected forfeit reason: {reason}")


def expected_counts() -> Counter:
    return Counter(REASONS[m] and reason_mode(REASONS[m]) for m in MODES)


def replay_every_game(tmp_path: Path, capsys) -> list[int]:
    """`arena replay ID` for every stored game: each must replay its moves by the rules."""
    ids = [i for (i,) in db_rows(tmp_path / "data" / "arena.db", "SELECT id FROM matches")]
    capsys.readouterr()
    for match_id in ids:
        assert main(["replay", str(match_id)]) == 0, capsys.readouterr().err
        assert "result:" in capsys.readouterr().out
    return ids


# -- the match loop itself: agents in this process -----------------------------------------------


class MaskMutator(Agent):
    """In this process (not user code from a file): sets mask[:] = 1, plays a taken point."""

    def act(self, observation, action_mask):
        taken = np.flatnonzero(action_mask == 0)
        action_mask[:] = 1
        return int(taken[0]) if len(taken) else 0


class ExitsIn(Agent):
    def __init__(self, where: str):
        self.where = where

    def start(self, ctx):
        super().start(ctx)
        if self.where == "start":
            sys.exit(9)

    def act(self, observation, action_mask):
        sys.exit(3)


@pytest.mark.parametrize("game", ["tictactoe", "go5"])
def test_an_agent_gets_a_copy_of_the_mask_and_the_rules_judge(tmp_path, game, capsys, config):
    store = Store(tmp_path / "data" / "arena.db")
    results = [play_match(resolve_game(game), agents, seed=1, observers=[StoreWriter(store)])
               for agents in ([MaskMutator(), make_agent("random")],
                              [make_agent("random"), MaskMutator()])]
    store.close()
    for r in results:
        assert r.end == "forfeit" and r.agents[r.forfeit_player] == "agent"
        assert "played illegal action" in r.forfeit_reason
        assert "occupied" in r.forfeit_reason or "point" in r.forfeit_reason, r.forfeit_reason
    assert len(replay_every_game(tmp_path, capsys)) == 2


def test_sys_exit_in_this_process_is_a_forfeit():
    game = resolve_game("tictactoe")
    r = play_match(game, [ExitsIn("act"), make_agent("random")], seed=0)
    assert (r.forfeit_player, r.forfeit_reason) == (0, "exited with code 3")
    r = play_match(game, [make_agent("random"), ExitsIn("start")], seed=0)
    assert (r.forfeit_player, r.forfeit_reason) == (1, "failed to start: exited with code 9")


def test_what_agents_print_goes_to_stderr_not_to_the_stream():
    """`arena match --json` and `arena gtp` keep the real stdout for their own output
    while agents run in this process: their prints (Python or C) go to stderr."""
    code = """
import os
from arena.cli import _agents_off_stdout
with _agents_off_stdout() as out:
    print("from an agent")
    os.write(1, b"from C code\\n")
    out.write("the summary\\n")
print("after")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "the summary\nafter\n"
    assert proc.stderr == "from an agent\nfrom C code\n"


def test_a_gtp_engine_that_ignores_signals_is_killed_at_the_deadline(tmp_path):
    pids = tmp_path / "pids"
    engine = GtpAgent(shlex.join([sys.executable, str(FIXTURES / "hostile_gtp_engine.py"),
                                  str(pids)]))
    start = time.monotonic()
    r = play_match(resolve_game("go5"), [engine, make_agent("random")], seed=0,
                   time_per_move=CLOCK)
    assert time.monotonic() - start < CLOCK + MARGIN_S
    assert r.forfeit_player == 0 and "exceeded the time per move (1 s)" in r.forfeit_reason
    pid = int(pids.read_text().split()[0])
    deadline = time.monotonic() + 5
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(pid)
    engine.close()


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# -- arena match ---------------------------------------------------------------------------------


def test_arena_match_meets_every_misbehaviour_within_its_clock(tmp_path, config, capsys):
    games = len(MODES)
    start = time.monotonic()
    # A hanging mode's game may be void on a loaded machine (its seat starved of CPU) and
    # played again: `replays` gives the replay the same misbehaviour.
    proc = run_arena("match", "tictactoe", hostile(tmp_path / "claims", replays=True), "random",
                     "--games", str(games), "--time-per-move", str(CLOCK), "--json")
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    assert elapsed < ALL_MODES_S + MARGIN_S, elapsed
    data = json.loads(proc.stdout)  # what the printer printed is on stderr, not here
    assert "= B2" in proc.stderr and '{"not": "the summary"}' in proc.stderr
    reasons = {f["match_id"]: f["reason"] for f in data["forfeits"]}
    for mode, match_id in zip(MODES, data["match_ids"]):  # game i met the i-th misbehaviour
        got = reasons.get(match_id)
        if REASONS[mode] is None:
            assert got is None, (mode, got)
        else:
            assert got is not None and REASONS[mode] in got, (mode, got)
    hostile_stats = data["agents"][0]
    assert hostile_stats["forfeits"] == games - 1 and hostile_stats["games"] == games
    assert replay_every_game(tmp_path, capsys) == data["match_ids"]


@pytest.mark.parametrize(("cls", "says"), [
    ("HangsInInit", "was not built within 2 s"),
    ("RaisesInInit", "__init__ raised RuntimeError: cannot load the model"),
    ("ExitsInInit", "exited with code 4 while being built"),
])
def test_an_agent_that_cannot_be_built_is_one_line_and_exit_2(tmp_path, config, capsys, cls,
                                                              says):
    ref = f"{AGENTS}:{cls}"
    for argv in (["match", "tictactoe", ref, "random", "--games", "1"], ["gtp", ref]):
        start = time.monotonic()
        assert main(argv) == 2
        assert time.monotonic() - start < BUILD + MARGIN_S
        err = capsys.readouterr().err
        assert err == f"arena: agent '{ref}': {says}" + (
            " (the build limit; build_limit in arena.toml)\n" if cls == "HangsInInit" else "\n")
    assert not (tmp_path / "data" / "arena.db").exists()  # nothing stored


def test_a_silent_exit_in_init_is_one_line_from_the_real_command(tmp_path, config):
    proc = run_arena("match", "tictactoe", f"{AGENTS}:ExitsInInit", "random")
    assert proc.returncode == 2
    assert proc.stderr.endswith("exited with code 4 while being built\n")
    assert proc.stderr.count("\n") == 1 and proc.stdout == ""


# -- tournaments ---------------------------------------------------------------------------------


class Quiet:
    def begin(self, *args):
        pass

    def update(self, *args):
        pass

    def message(self, text):
        pass

    def end(self):
        pass


def _run(path):
    return run_tournament(load_spec(path), load_settings(), source=str(path), concurrency=2,
                          progress=Quiet())


def _export_every_game(tmp_path, name, capsys) -> None:
    out = tmp_path / f"export-{name}"
    assert main(["tournament", "export", name, "--out", str(out), "--no-chart"]) == 0, \
        capsys.readouterr().err
    done = db_rows(tmp_path / "data" / "arena.db",
                   "SELECT COUNT(*) FROM tournament_games g JOIN tournaments t ON "
                   "t.id = g.tournament_id WHERE t.name = ? AND g.status = 'done'", name)[0][0]
    assert len(list((out / "games").iterdir())) == done


def test_a_two_worker_tournament_meets_every_misbehaviour(tmp_path, config, capsys):
    path = write_spec(tmp_path, name="hostile", game="tictactoe", format="gauntlet",
                      games_per_pairing=len(MODES), time_per_move=CLOCK, withdraw_after=100,
                      participants=["random", {"name": "hostile",
                                               "agent": hostile(tmp_path / "claims",
                                                                replays=True)}])
    start = time.monotonic()
    report = _run(path)
    # Two workers share the hanging modes' clocks; each has its own processes to start.
    assert time.monotonic() - start < ALL_MODES_S + MARGIN_S
    # A hanging mode's game may be void (starved on a loaded machine) and played again.
    assert (report.done, report.withdrawn) == (len(MODES), [])
    assert report.voided_now <= 3
    rows = db_rows(tmp_path / "data" / "arena.db",
                   "SELECT forfeit_player, forfeit_reason FROM matches")
    assert Counter(reason_mode(why) for _, why in rows) == expected_counts()
    assert all(player is None or why for player, why in rows)
    replay_every_game(tmp_path, capsys)
    _export_every_game(tmp_path, "hostile", capsys)


def test_agents_that_cannot_be_built_or_keep_exiting_are_withdrawn(tmp_path, config, capsys):
    """The driver imports their files in a child process only (a hang in __init__ cannot
    hold it); each game they forfeit counts as a crash, and two in a row withdraw them."""
    names = {"hangs": "HangsInInit", "raises": "RaisesInInit", "exits": "ExitsInInit",
             "quits": "AlwaysExits"}
    path = write_spec(tmp_path, name="unbuildable", game="tictactoe", format="gauntlet",
                      games_per_pairing=3, time_per_move=CLOCK, withdraw_after=2,
                      participants=["random"] + [{"name": n, "agent": f"{AGENTS}:{cls}"}
                                                 for n, cls in names.items()])
    start = time.monotonic()
    report = _run(path)
    assert time.monotonic() - start < 3 * 2 * BUILD + MARGIN_S
    assert sorted(report.withdrawn) == sorted(names)
    says = {"hangs": "failed to load: agent '{}': was not built within 2 s",
            "raises": "failed to load: agent '{}': __init__ raised RuntimeError: cannot load",
            "exits": "failed to load: agent '{}': exited with code 4 while being built",
            "quits": "exited with code 3"}
    db = tmp_path / "data" / "arena.db"
    for name, cls in names.items():
        ((note,),) = db_rows(db, "SELECT note FROM tournament_participants WHERE name = ?", name)
        assert note.startswith("withdrawn after 2 crashes in a row (last: "), note
        assert says[name].format(f"{AGENTS}:{cls}") in note, note
    replay_every_game(tmp_path, capsys)
    _export_every_game(tmp_path, "unbuildable", capsys)


# -- arena gtp -----------------------------------------------------------------------------------


def _responses(stdout: str) -> list[str]:
    """The GTP responses on stdout; anything else there fails the test."""
    blocks = stdout.split("\n\n")
    assert blocks[-1] == "", repr(stdout[-200:])
    for block in blocks[:-1]:
        assert block[:1] in ("=", "?") and "\n" not in block, repr(block)
    return blocks[:-1]


def test_arena_gtp_meets_every_misbehaviour_within_its_clock(tmp_path, config):
    script = "boardsize 5\n" + "".join("clear_board\nplay b a1\ngenmove w\n" for _ in MODES)
    start = time.monotonic()
    proc = run_arena("gtp", hostile(tmp_path / "claims"), "--size", "5",
                     input=script + "quit\n")
    assert time.monotonic() - start < ALL_MODES_S + MARGIN_S
    assert proc.returncode == 0, proc.stderr
    responses = _responses(proc.stdout)
    assert len(responses) == 1 + 3 * len(MODES) + 1
    answers = responses[3::3]  # each genmove's
    for mode, answer in zip(MODES, answers):
        assert answer.startswith(GTP_ANSWERS[mode]), (mode, answer)
    assert "= B2" in proc.stderr and '{"not": "the summary"}' in proc.stderr


def test_arena_gtp_limits_a_built_in_agent_by_time_per_move(tmp_path, config):
    """No controller time: arena.toml's time_per_move is the limit, and search plans by it."""
    start = time.monotonic()
    proc = run_arena("gtp", "mcts:sims=100000000", "--size", "5",
                     input="genmove b\nquit\n")
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - start < CLOCK + MARGIN_S
    assert _responses(proc.stdout)[0].startswith("= ")  # it planned its time: no overrun


def test_a_killed_agent_leaves_no_process_behind(tmp_path, config):
    agent = make_agent(hostile(tmp_path / "claims", "ignore"))
    pid = agent._child.proc.pid
    r = play_match(resolve_game("tictactoe"), [agent, make_agent("random")], seed=0,
                   time_per_move=CLOCK)
    assert r.forfeit_reason == "exceeded the time per move (1 s)"
    assert not _running(pid)  # SIGKILLed at the deadline: nothing it ignores
    agent.close()


def test_the_harness_exits_at_once_while_an_agent_hangs_ignoring_signals(tmp_path):
    """No clock, an agent stuck in act in its own process: exiting kills it, not waits."""
    code = f"""
import threading, time
import numpy as np
from agents.base import MatchContext
from agents.registry import make_agent
from games.registry import resolve_game

if __name__ == "__main__":
    agent = make_agent({hostile(tmp_path / "claims", "ignore")!r})
    game = resolve_game("tictactoe")
    agent.start(MatchContext(game, "player_1", 0, 0, game.env().action_space("player_1")))
    threading.Thread(target=agent.act, args=(None, np.ones(9, dtype=np.int8)),
                     daemon=True).start()
    time.sleep(1.0)
    print(agent._child.proc.pid, flush=True)
"""
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - start < MARGIN_S
    pid = int(proc.stdout.split()[0])
    deadline = time.monotonic() + 5
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(pid)


def test_the_terminal_app_and_the_window_keep_to_the_build_limit(config):
    """Both front ends build agents with arena.toml's build_limit, as `arena match` does:
    user code that hangs in __init__ is one line after it, not a frozen screen."""
    from arena.tui.catalog import build_agent
    from arena.window.session import _build
    from games.errors import UserError

    settings = load_settings()
    ref = f"{AGENTS}:HangsInInit"
    for build in (lambda: build_agent(ref, settings), lambda: _build(ref, settings, None)):
        start = time.monotonic()
        with pytest.raises(UserError, match="was not built within 2 s"):
            build()
        assert time.monotonic() - start < BUILD + MARGIN_S
