"""Tournament throughput: games/s of random-vs-random connect four through the runner.

In one run, on fresh stores, the same tournament (two random agents, N games)
is played:

- serially in this process (play_match + the store, no runner): the reference;
- by the runner on the local backend with 1 and then 2 worker processes;
- by the runner on a local Ray cluster with 2 CPUs.

Every runner figure includes what a real tournament pays: the store commit of
each game (the driver's), the lock, the planning, the pool's start. It prints
games/s and the ratios.

    .venv/bin/python benchmarks/tournament.py --games 1000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from arena.config import Settings
from tournaments.runner import run_tournament
from tournaments.spec import parse_spec


def _spec(name: str, games: int, backend: str, agent: str):
    return parse_spec({"name": name, "game": "connect4", "backend": backend,
                       "games_per_pairing": games, "seed": 0,
                       "participants": [{"name": "a", "agent": agent},
                                        {"name": "b", "agent": agent}]}, f"{name}.yaml")


def serial(games: int, data_dir: Path, agent: str) -> float:
    """Games/s of the plain loop: play_match and a store write, one game after another."""
    from agents.registry import make_agent
    from agents.match import play_match
    from tournaments.store import Store, StoreWriter
    from games.registry import resolve_game

    store = Store(data_dir / "serial.db")
    game = resolve_game("connect4")
    agents = [make_agent(agent), make_agent(agent)]
    writer = StoreWriter(store)
    start = time.perf_counter()
    for i in range(games):
        play_match(game, agents if i % 2 == 0 else agents[::-1], seed=i // 2, observers=[writer],
                   time_per_move=30.0, max_moves=10_000)
    elapsed = time.perf_counter() - start
    store.close()
    return games / elapsed


def runner(games: int, data_dir: Path, backend: str, concurrency: int, agent: str) -> float:
    """Games/s of the tournament runner (pool start and store commits included)."""
    settings = Settings(data_dir=data_dir, time_per_move=30.0, max_moves=10_000)
    spec = _spec(f"bench-{backend}-{concurrency}", games, backend, agent)
    start = time.perf_counter()
    report = run_tournament(spec, settings, concurrency=concurrency)
    elapsed = time.perf_counter() - start
    assert report.done == games, report
    return games / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=1000, help="games per configuration")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray backend")
    parser.add_argument("--agent", default="random",
                        help="the agent on both sides (default random; try mcts:sims=50 to see "
                             "scaling when the games, not the driver, take the time)")
    args = parser.parse_args()
    agent = args.agent
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        rows.append(("serial: play_match + store, in this process",
                     serial(args.games, data, agent)))
        rows.append(("runner, local backend, concurrency 1",
                     runner(args.games, data, "local", 1, agent)))
        rows.append(("runner, local backend, concurrency 2",
                     runner(args.games, data, "local", 2, agent)))
        if not args.no_ray:
            import ray

            t0 = time.perf_counter()
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            print(f"(Ray cluster started in {time.perf_counter() - t0:.1f}s; not counted)")
            try:
                runner(20, data / "warm", "ray", 2, agent)  # Ray starts its workers lazily
                rows.append(("runner, ray backend, 2 CPUs",
                             runner(args.games, data, "ray", 2, agent)))
            finally:
                ray.shutdown()
    base = rows[1][1]
    print(f"\n{agent} vs {agent}, connect four, {args.games} games per row\n")
    print(f"{'configuration':<46} {'games/s':>8} {'vs local c=1':>13}")
    for name, rate in rows:
        print(f"{name:<46} {rate:>8.0f} {rate / base:>12.2f}x")
    print(f"\nscaling, local: c=2 / c=1 = {rows[2][1] / rows[1][1]:.2f}x")
    if len(rows) > 3:
        print(f"ray (2 CPUs) / local c=2 = {rows[3][1] / rows[2][1]:.2f}x")


if __name__ == "__main__":
    main()
