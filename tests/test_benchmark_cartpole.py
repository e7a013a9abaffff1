"""benchmarks/cartpole.py: the measures read off an evaluation history, and --help without SB3."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT, load_benchmark

SCRIPT = ROOT / "benchmarks" / "cartpole.py"
bench = load_benchmark("cartpole")


def test_first_reaches_and_stays_from_a_dip_and_recovery():
    history = [(2500, 100.0), (5000, 480.0), (7500, 470.0), (10000, 490.0), (12500, 500.0)]
    assert bench.first_reaches(history) == 5000
    assert bench.stays_from(history) == 10000


def test_never_solved():
    history = [(2500, 20.0), (5000, 474.9), (7500, 300.0)]
    assert bench.first_reaches(history) is None
    assert bench.stays_from(history) is None


def test_solved_then_collapsed_is_never_stays():
    history = [(2500, 475.0), (5000, 500.0), (7500, 120.0)]
    assert bench.first_reaches(history) == 2500  # exactly 475 counts as solved
    assert bench.stays_from(history) is None


def test_solved_from_the_first_evaluation_and_empty_history():
    assert bench.stays_from([(2500, 500.0), (5000, 500.0)]) == 2500
    assert bench.first_reaches([]) is None and bench.stays_from([]) is None


def test_median_counts_never_as_later_than_any_step():
    assert bench.median_steps([10000, None, 5000]) == 10000
    assert bench.median_steps([None, None, 5000]) is None
    assert bench.median_steps([5000, 10000]) == 7500


def test_summary_ratios_and_solved_counts():
    runs = [{"side": side, "algo": "dqn", "seed": seed, "first": first, "stays": stays,
             "train_s": t, "solved_at_end": stays is not None, "final": 500.0}
            for side, seed, first, stays, t in [
                ("arena", 0, 10000, 12500, 20.0), ("arena", 1, 15000, 15000, 30.0),
                ("sb3", 0, 20000, None, 50.0), ("sb3", 1, 30000, 30000, 70.0)]]
    summary = bench.summarize(runs, "dqn")
    assert summary["arena"]["first"] == 12500 and summary["sb3"]["first"] == 25000
    assert summary["ratio"]["first"] == 0.5
    assert summary["ratio"]["train_s"] == round(25.0 / 60.0, 4)
    assert summary["sb3"]["stays"] is None and summary["ratio"]["stays"] is None
    assert summary["arena"]["solved_at_end"] == 2 and summary["sb3"]["solved_at_end"] == 1
    assert summary["ratio"]["train_s_per_seed_median"] == round((20 / 50 + 30 / 70) / 2, 4)
    rows = bench.table(runs, "dqn", summary).splitlines()
    assert rows[4].startswith("| 0 | 10k | 12.5k |") and rows[4].endswith("| 0.40 |")
    assert rows[6].startswith("| median | 12.5k | 13.75k |")


def test_help_works_without_stable_baselines3(monkeypatch, capsys):
    done = subprocess.run([sys.executable, str(SCRIPT), "--help"], check=False,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--eval-every" in done.stdout and "--algos" in done.stdout
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)  # as if not installed
    with pytest.raises(SystemExit) as exit_help:
        bench.main(["--help"])
    assert exit_help.value.code == 0 and "--seeds" in capsys.readouterr().out
    assert bench.main(["--seeds", "0"]) == 2
    assert capsys.readouterr().err.strip() == bench.INSTALL_HINT


@pytest.mark.parametrize("args", [["--seeds", "a,b"], ["--algos", "a2c"], ["--eval-every", "0"]])
def test_bad_arguments_exit_2_with_one_line(args, capsys):
    with pytest.raises(SystemExit) as exit_bad:
        bench.parse_args(args)
    assert exit_bad.value.code == 2
    assert args[0] in capsys.readouterr().err.strip().splitlines()[-1]


def _run(side, seed, first, stays, train_s):
    evals = [[2500, 500.0 if first else 10.0, 2500]]
    return {"side": side, "algo": "dqn", "seed": seed, "steps": 50000, "train_s": train_s,
            "first": first, "stays": stays, "final": evals[-1][1],
            "solved_at_end": stays is not None, "evals": evals}


def test_report_merges_runs_split_over_processes(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"eval_every": 2500, "runs": [
        _run("arena", 0, 2500, 2500, 10.0), _run("sb3", 0, 2500, 2500, 40.0)]}))
    b.write_text(json.dumps({"eval_every": 2500, "runs": [
        _run("arena", 1, 2500, 2500, 30.0), _run("sb3", 1, None, None, 20.0)]}))
    assert bench.main(["--report", str(a), str(b), "--json"]) == 0
    merged = json.loads(capsys.readouterr().out)
    assert merged["seeds"] == [0, 1] and len(merged["runs"]) == 4
    summary = merged["summary"]["dqn"]
    assert summary["arena"]["train_s"] == 20.0 and summary["sb3"]["train_s"] == 30.0
    assert summary["sb3"]["solved_at_end"] == 1 and summary["arena"]["solved_at_end"] == 2
    assert "ppo" not in merged["summary"]
    assert bench.main(["--report", str(a), str(b)]) == 0
    assert "| median |" in capsys.readouterr().out


def test_report_of_a_file_that_is_not_a_benchmark_output(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    assert bench.main(["--report", str(bad)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"--report: '{bad}' is not a JSON output of this benchmark (TypeError)")
