"""Random Go games: Arena's compiled engine against PettingZoo's go_base.

Both play the same "play-and-copy" cycle a tree search does, in this one
process, interleaved game by game so machine noise hits both alike:

    Arena:    legal = s.legal_actions(); a = pick(legal); s = s.copy(); s.play(a)
    go_base:  legal = flatnonzero(pos.all_legal_moves()); a = pick(legal);
              pos = pos.play_move(from_flat(a))            # play_move copies

`pick` is the same `random.Random.randrange` draw for both. A game ends on
two passes or at 3 * size * size plies. Prints plies/s for each and the ratio
per size, Arena alone playing in place (no copy), and the cost of single
operations. A benchmark, not a test: it never asserts anything about time.

    .venv/bin/python benchmarks/go_engine.py [--games N] [--sizes 9 19]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pettingzoo.classic.go import coords, go_base

from games.go.state import GoState


def use_go_base_size(n: int) -> None:
    """Point go_base's module globals at an n x n board, as go_v5's env does on creation."""
    def on_board(c: tuple[int, int]) -> bool:
        return 0 <= c[0] < n and 0 <= c[1] < n

    go_base.N = n
    go_base.ALL_COORDS = [(i, j) for i in range(n) for j in range(n)]
    go_base.EMPTY_BOARD = np.zeros([n, n], dtype=np.int8)
    go_base.NEIGHBORS = {
        (x, y): list(filter(on_board, [(x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)]))
        for x, y in go_base.ALL_COORDS
    }
    go_base.DIAGONALS = {
        (x, y): list(filter(on_board, [(x + 1, y + 1), (x + 1, y - 1), (x - 1, y + 1),
                                       (x - 1, y - 1)]))
        for x, y in go_base.ALL_COORDS
    }


def arena_game(n: int, rng: random.Random) -> int:
    """One random game with copy before every move; returns the plies played."""
    s = GoState(n)  # default cap: 3 * n * n plies
    while True:
        legal = s.legal_actions()
        if not legal:
            return s.moves_played
        a = legal[rng.randrange(len(legal))]
        s = s.copy()
        s.play(a)


def arena_game_in_place(n: int, rng: random.Random) -> int:
    """One random game played on a single state (no copies)."""
    s = GoState(n)
    while True:
        legal = s.legal_actions()
        if not legal:
            return s.moves_played
        s.play(legal[rng.randrange(len(legal))])


def go_base_game(n: int, rng: random.Random) -> int:
    """One random game with go_base, whose play_move returns a modified copy."""
    pos = go_base.Position(komi=7.5)
    cap = 3 * n * n
    while pos.n < cap and not pos.is_game_over():
        legal = np.flatnonzero(pos.all_legal_moves()).tolist()
        a = legal[rng.randrange(len(legal))]
        pos = pos.play_move(coords.from_flat(a))
    return pos.n


def race(n: int, games: int, seed: int, repeat: int) -> None:
    use_go_base_size(n)
    totals = {"arena": [0, 0.0], "go_base": [0, 0.0], "arena in place": [0, 0.0]}
    players = {"arena": arena_game, "go_base": go_base_game, "arena in place": arena_game_in_place}
    names = list(players)
    for g in range(games):
        # Rotate who goes first so that no engine always runs on a cold cache.
        for name in names[g % 3:] + names[:g % 3]:
            play = players[name]
            # Arena's games take microseconds: replaying each one `repeat` times
            # gives its timings as many samples as go_base's.
            for _ in range(1 if name == "go_base" else repeat):
                rng = random.Random(seed + g)  # every engine meets the same draws
                start = time.perf_counter()
                plies = play(n, rng)
                totals[name][1] += time.perf_counter() - start
                totals[name][0] += plies
    rate = {name: plies / seconds for name, (plies, seconds) in totals.items()}
    print(f"\n{n}x{n}: {games} random games (Arena plays each {repeat} times)")
    for name, (plies, seconds) in totals.items():
        print(f"  {name:<15} {plies:>8} plies  {seconds:7.2f} s  {rate[name]:>10,.0f} plies/s  "
              f"{1e6 / rate[name]:8.2f} us/ply")
    print(f"  ratio arena / go_base (play-and-copy): {rate['arena'] / rate['go_base']:.1f}x")


def micro(n: int) -> None:
    """Per-call cost of the hot operations in a mid-game position."""
    rng = random.Random(0)
    s = GoState(n, max_moves=0)
    for _ in range(n * n // 2):  # roughly half the board filled, some captures
        legal = s.legal_actions()
        s.play(legal[rng.randrange(len(legal) - 1)] if len(legal) > 1 else s.pass_action)
    move = next(a for a in s.legal_actions() if a != s.pass_action)
    number = 20_000

    def per_call(stmt, setup="pass") -> float:
        names = {"s": s, "move": move}
        best = min(timeit.repeat(stmt, setup, number=number, repeat=7, globals=names))
        return best / number * 1e6

    copy_us = per_call("s.copy()")
    copy_play_us = per_call("s.copy().play(move)")
    print(f"\n{n}x{n} single operations ({s.moves_played} plies in, "
          f"{int((s.board() != 0).sum())} stones, {len(s.legal_actions())} legal):")
    print(f"  copy()           {copy_us:6.3f} us")
    print(f"  play() (+copy)   {copy_play_us - copy_us:6.3f} us  (copy+play {copy_play_us:.3f} us)")
    print(f"  legal_actions()  {per_call('s.legal_actions()'):6.3f} us")
    print(f"  legal_mask()     {per_call('s.legal_mask()'):6.3f} us")
    print(f"  is_legal(move)   {per_call('s.is_legal(move)'):6.3f} us")
    print(f"  score()          {per_call('s.score()'):6.3f} us")
    print(f"  planes(8)        {per_call('s.planes(8)'):6.3f} us")
    print(f"  observation(0)   {per_call('s.observation(0)'):6.3f} us")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=30, help="random games per engine and size")
    parser.add_argument("--sizes", type=int, nargs="+", default=[9, 19], help="board sizes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=20,
                        help="times Arena replays each game, for steadier timings")
    parser.add_argument("--no-micro", action="store_true", help="skip the single-operation timings")
    args = parser.parse_args(argv)
    for n in args.sizes:
        race(n, args.games, args.seed, args.repeat)
        if not args.no_micro:
            micro(n)


if __name__ == "__main__":
    main()
