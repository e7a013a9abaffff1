"""A training run killed before its first checkpoint can be started again, by --out or --resume.

`arena train` runs for real in a subprocess and is killed with SIGKILL while it
trains, long before its first checkpoint (no last/). Then `--out DIR` reuses the
directory (starting afresh, keeping nothing the killed run wrote) and
`--resume DIR` starts the run from the beginning with the settings it recorded.
A directory whose run is still alive is refused.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ARENA, ROOT

from arena.cli import main

#: The killed run: a long one (its first checkpoint would come at step 500,000).
LONG = ["--steps", "1000000", "--eval-every", "500000", "--set", "hidden=[8]",
        "--set", "num_envs=4", "--set", "num_steps=32"]
#: What the runs that finish train: a few hundred steps.
SHORT = ["--steps", "512", "--eval-episodes", "1", "--set", "num_envs=2",
         "--set", "num_steps=64", "--set", "minibatch_size=64", "--set", "update_epochs=1"]


def _episode_steps(run: Path) -> list[int]:
    path = run / "episodes.csv"
    if not path.is_file():
        return []
    with path.open() as f:
        return [int(row["step"]) for row in csv.DictReader(f) if row.get("step")]


def start_training(run: Path, *extra: str) -> subprocess.Popen:
    """`arena train ppo cartpole --out RUN ...` in the background, once it has trained a
    few thousand steps (episodes.csv says so) and still has no checkpoint."""
    proc = subprocess.Popen([*ARENA, "train", "ppo", "cartpole", "--out", str(run), *LONG,
                             *extra], cwd=ROOT, env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        steps = _episode_steps(run)
        if steps and max(steps) > 2048 and (run / "heartbeat.json").is_file():
            break
        if proc.poll() is not None:
            pytest.fail(f"the run ended by itself: {proc.stderr.read().decode()}")
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("the run did not get going within 120 s")
    assert not (run / "last" / "meta.json").exists()
    return proc


def kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()


def test_out_reuses_a_run_killed_before_its_first_checkpoint(tmp_path, capsys, config):
    run = tmp_path / "run"
    proc = start_training(run)
    try:
        # While it trains, the directory is its own: a second run there is refused.
        assert main(["train", "ppo", "cartpole", "--out", str(run), *SHORT]) == 2
        err = capsys.readouterr().err
        assert f"is being trained right now (pid {proc.pid})" in err and len(
            err.strip().splitlines()) == 1, err
    finally:
        kill(proc)
    killed_steps = max(_episode_steps(run))
    assert killed_steps > 2048
    assert json.loads((run / "heartbeat.json").read_text())["state"] == "running"  # dead, though

    done = subprocess.run([*ARENA, "train", "ppo", "cartpole", "--out", str(run), *SHORT,
                           "--json"], cwd=ROOT, env=dict(os.environ), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["steps"] >= 512
    assert (run / "last" / "meta.json").is_file() and (run / "best" / "meta.json").is_file()
    # Started afresh: nothing the killed run wrote is kept.
    assert max(_episode_steps(run)) <= summary["steps"] < killed_steps
    assert json.loads((run / "run.json").read_text())["total_steps"] == 512
    beat = json.loads((run / "heartbeat.json").read_text())
    assert beat["state"] == "finished" and beat["pid"] != proc.pid


def test_resume_starts_a_run_killed_before_its_first_checkpoint_with_its_settings(tmp_path,
                                                                                  config):
    run = tmp_path / "run"
    kill(start_training(run, "--seed", "3"))
    assert not (run / "last").exists()

    done = subprocess.run([*ARENA, "train", "--resume", str(run), "--steps", "512",
                           "--eval-episodes", "1", "--json"], cwd=ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    said = [ln for ln in done.stderr.splitlines() if "no checkpoint" in ln]
    assert said == [f"arena: '{run}' has no checkpoint (it stopped before its first); "
                    "starting it from the beginning with its recorded settings"], done.stderr
    meta = json.loads((run / "last" / "meta.json").read_text())
    assert meta["seed"] == 3 and meta["config"]["hidden"] == [8]  # what the killed run was told
    assert meta["config"]["num_envs"] == 4 and meta["steps"] >= 512
    assert max(_episode_steps(run)) <= meta["steps"]  # the killed run's episodes are gone
    # And the run now resumes as any other.
    assert main(["train", "--resume", str(run), "--steps", "1024", "--eval-episodes", "1",
                 "--json"]) == 0


def test_resume_of_a_directory_that_holds_no_run(tmp_path, capsys, config):
    (tmp_path / "empty").mkdir()
    assert main(["train", "--resume", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"arena: --resume: '{tmp_path / 'empty'}' is not a run directory "
                   "(no run.json, no last/ checkpoint)")


def test_resume_with_a_malformed_run_json(tmp_path, capsys, config):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"algo": "ppo", "game": "cartpole", "seed": 0,
                                              "total_steps": "lots", "config": {}}))
    assert main(["train", "--resume", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"arena: '{run / 'run.json'}': field 'total_steps': 'lots' is not a whole number"
