"""Arena's own torch thread policy holds with no environment variables set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT

from agents.threads import chosen_threads, policy_threads, usable_cores


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "ARENA_THREADS", "ARENA_OMP_FROM_POLICY", "MKL_NUM_THREADS")}
    env.update(extra)
    return env


_REPORT = textwrap.dedent("""
    import sys, json
    from arena.cli import main
    code = main(sys.argv[1:])
    import torch
    print(json.dumps({"code": code, "threads": torch.get_num_threads()}))
""")


def _threads_after(args: list[str], env: dict[str, str], cwd: Path) -> int:
    done = subprocess.run([sys.executable, "-c", _REPORT, *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env={**env, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, done.stderr
    return report["threads"]


def test_the_policy_and_what_overrides_it(monkeypatch):
    for name in ("OMP_NUM_THREADS", "ARENA_THREADS", "ARENA_OMP_FROM_POLICY"):
        monkeypatch.delenv(name, raising=False)
    assert policy_threads("play") == 1
    assert policy_threads("train") == usable_cores()
    assert policy_threads("train", workers=usable_cores() * 4) == 1
    assert chosen_threads("play", requested=3) == 3
    assert chosen_threads("play", requested="auto") == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user's own choice is respected
    assert chosen_threads("play") == 2
    monkeypatch.setenv("ARENA_OMP_FROM_POLICY", "2")  # ...unless Arena set it for a child
    assert chosen_threads("play") == 1
    monkeypatch.setenv("ARENA_THREADS", "4")
    assert chosen_threads("train") == 4


def test_a_match_plays_on_one_torch_thread_with_no_environment(tmp_path):
    # torch alone would take every core; a match process takes one.
    (tmp_path / "arena.toml").write_text('data_dir = "data"\n')
    threads = _threads_after(["match", "connect4", f"alphazero:{ROOT}/assets/models/connect4,sims=20",
                              "random", "--games", "1"], _clean_env(), tmp_path)
    assert threads == 1


def test_arena_toml_and_the_command_line_choose_the_threads(tmp_path):
    (tmp_path / "arena.toml").write_text('data_dir = "data"\nthreads = 2\n')
    assert _threads_after(["games"], _clean_env(), tmp_path) == 2
    assert _threads_after(["games", "--threads", "3"], _clean_env(), tmp_path) == 3


@pytest.mark.skipif(usable_cores() < 2, reason="needs two cores to tell the roles apart")
def test_training_gets_the_cores(tmp_path):
    (tmp_path / "arena.toml").write_text('data_dir = "data"\nruns_dir = "runs"\n')
    threads = _threads_after(["train", "pg", "cartpole", "--steps", "200", "--out",
                              str(tmp_path / "run")], _clean_env(), tmp_path)
    assert threads == usable_cores()


_AGENT = textwrap.dedent("""
    import os
    import numpy as np
    import torch
    from agents.base import Agent

    class ThreadReporter(Agent):
        def __init__(self, log: str):
            self.log = log

        def act(self, observation, action_mask):
            with open(self.log, "a") as f:
                f.write(f"{torch.get_num_threads()}\\n")
            return int(np.flatnonzero(action_mask)[0])
""")


def test_tournament_workers_play_on_one_torch_thread(tmp_path, monkeypatch):
    from arena.config import Settings
    from tournaments.runner import run_tournament
    from tournaments.spec import parse_spec

    for name in ("OMP_NUM_THREADS", "ARENA_THREADS", "ARENA_OMP_FROM_POLICY"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "reporter.py").write_text(_AGENT)
    log = tmp_path / "threads.log"  # a parameter: the pool's forkserver may predate this test
    spec = parse_spec({
        "name": "threads", "game": "tictactoe", "format": "round-robin",
        "participants": [f"{tmp_path / 'reporter.py'}:ThreadReporter:log={log}", "random"],
        "games_per_pairing": 2, "concurrency": 2, "seed": 0}, "test")
    settings = Settings(data_dir=tmp_path / "data")
    report = run_tournament(spec, settings)
    assert report.played_now == 2
    seen = {int(x) for x in log.read_text().split()}
    assert seen == {1}


def test_the_quickstart_tournament_has_no_forfeits_with_no_environment(tmp_path):
    # Two workers on two cores: each on one torch thread, nobody loses on time.
    (tmp_path / "arena.toml").write_text(f'data_dir = "{tmp_path / "data"}"\n')
    env = _clean_env(ARENA_CONFIG=str(tmp_path / "arena.toml"))
    run = subprocess.run([sys.executable, "-m", "arena", "tournament", "run",
                          "tournaments/quickstart.yaml"], capture_output=True, text=True,
                         timeout=600, cwd=ROOT, env=env)
    assert run.returncode == 0, run.stderr
    # No concurrency in the spec: as many games at once as there are cores, no more.
    assert f"24 games on local ({usable_cores()} at a time)" in run.stdout + run.stderr
    shown = subprocess.run([sys.executable, "-m", "arena", "tournament", "show", "quickstart",
                            "--json"], capture_output=True, text=True, timeout=60, cwd=ROOT,
                           env=env)
    table = json.loads(shown.stdout)
    assert table["games"]["done"] == 24 and table["games"]["void"] == 0
    assert sum(row["forfeits"] for row in table["standings"]) == 0, table["standings"]
