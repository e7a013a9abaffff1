"""benchmarks/move_time.py: both thread modes at both concurrencies, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT, load_benchmark

SCRIPT = ROOT / "benchmarks" / "move_time.py"
bench = load_benchmark("move_time")


def test_it_times_one_row_in_all_four_configurations(capsys):
    assert bench.main(["--moves", "2", "--rows", "mcts:tictactoe", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["label"], row["game"]) == ("mcts", "tictactoe")
    for mode in ("torch", "arena"):
        for c in (1, 2):
            r = row[f"{mode}_c{c}"]
            assert 0 < r["mean"] <= r["max"] and r["forfeits"] == 0
    assert row["arena_c1"]["threads"] == [1]  # the policy, with no environment variables


def test_an_unknown_row_is_one_line_with_exit_2():
    done = subprocess.run([sys.executable, str(SCRIPT), "--rows", "nope:go9"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "unknown row(s) nope:go9" in done.stderr and "Traceback" not in done.stderr
