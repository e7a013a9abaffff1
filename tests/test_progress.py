"""Progress of `arena train` and `arena eval` when their output goes to a pipe, and the ETA."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

from conftest import ARENA, ROOT, run_arena

from arena.progress import CountProgress, ProgressLine, eta_seconds, format_eta

TRAIN_LINE = re.compile(r"^step ([\d,]+)/([\d,]+) \(\d+%\)  \d+ steps/s  return \S+  "
                        r"best eval \S+  (ETA (\S+)|done in \d+:\d\d)$")


def test_an_eta_is_never_negative():
    assert format_eta(-115) == "0:00"  # was "-1:55" once the run went past its target
    assert format_eta(0) == "0:00" and format_eta(59.9) == "0:59" and format_eta(3725) == "1:02:05"
    assert format_eta(None) == "-" and format_eta(float("inf")) == "-"
    assert eta_seconds(6092, 6000, 11000.0) == 0.0  # past the target: done
    assert eta_seconds(100, 6000, None) is None  # no rate yet: unknown, not 0
    assert eta_seconds(1000, 6000, 500.0) == 10.0


def test_plain_lines_when_the_stream_is_not_a_terminal(tmp_path):
    with (tmp_path / "log").open("w") as stream:  # a file: not a terminal
        progress = CountProgress("eval x on cartpole", 3, line=ProgressLine(stream, every_s=0.0))
        assert not progress.line.live
        for done in range(4):
            progress.update(done, f"mean return {done}")
        progress.finish(3)
    lines = (tmp_path / "log").read_text().splitlines()
    assert "\r" not in "".join(lines)
    assert lines[0].startswith("eval x on cartpole: 0/3 episodes")
    assert lines[-1].startswith("eval x on cartpole: 3/3 episodes") and "done in" in lines[-1]
    assert len(lines) == 5


def test_the_default_interval_is_ten_seconds(monkeypatch, tmp_path):
    monkeypatch.delenv("ARENA_PROGRESS_EVERY", raising=False)
    with (tmp_path / "log").open("w") as stream:
        assert ProgressLine(stream).every_s == 10.0


def test_train_in_a_pipe_prints_progress_lines_while_it_runs(tmp_path, config):
    """stderr is a pipe: plain lines arrive as training goes, not one redrawn line at the end."""
    env = dict(os.environ, ARENA_PROGRESS_EVERY="0.3")
    process = subprocess.Popen(
        [*ARENA, "train", "pg", "cartpole", "--steps", "40000", "--eval-episodes", "2",
         "--out", str(tmp_path / "run")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    lines: list[str] = []
    alive_at_first = None
    start = time.monotonic()
    try:
        for line in process.stderr:
            line = line.rstrip("\n")
            lines.append(line)
            if alive_at_first is None and TRAIN_LINE.match(line):
                alive_at_first = process.poll() is None
        out = process.stdout.read()
        assert process.wait(timeout=300) == 0, "\n".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
    assert time.monotonic() - start < 300
    progress = [line for line in lines if TRAIN_LINE.match(line)]
    assert alive_at_first, lines  # the first line came while the run was still training
    assert len(progress) >= 3, lines
    assert not any("\r" in line for line in lines)
    assert "done in" in progress[-1] and "40," in progress[-1]
    for line in progress[:-1]:
        eta = TRAIN_LINE.match(line).group(4)
        assert eta == "-" or re.fullmatch(r"\d+:\d\d", eta), line  # never negative
    steps = [int(TRAIN_LINE.match(line).group(1).replace(",", "")) for line in progress]
    assert steps == sorted(steps)
    assert "pg on cartpole: done" in out


def test_eval_in_a_pipe_prints_progress(config, monkeypatch):
    monkeypatch.setenv("ARENA_PROGRESS_EVERY", "0.0001")
    result = run_arena("eval", "random", "cartpole", "--episodes", "25", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["episodes"] == 25  # stdout holds the figures alone
    lead = "eval random on cartpole:"
    lines = [line for line in result.stderr.splitlines() if line.startswith(lead)]
    assert lines[0].startswith("eval random on cartpole: 0/25 episodes")
    assert lines[-1].startswith(f"{lead} 25/25 episodes") and "done in" in lines[-1]
    done = [int(re.search(r": (\d+)/25", line).group(1)) for line in lines]
    assert len(done) >= 4 and done == sorted(done)
    assert "\r" not in result.stderr


def test_eval_progress_default_interval_prints_first_and_last(config, monkeypatch):
    monkeypatch.delenv("ARENA_PROGRESS_EVERY", raising=False)
    result = run_arena("eval", "random", "cartpole", "--episodes", "3")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert any(line.startswith("eval random on cartpole: 0/3 episodes") for line in lines)
    assert any(line.startswith("eval random on cartpole: 3/3 episodes") for line in lines)
    assert "mean return" in result.stdout
