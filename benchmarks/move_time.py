"""Seconds per move of the shipped models and the built-in search agents, by thread policy.

Each row is one agent at its default settings playing one game against an
opponent, in its own process, timed move by move (only the agent's own moves).
It runs in four configurations, side by side in one run:

- torch: torch's own threads (one per core), no environment variables: what
  Arena did before it set a thread policy;
- arena: Arena's thread policy (agents/threads.py: one torch thread a playing
  process), no environment variables;

each at concurrency 1 (one such process) and 2 (two alike at once, as in a
tournament on two cores). Reported: mean, 95th percentile and worst seconds a
move, and the worst ratio torch/arena. The goal is every shipped model at most
1 s a move at its default settings, with no environment variables.

    .venv/bin/python benchmarks/move_time.py [--moves 20] [--rows all] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: (label, game, agent at its default settings, opponent)
ROWS = [
    ("mcts", "tictactoe", "mcts", "random"),
    ("mcts", "connect4", "mcts", "random"),
    ("mcts", "go9", "mcts", "random"),
    ("connect4 model", "connect4", "alphazero:assets/models/connect4", "mcts:sims=200"),
    ("go9 model", "go9", "alphago:assets/models/go9-alphago", "gnugo:level=1"),
]
SHIPPED = {"connect4 model", "go9 model"}
MODES = ("torch", "arena")
POLICY_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "ARENA_THREADS", "ARENA_OMP_FROM_POLICY")


def child(game_id: str, ref: str, opponent: str, mode: str, moves: int, seed: int) -> dict:
    """Play in this process until the agent has made `moves` moves; its think times."""
    if mode == "arena":
        from agents.threads import apply_thread_policy

        apply_thread_policy("play")
    import torch

    from agents.registry import make_agent
    from agents.match import play_match
    from games.registry import resolve_game

    game = resolve_game(game_id)
    agent, other = make_agent(ref), make_agent(opponent)
    times: list[float] = []
    forfeits = 0
    game_seed = seed
    while len(times) < moves:
        seats = [agent, other] if game_seed % 2 == 0 else [other, agent]
        mine = 0 if game_seed % 2 == 0 else 1
        result = play_match(game, seats, seed=game_seed, time_per_move=30.0)
        times += [m.think_s for m in result.moves if m.player == mine]
        forfeits += result.forfeit_player == mine
        game_seed += 1
    for a in (agent, other):
        a.close()
    return {"threads": torch.get_num_threads(), "times": times[:moves], "forfeits": forfeits}


def run_config(row: tuple, mode: str, concurrency: int, moves: int) -> dict:
    """`concurrency` child processes at once; their move times pooled."""
    _, game_id, ref, opponent = row
    env = {k: v for k, v in os.environ.items() if k not in POLICY_VARS}
    procs = [subprocess.Popen(
        [sys.executable, __file__, "--child", game_id, ref, opponent, mode, str(moves), str(k)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
        for k in range(concurrency)]
    times: list[float] = []
    threads, forfeits = set(), 0
    for p in procs:
        out, err = p.communicate(timeout=1800)
        if p.returncode != 0:
            raise SystemExit(f"move_time: {ref} on {game_id} ({mode}) failed: {err.strip()[-400:]}")
        data = json.loads(out.strip().splitlines()[-1])
        times += data["times"]
        threads.add(data["threads"])
        forfeits += data["forfeits"]
    times.sort()
    return {"mean": sum(times) / len(times), "p95": times[int(0.95 * (len(times) - 1))],
            "max": times[-1], "threads": sorted(threads), "forfeits": forfeits}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        game_id, ref, opponent, mode, moves, seed = argv[1:7]
        print(json.dumps(child(game_id, ref, opponent, mode, int(moves), int(seed))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moves", type=int, default=20, help="the agent's moves per process")
    parser.add_argument("--rows", default="all",
                        help="comma-separated labels:game to run, e.g. 'go9 model:go9' (default all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.moves < 1:
        parser.error(f"--moves must be at least 1, got {args.moves}")
    rows = ROWS
    if args.rows != "all":
        wanted = {w.strip() for w in args.rows.split(",")}
        rows = [r for r in ROWS if f"{r[0]}:{r[1]}" in wanted]
        unknown = wanted - {f"{r[0]}:{r[1]}" for r in ROWS}
        if unknown:
            parser.error(f"--rows: unknown row(s) {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(f'{r[0]}:{r[1]}' for r in ROWS)})")
    report = []
    started = time.time()
    for row in rows:
        entry = {"agent": row[2], "label": row[0], "game": row[1], "opponent": row[3]}
        for concurrency in (1, 2):
            for mode in MODES:  # interleaved, so both modes see the same machine
                entry[f"{mode}_c{concurrency}"] = run_config(row, mode, concurrency, args.moves)
        report.append(entry)
        if not args.json:
            print(f"  measured {row[0]} on {row[1]} ({time.time() - started:.0f} s)",
                  file=sys.stderr)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"seconds per move ({args.moves} moves per process; mean / p95 / worst)")
    print(f"{'agent':<16}{'game':<10}{'opponent':<15}"
          + "".join(f"{m + ' c=' + str(c):>22}" for c in (1, 2) for m in MODES) + "  worst torch/arena")
    for e in report:
        cells = []
        for c in (1, 2):
            for m in MODES:
                r = e[f"{m}_c{c}"]
                cells.append(f"{r['mean']:.2f} / {r['p95']:.2f} / {r['max']:.2f}")
        ratio = max(e[f"torch_c{c}"]["max"] / e[f"arena_c{c}"]["max"] for c in (1, 2))
        print(f"{e['label']:<16}{e['game']:<10}{e['opponent']:<15}"
              + "".join(f"{cell:>22}" for cell in cells) + f"  {ratio:.1f}x")
    shipped = [e for e in report if e["label"] in SHIPPED]
    if shipped:
        worst = max(e[f"arena_c{c}"]["mean"] for e in shipped for c in (1, 2))
        print(f"shipped models, Arena's policy: worst mean {worst:.2f} s a move "
              f"({'meets' if worst <= 1.0 else 'misses'} the 1 s goal)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
