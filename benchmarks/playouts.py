"""Go playout speed: Arena's compiled rollout policy against a plain Python one.

AlphaGo-style search (agents/alphago/agent.py with lambda > 0) plays fast
playouts from its leaves to the end of the game. Two playout policies run
here side by side, from the same positions, in one process:

- python: uniformly random legal moves that never fill one's own eye, on
  GoState (the rules engine is compiled; the policy loop is Python and numpy).
  It is the light policy of early Monte Carlo Go programs, written as most
  Python Go projects write it;
- arena: ``GoState.rollout`` (games/go/_core.c), the whole playout in C with
  the heavier MoGo-style policy (captures, saving groups in atari, 3x3
  patterns, no self-atari).

Reported per board size: microseconds per playout from the empty board and
from a mid-game position (30 random moves in), and the ratio.

    .venv/bin/python benchmarks/playouts.py [--sizes 9,19] [--playouts 2000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from games.go.state import GoState


def python_playout(state: GoState, rng: np.random.Generator) -> float:
    """Random non-eye-filling moves to the end; the result for the side to move at `state`."""
    s = state.copy()
    n = s.size
    me = state.to_play
    while not s.is_terminal():
        board = np.pad(s.board(), 1, constant_values=s.to_play + 1)  # off-board counts as own
        own = board == s.to_play + 1
        eye = own[:-2, 1:-1] & own[2:, 1:-1] & own[1:-1, :-2] & own[1:-1, 2:]
        legal = s.legal_mask()[: n * n].astype(bool) & ~eye.reshape(-1)
        moves = np.flatnonzero(legal)
        s.play(int(moves[rng.integers(len(moves))]) if len(moves) else s.pass_action)
    return float(s.returns()[me])


def positions(size: int) -> dict[str, GoState]:
    rng = np.random.default_rng(0)
    mid = GoState(size)
    for _ in range(30):
        legal = [a for a in mid.legal_actions() if a != mid.pass_action]
        mid.play(int(rng.choice(legal)))
    return {"empty": GoState(size), "mid-game": mid}


def measure(size: int, playouts: int) -> list[dict]:
    rows = []
    for name, state in positions(size).items():
        rng = np.random.default_rng(1)
        python_n = max(playouts // 50, 20)  # the Python loop is much slower
        start = time.perf_counter()
        for _ in range(python_n):
            python_playout(state, rng)
        python_us = (time.perf_counter() - start) / python_n * 1e6
        start = time.perf_counter()
        state.rollout(count=playouts, seed=1)
        arena_us = (time.perf_counter() - start) / playouts * 1e6
        rows.append({"size": size, "position": name, "python_us": python_us,
                     "arena_us": arena_us, "speedup": python_us / arena_us})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="9,19", help="board sizes, comma-separated")
    parser.add_argument("--playouts", type=int, default=2000, help="arena playouts per position")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        parser.error(f"--sizes: expected comma-separated board sizes, got '{args.sizes}'")
    if any(not 5 <= size <= 19 for size in sizes):
        parser.error(f"--sizes: board sizes must be 5..19, got '{args.sizes}'")
    if args.playouts < 1:
        parser.error(f"--playouts: must be at least 1, got {args.playouts}")
    rows = [row for size in sizes for row in measure(size, args.playouts)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'board':>5} {'position':>9} {'python us':>10} {'arena us':>9} {'arena speedup':>14}")
    for r in rows:
        print(f"{r['size']:>5} {r['position']:>9} {r['python_us']:>10.0f} {r['arena_us']:>9.1f} "
              f"{r['speedup']:>13.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
