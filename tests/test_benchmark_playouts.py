"""benchmarks/playouts.py: both playouts finish games from the same positions; bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from conftest import ROOT, load_benchmark

from games.go.state import GoState

SCRIPT = ROOT / "benchmarks" / "playouts.py"
bench = load_benchmark("playouts")


def test_the_python_playout_is_a_fair_light_playout():
    # Black walls off columns A-C, white D-E on 5x5: random playouts mostly keep the count.
    moves = [m for r in "12345" for m in (f"C{r}", f"D{r}")]
    state = GoState.from_moves(5, 0.5, moves)
    rng = np.random.default_rng(0)
    results = [bench.python_playout(state, rng) for _ in range(60)]
    assert set(results) <= {-1.0, 1.0}
    assert np.mean(results) > 0.2


def test_it_reports_both_playouts_per_position(capsys):
    assert bench.main(["--sizes", "5", "--playouts", "50", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["size"], r["position"]) for r in rows] == [(5, "empty"), (5, "mid-game")]
    for r in rows:
        assert r["python_us"] > 0 and r["arena_us"] > 0
        assert r["speedup"] == r["python_us"] / r["arena_us"]


def test_bad_sizes_are_one_line_errors():
    done = subprocess.run([sys.executable, str(SCRIPT), "--sizes", "nine"], check=False,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--sizes" in done.stderr and "nine" in done.stderr and "Traceback" not in done.stderr
