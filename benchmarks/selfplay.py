"""AlphaZero self-play speed: positions/s, network vs search share, search cost per simulation.

For each game it runs, in this one process:

1. the search alone: self-play with the free evaluator (uniform priors,
   value 0), so the wall time is the search's own cost; reported in
   microseconds per simulation (goal: <= 30 us; alpha-zero-general's Python
   MCTS costs about 330 us per simulation);
2. self-play with the game's default network (agents/alphazero/network.py),
   `parallel` games in lockstep and one network call per step; reported in
   positions (moves) per second, with the share of wall time inside the
   evaluator (encoding + forward pass; goal: >= 70 %) and inside the search.

    .venv/bin/python benchmarks/selfplay.py [--games connect4,go9] [--device auto|cpu|cuda]
        [--sims 64] [--parallel 64] [--positions 256] [--threads N] [--json]
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
from agents.alphazero.features import game_features
from agents.alphazero.network import PolicyValueNet
from agents.alphazero.selfplay import (
    SelfPlayConfig,
    SelfPlayStats,
    play_games,
    selfplay_search,
)
from agents.learner import resolve_device
from games.registry import resolve_game


def search_cost(game_id: str, sims: int, parallel: int, positions: int) -> dict[str, float]:
    """Self-play with the free evaluator: the search's own cost per simulation."""
    features = game_features(game_id)
    spec = resolve_game(game_id)
    stats = SelfPlayStats()
    config = SelfPlayConfig(parallel=parallel, search=selfplay_search(sims=sims))
    play_games(spec.new_state, features, UniformEvaluator(features.num_actions), 10**9, config,
               np.random.default_rng(0), stats=stats, max_positions=positions)
    return {"us_per_sim": stats.wall_s / max(stats.simulations, 1) * 1e6,
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
        "wall_s": wall,
        "net": net.config.to_dict(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", default="tictactoe,connect4,go9")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sims", type=int, default=64)
    parser.add_argument("--parallel", type=int, default=64)
    parser.add_argument("--positions", type=int, default=256, help="moves to play per measurement")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    results = {}
    for game_id in args.games.split(","):
        t0 = time.perf_counter()
        free = search_cost(game_id, args.sims, args.parallel, args.positions)
        net = selfplay_speed(game_id, args.sims, args.parallel, args.positions, device)
        results[game_id] = {"search": free, "selfplay": net, "elapsed_s": time.perf_counter() - t0}
        if not args.json:
            print(f"{game_id:10s} device={device.type} sims={args.sims} parallel={args.parallel} "
                  f"net={net['net']['blocks']}x{net['net']['channels']}\n"
                  f"  search alone: {free['us_per_sim']:.1f} us/sim (goal <= 30; "
                  f"alpha-zero-general ~330)\n"
                  f"  self-play: {net['positions_per_s']:.1f} positions/s, "
                  f"{net['sims_per_s']:.0f} sims/s, batch {net['mean_batch']:.1f}; "
                  f"time in network {net['net_share']:.0%} + encoding {net['encode_share']:.0%}, "
                  f"search {net['search_share']:.0%} (goal: network >= 70%)", flush=True)
    if args.json:
        print(json.dumps({"device": device.type, "threads": torch.get_num_threads(),
                          "args": vars(args), "results": results}, indent=2))


if __name__ == "__main__":
    main()
