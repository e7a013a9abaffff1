"""Self-play with batched inference: many games in lockstep, one network call per step.

Every game has its own search tree. Each step asks every tree for a leaf
(or `leaves_per_game` leaves, kept apart by a virtual loss), evaluates all
of them in ONE call of the evaluator (one forward pass, on the GPU when
there is one), then backs the values up. A game whose tree has had its
simulations for this move plays a move (AlphaZero's temperature, then
greedy), keeps the chosen subtree, and records the training example
(planes, visit distribution, player to move). A finished game is replaced
by a new one until `n_games` have been played.

The leaves of one step are encoded in one pass (GameFeatures.encode_batch)
and the values come back as Python floats in one conversion; the whole run
keeps Python's cyclic garbage collector paused (mcts.paused_gc), so the
search itself costs a few microseconds per simulation.

Resignation: a player resigns when its best move's value is below
`resign_threshold`, except in a `no_resign_share` of games, which are
played out to count false resignations: a player that would have resigned
but did not lose.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from agents.alphazero.puct import MCTS, Evaluate, Pending, SearchConfig, paused_gc
from games.features import GameFeatures
from games.state import GameState


def selfplay_search(**overrides: object) -> SearchConfig:
    """The search settings of self-play: root noise on, 30 sampled moves, resignation off."""
    values: dict[str, object] = {"root_noise": True, "temperature_moves": 30}
    values.update(overrides)
    return SearchConfig(**values)  # type: ignore[arg-type]


@dataclass
class SelfPlayConfig:
    """How many games run at once and how each one searches."""

    parallel: int = 64  # games in lockstep (the network's batch is about parallel * leaves_per_game)
    leaves_per_game: int = 1
    search: SearchConfig = field(default_factory=selfplay_search)


@dataclass
class GameRecord:
    """One self-play game: the training examples and how it ended."""

    planes: list[np.ndarray] = field(default_factory=list)
    policies: list[np.ndarray] = field(default_factory=list)
    players: list[int] = field(default_factory=list)
    moves: list[int] = field(default_factory=list)
    returns: tuple[float, float] = (0.0, 0.0)
    resigned: int | None = None  # the player who resigned
    resign_disabled: bool = False
    would_resign: list[int] = field(default_factory=list)  # players whose resign test fired (no-resign games)

    def false_resignations(self) -> int:
        """How many players would have resigned here and yet did not lose."""
        return sum(1 for p in self.would_resign if self.returns[p] >= 0)

    def samples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(planes (T, C, H, W), policies (T, A), values (T,)): z is the result for the player to move."""
        z = np.array([self.returns[p] for p in self.players], dtype=np.float32)
        return np.stack(self.planes), np.stack(self.policies), z


@dataclass
class SelfPlayStats:
    """What a self-play run cost."""

    games: int = 0
    positions: int = 0  # moves played
    simulations: int = 0  # evaluated leaves plus walks that ended on a finished game
    leaves: int = 0  # positions evaluated
    steps: int = 0  # evaluator calls
    wall_s: float = 0.0
    evaluate_s: float = 0.0  # wall time inside the evaluator
    false_resignations: int = 0
    resign_checked_games: int = 0


class _Slot:
    __slots__ = ("move_number", "no_resign", "record", "sims_left", "tree")

    def __init__(self, tree: MCTS, sims: int, no_resign: bool) -> None:
        self.tree = tree
        self.record = GameRecord(resign_disabled=no_resign)
        self.move_number = 0
        self.sims_left = sims
        self.no_resign = no_resign


def play_games(new_state: Callable[[], GameState], features: GameFeatures, evaluate: Evaluate,
               n_games: int, config: SelfPlayConfig | None = None,
               rng: np.random.Generator | None = None,
               on_game: Callable[[GameRecord], None] | None = None,
               stats: SelfPlayStats | None = None,
               max_positions: int | None = None) -> list[GameRecord]:
    """Play `n_games` self-play games, `config.parallel` at a time; returns them in finishing order.

    `on_game` is called with each finished game; `stats` (if given) is
    filled in with counts and timings. With `max_positions`, play stops once
    that many moves have been played (for benchmarks), dropping unfinished games.
    """
    with paused_gc():
        return _play_games(new_state, features, evaluate, n_games, config, rng, on_game, stats,
                           max_positions)


def _play_games(new_state: Callable[[], GameState], features: GameFeatures, evaluate: Evaluate,
                n_games: int, config: SelfPlayConfig | None, rng: np.random.Generator | None,
                on_game: Callable[[GameRecord], None] | None, stats: SelfPlayStats | None,
                max_positions: int | None) -> list[GameRecord]:
    config = config or SelfPlayConfig()
    rng = rng or np.random.default_rng()
    stats = stats if stats is not None else SelfPlayStats()
    search = config.search
    sims = search.sims
    leaves = config.leaves_per_game
    vl = search.virtual_loss if leaves > 1 else 0.0
    resign = search.resign_threshold
    num_actions = features.num_actions
    started = 0
    finished: list[GameRecord] = []
    t_start = time.perf_counter()

    def new_slot() -> _Slot:
        nonlocal started
        started += 1
        no_resign = resign is not None and rng.random() < search.no_resign_share
        return _Slot(MCTS(new_state(), search, np.random.default_rng(rng.integers(2**63))),
                     sims, no_resign)

    def finish(slot: _Slot, returns: tuple[float, float]) -> None:
        record = slot.record
        record.returns = returns
        stats.games += 1
        if record.resign_disabled:
            stats.resign_checked_games += 1
            stats.false_resignations += record.false_resignations()
        finished.append(record)
        if on_game is not None:
            on_game(record)

    slots = [new_slot() for _ in range(min(config.parallel, n_games))]
    while slots:
        trees: list[MCTS] = []
        pendings: list[Pending] = []
        finished_walks = 0  # simulations that ended on a terminal position
        for slot in slots:
            tree = slot.tree
            for _ in range(leaves):
                if slot.sims_left <= 0:
                    break
                collisions = tree.collisions
                pending = tree.select_leaf(vl)
                if pending is None:
                    if tree.collisions != collisions:
                        break  # this tree's best leaf is already in flight
                    slot.sims_left -= 1  # a terminal position: a finished simulation
                    finished_walks += 1
                    continue
                trees.append(tree)
                pendings.append(pending)
                slot.sims_left -= 1
        stats.simulations += finished_walks
        if pendings:
            t0 = time.perf_counter()
            priors, values = evaluate([pending.leaf.state for pending in pendings])
            stats.evaluate_s += time.perf_counter() - t0
            stats.steps += 1
            stats.leaves += len(pendings)
            stats.simulations += len(pendings)
            for tree, pending, prior, value in zip(trees, pendings, priors,
                                                   np.asarray(values).tolist(), strict=True):
                tree.expand(pending, prior, value)

        still: list[_Slot] = []
        for slot in slots:
            if slot.sims_left > 0:
                still.append(slot)
                continue
            tree, record = slot.tree, slot.record
            root = tree.root
            player = root.to_play
            if resign is not None and tree.should_resign():
                if not slot.no_resign:
                    record.resigned = player
                    finish(slot, (-1.0, 1.0) if player == 0 else (1.0, -1.0))
                    if started < n_games:
                        still.append(new_slot())
                    continue
                if player not in record.would_resign:
                    record.would_resign.append(player)
            record.planes.append(features.encode(root.state))
            record.policies.append(tree.policy(num_actions))
            record.players.append(player)
            action = tree.choose(slot.move_number)
            record.moves.append(action)
            stats.positions += 1
            tree.advance(action)
            slot.move_number += 1
            if tree.root.terminal:
                finish(slot, tree.root.state.returns())
                if started < n_games:
                    still.append(new_slot())
                continue
            slot.sims_left = sims
            still.append(slot)
        slots = still
        if max_positions is not None and stats.positions >= max_positions:
            break
    stats.wall_s += time.perf_counter() - t_start
    return finished
