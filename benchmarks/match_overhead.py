"""Random-vs-random connect four: Arena's match loop against a bare PettingZoo loop.

Both run in this one process, interleaved round by round, so machine noise
hits both alike. Prints games/s for each and the ratios.

    .venv/bin/python benchmarks/match_overhead.py [--games N] [--rounds R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pettingzoo.classic import connect_four_v3  # noqa: E402

from agents.random_agent import RandomAgent  # noqa: E402
from agents.match import play_match  # noqa: E402
from tournaments.store import Store, StoreWriter  # noqa: E402
from games.registry import resolve_game  # noqa: E402


def bare_loop(make_env, games: int, seed: int) -> int:
    """The loop a PettingZoo user writes: agent_iter, last, a random legal action, step."""
    rng = np.random.default_rng(seed)
    env = make_env()
    plies = 0
    for g in range(games):
        env.reset(seed=seed + g)
        for agent in env.agent_iter():
            obs, reward, terminated, truncated, info = env.last()
            if terminated or truncated:
                action = None
            else:
                legal = np.flatnonzero(obs["action_mask"])
                action = int(legal[rng.integers(len(legal))])
                plies += 1
            env.step(action)
    return plies


def arena_loop(games: int, seed: int, time_per_move: float | None = None,
               store: Store | None = None) -> int:
    game = resolve_game("connect4")
    agents = [RandomAgent(), RandomAgent()]
    observers = [StoreWriter(store)] if store is not None else []
    plies = 0
    for g in range(games):
        result = play_match(game, agents, seed=seed + g, time_per_move=time_per_move,
                            observers=observers)
        plies += result.plies
    return plies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=300, help="games per timing (default 300)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    store = Store(Path(tmp.name) / "bench.db")
    arena_env = resolve_game("connect4").make_env
    cases = {
        "pettingzoo connect_four_v3, bare loop": lambda s: bare_loop(connect_four_v3.env, args.games, s),
        "arena env, bare loop": lambda s: bare_loop(arena_env, args.games, s),
        "arena match loop": lambda s: arena_loop(args.games, s),
        "arena match loop + time limit + store": lambda s: arena_loop(args.games, s, 30.0, store),
    }
    rates: dict[str, list[float]] = {name: [] for name in cases}
    plies: dict[str, int] = {}
    for r in range(args.rounds):
        for name, run in cases.items():
            start = time.perf_counter()
            plies[name] = run(1000 * r)
            rates[name].append(args.games / (time.perf_counter() - start))
    base = statistics.median(rates["pettingzoo connect_four_v3, bare loop"])
    print(f"connect four, random vs random, {args.games} games x {args.rounds} rounds "
          f"(median games/s; ratio to the bare PettingZoo loop)")
    for name in cases:
        rate = statistics.median(rates[name])
        print(f"  {name:<40} {rate:9.1f} games/s  {rate / base:6.2f}x")
    store.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
