"""AlphaZero self-play speed: positions/s, network vs search share, search cost per simulation.

For each game it runs, in this one process:

1. the search alone: self-play with the free evaluator (uniform priors,
   value 0), so the wall time is the search's own cost; reported in
   microseconds per simulation (goal: <= 30 us on every game; a plain
   Python MCTS costs about 330 us per simulation), wall and process CPU
   time (the two agree on an idle machine; on a busy one CPU is steadier);
2. self-play with the game's default network (agents/alphazero/network.py),
   `parallel` games in lockstep and one network call per step; reported in
   positions (moves) per second, with the share of wall time inside the
   network's forward pass (goal: >= 70 %), in encoding, and in the search.

Big boards (go13 and up) have big default nets (go19's is 20 blocks of 256
channels), so their network run uses `--big-parallel` games and plays one
move in each: it stays under a minute on one CPU thread.

    .venv/bin/python benchmarks/selfplay.py [--games tictactoe,connect4,go9,go19]
        [--device auto|cpu|cuda] [--sims 32] [--parallel 32] [--positions 256]
        [--big-parallel 4] [--threads N] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents.alphazero.evaluators import TorchEvaluator, UniformEvaluator
from agents.alphazero.network import PolicyValueNet
from agents.alphazero.selfplay import (
    SelfPlayConfig,
    SelfPlayStats,
    play_games,
    selfplay_search,
)
from agents.learner import resolve_device
from games.features import game_features
from games.registry import resolve_game

SEARCH_GOAL_US = 30.0  # the search's own cost per simulation, at most
NETWORK_GOAL = 0.70  # the share of self-play wall time in the network, at least


def is_big(game_id: str) -> bool:
    """Go on 13x13 or larger: a default net too big to play many moves on a CPU."""
    return game_id.startswith("go") and game_id[2:].isdigit() and int(game_id[2:]) >= 13


def search_cost(game_id: str, sims: int, parallel: int, positions: int) -> dict[str, float]:
    """Self-play with the free evaluator: the search's own cost per simulation."""
    features = game_features(game_id)
    spec = resolve_game(game_id)
    stats = SelfPlayStats()
    config = SelfPlayConfig(parallel=parallel, search=selfplay_search(sims=sims))
    cpu = time.process_time()
    play_games(spec.new_state, features, UniformEvaluator(features.num_actions), 10**9, config,
               np.random.default_rng(0), stats=stats, max_positions=positions)
    cpu = time.process_time() - cpu
    sims_done = max(stats.simulations, 1)
    return {"us_per_sim": stats.wall_s / sims_done * 1e6, "cpu_us_per_sim": cpu / sims_done * 1e6,
            "sims": stats.simulations, "wall_s": stats.wall_s}


def selfplay_speed(game_id: str, sims: int, parallel: int, positions: int,
                   device: torch.device) -> dict[str, float]:
    """Self-play with the default network: positions/s and where the time goes."""
    features = game_features(game_id)
    spec = resolve_game(game_id)
    torch.manual_seed(0)
    net = PolicyValueNet.for_game(features)
    evaluator = TorchEvaluator(net, features, device)
    evaluator([spec.new_state()] * parallel)  # warm up (CUDA context, allocator)
    evaluator.reset_timers()
    stats = SelfPlayStats()
    config = SelfPlayConfig(parallel=parallel, search=selfplay_search(sims=sims))
    play_games(spec.new_state, features, evaluator, 10**9, config, np.random.default_rng(0),
               stats=stats, max_positions=positions)
    wall = stats.wall_s
    return {
        "positions_per_s": stats.positions / wall,
        "sims_per_s": stats.simulations / wall,
        "mean_batch": stats.leaves / max(stats.steps, 1),
        "net_share": evaluator.net_s / wall,
        "encode_share": evaluator.encode_s / wall,
        "search_share": (wall - stats.evaluate_s) / wall,
        "positions": stats.positions,
        "parallel": parallel,
        "wall_s": wall,
        "net": net.config.to_dict(),
    }


def goal(ok: bool) -> str:
    return "pass" if ok else "MISS"


def table(results: dict[str, dict]) -> str:
    """The results as a Markdown table, with the goal columns."""
    lines = [("| game | net | search µs/sim | (CPU) | ≤ 30 µs | positions/s | network "
              "| encoding | search | ≥ 70 % network |"),
             "|---|---|---:|---:|:---:|---:|---:|---:|---:|:---:|"]
    for game_id, r in results.items():
        free, play = r["search"], r["selfplay"]
        net = play["net"]
        lines.append(
            f"| {game_id} | {net['blocks']}x{net['channels']} | {free['us_per_sim']:.1f} "
            f"| {free['cpu_us_per_sim']:.1f} | {goal(free['us_per_sim'] <= SEARCH_GOAL_US)} | {play['positions_per_s']:.1f} "
            f"| {play['net_share']:.0%} | {play['encode_share']:.0%} | {play['search_share']:.0%} "
            f"| {goal(play['net_share'] >= NETWORK_GOAL)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", default="tictactoe,connect4,go9,go19",
                        help="comma-separated game ids")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--sims", type=int, default=32, help="simulations per move")
    parser.add_argument("--parallel", type=int, default=32, help="games in lockstep")
    parser.add_argument("--positions", type=int, default=256, help="moves to play per measurement")
    parser.add_argument("--big-parallel", type=int, default=4,
                        help="games in lockstep for the network run on go13 and larger "
                             "(one move each)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0: torch's default)")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    results = {}
    for game_id in args.games.split(","):
        t0 = time.perf_counter()
        free = search_cost(game_id, args.sims, args.parallel, args.positions)
        if is_big(game_id):
            net = selfplay_speed(game_id, args.sims, args.big_parallel, args.big_parallel, device)
        else:
            net = selfplay_speed(game_id, args.sims, args.parallel, args.positions, device)
        results[game_id] = {"search": free, "selfplay": net, "elapsed_s": time.perf_counter() - t0}
        if not args.json:
            print(f"{game_id:10s} net={net['net']['blocks']}x{net['net']['channels']}: "
                  f"search alone {free['us_per_sim']:.1f} us/sim; self-play "
                  f"{net['positions_per_s']:.1f} positions/s, {net['sims_per_s']:.0f} sims/s, "
                  f"batch {net['mean_batch']:.1f}, network {net['net_share']:.0%} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
    if args.json:
        print(json.dumps({"device": device.type, "threads": torch.get_num_threads(),
                          "args": vars(args), "results": results}, indent=2))
    else:
        print(f"\ndevice={device.type} threads={torch.get_num_threads()} sims={args.sims} "
              f"parallel={args.parallel} positions={args.positions} "
              f"(go13+: network run {args.big_parallel} games, one move each)\n")
        print(table(results))


if __name__ == "__main__":
    main()
