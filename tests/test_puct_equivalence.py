"""The fast PUCT search (compiled walk, backup and expansion) searches exactly as plain PUCT does.

A straightforward PUCT, written here with dicts and Python floats, is the
reference: the search must give the same visit counts on fixed positions,
with the free evaluator and with a deterministic evaluator whose priors and
values depend on the position. The compiled helpers must also equal their
Python twins in puct.py to the last bit, batched (virtual loss) and with
root noise.
"""

from __future__ import annotations

import gc
import math

import numpy as np
import pytest

from agents.alphazero import puct
from agents.alphazero.evaluators import UniformEvaluator
from agents.alphazero.puct import MCTS, SearchConfig
from agents.alphazero.selfplay import SelfPlayConfig, play_games, selfplay_search
from games.connect4 import Connect4State
from games.features import _observation_planes, game_features
from games.go.state import GoState
from games.state import GameState
from games.tictactoe import TicTacToeState


def hashed_evaluator(num_actions: int):
    """Priors and values that depend only on the position (a stand-in for a network)."""

    def evaluate(states):
        priors = np.empty((len(states), num_actions), dtype=np.float32)
        values = np.empty(len(states), dtype=np.float32)
        for k, state in enumerate(states):
            code = int.from_bytes(state.observation(state.to_play).tobytes()[:64], "little")
            rng = np.random.default_rng(code % (2**63) + state.to_play)
            priors[k] = rng.dirichlet(np.ones(num_actions))
            values[k] = rng.uniform(-1, 1)
        return priors, values

    return evaluate


class RefNode:
    def __init__(self, state: GameState) -> None:
        self.state = state
        self.player = state.to_play
        self.terminal = state.is_terminal()
        self.moves: list[int] = []
        self.P: dict[int, float] = {}
        self.N: dict[int, float] = {}
        self.W: dict[int, float] = {}
        self.children: dict[int, RefNode] = {}
        self.visits = 0.0
        self.expanded = False


def reference_visits(state: GameState, evaluate, sims: int, c_base: float = 19652.0,
                     c_init: float = 1.25) -> dict[int, float]:
    """Plain PUCT, one leaf per simulation: the root's visit count of each legal move.

    The score is written Q + C(s) sqrt(N(s)) * (P / (1 + N(s,a))), the same
    order of float operations as the search, so that equal inputs give equal
    (not merely close) scores and ties go to the lowest move in both.
    """
    root = RefNode(state.copy())
    for _ in range(sims):
        node, path = root, []
        while node.expanded and not node.terminal:
            n = node.visits
            scale = (math.log((1.0 + n + c_base) / c_base) + c_init) * math.sqrt(n)
            best, best_score = None, -math.inf
            for a in node.moves:
                q = node.W[a] / node.N[a] if node.N[a] > 0 else 0.0
                score = q + scale * (node.P[a] / (1.0 + node.N[a]))
                if score > best_score:
                    best, best_score = a, score
            path.append((node, best))
            if best not in node.children:
                child_state = node.state.copy()
                child_state.play(best)
                node.children[best] = RefNode(child_state)
            node = node.children[best]
        if node.terminal:
            value = node.state.returns()[node.player]
        else:
            priors, values = evaluate([node.state])
            legal = node.state.legal_actions()
            p = priors[0][legal].astype(np.float64)
            p /= p.sum()
            node.moves = legal
            node.P = dict(zip(legal, p.tolist(), strict=True))
            node.N = dict.fromkeys(legal, 0.0)
            node.W = dict.fromkeys(legal, 0.0)
            node.expanded = True
            value = float(values[0])
        node.visits += 1
        for parent, a in path:
            parent.N[a] += 1
            parent.W[a] += value if parent.player == node.player else -value
            parent.visits += 1
    return {a: root.N[a] for a in root.moves}


def c4(*moves: int) -> Connect4State:
    state = Connect4State()
    for m in moves:
        state.play(m)
    return state


def ttt(*moves: int) -> TicTacToeState:
    state = TicTacToeState()
    for m in moves:
        state.play(m)
    return state


POSITIONS = [
    ("tictactoe-empty", TicTacToeState, 9),
    ("tictactoe-mid", lambda: ttt(4, 0, 8), 9),
    ("connect4-empty", Connect4State, 7),
    ("connect4-threat", lambda: c4(0, 6, 1, 6, 2), 7),
    ("connect4-win", lambda: c4(0, 0, 1, 1, 2, 2), 7),
]


@pytest.mark.parametrize("evaluator", ["uniform", "hashed"])
@pytest.mark.parametrize(("name", "make", "num_actions"), POSITIONS, ids=[p[0] for p in POSITIONS])
def test_search_visits_equal_plain_puct(name, make, num_actions, evaluator):
    evaluate = (UniformEvaluator(num_actions) if evaluator == "uniform"
                else hashed_evaluator(num_actions))
    sims = 300
    expected = reference_visits(make(), evaluate, sims)
    tree = MCTS(make(), SearchConfig(), np.random.default_rng(0))
    tree.search(evaluate, sims)
    actions, counts = tree.visit_counts()
    assert dict(zip(actions, counts.tolist(), strict=True)) == expected
    assert sum(expected.values()) == sims - 1  # the first simulation evaluates the root


def _python_twins(monkeypatch) -> None:
    monkeypatch.setattr(puct, "descend", puct.descend_py)
    monkeypatch.setattr(puct, "backup", puct.backup_py)
    monkeypatch.setattr(puct, "expand_stats", puct.expand_stats_py)
    monkeypatch.setattr(puct, "expand_backup", puct.expand_backup_py)


def _search_trace(make, evaluate, batch: int, noise: bool) -> list[tuple]:
    config = SearchConfig(root_noise=noise, temperature_moves=2)
    tree = MCTS(make(), config, np.random.default_rng(5))
    trace = []
    for move in range(5):
        tree.search(evaluate, 120, batch=batch)
        root = tree.root
        trace.append((root.actions, root.N.tobytes(), root.W.tobytes(), root.Q.tobytes(),
                      root.PU.tobytes(), root.prior.tobytes(), root.visits, root.value_sum,
                      tree.collisions))
        tree.advance(tree.choose(move))
        if tree.root.terminal:
            break
    return trace


@pytest.mark.parametrize(("make", "num_actions"), [
    (Connect4State, 7),
    (lambda: GoState(7), 50),
], ids=["connect4", "go7"])
@pytest.mark.parametrize("batch", [1, 8])
def test_compiled_search_equals_its_python_twin_bit_for_bit(make, num_actions, batch, monkeypatch):
    assert puct._puct is not None, "the compiled search helpers are not built (make setup)"
    evaluate = hashed_evaluator(num_actions)
    fast = _search_trace(make, evaluate, batch, noise=True)
    _python_twins(monkeypatch)
    slow = _search_trace(make, evaluate, batch, noise=True)
    assert fast == slow


def test_expansion_restricts_and_normalises_priors_as_numpy_does():
    rng = np.random.default_rng(0)
    for k in [1, 2, 7, 8, 9, 127, 128, 129, 200, 361, 362]:
        priors = (rng.random(400) * rng.choice([1e-3, 1.0, 1e3])).astype(np.float32)
        legal = sorted(rng.choice(400, size=k, replace=False).tolist())
        n, moves, stats = puct.expand_stats(priors, legal, 0.25)
        rows = np.frombuffer(stats).reshape(5, n)
        p = priors[legal].astype(np.float64)
        p /= p.sum()
        assert np.frombuffer(moves, np.int64).tolist() == legal
        assert np.array_equal(rows[4], p) and np.array_equal(rows[3], p)
        assert np.all(rows[0] == 0) and np.all(rows[1] == 0) and np.all(rows[2] == 0.25)
        mask = np.zeros(400, np.int8)
        mask[legal] = 1
        assert bytes(puct.expand_stats(priors, mask, 0.25)[2]) == bytes(stats)
    # No mass on any legal move: uniform over them.
    n, _, stats = puct.expand_stats(np.zeros(9, np.float32), [1, 5, 7], 0.0)
    assert np.allclose(np.frombuffer(stats).reshape(5, n)[4], 1 / 3)


def test_node_views_write_through_to_the_search_statistics():
    tree = MCTS(TicTacToeState(), SearchConfig(), np.random.default_rng(0))
    tree.search(UniformEvaluator(9), 40)
    root = tree.root
    assert root.N.sum() == 39 and root.prior is root.clean_prior
    root.N[:] = 0
    root.N[4] = 1000  # what Python writes, the compiled walk reads
    assert tree.choose(10**9) == 4


@pytest.mark.parametrize("game_id", ["tictactoe", "connect4"])
def test_batch_encoding_equals_encoding_each_position(game_id):
    features = game_features(game_id)
    rng = np.random.default_rng(1)
    new_state = TicTacToeState if game_id == "tictactoe" else Connect4State
    states = []
    for _ in range(200):
        state = new_state()
        for _ in range(int(rng.integers(0, 43))):
            if state.is_terminal():
                break
            state.play(int(rng.choice(state.legal_actions())))
        states.append(state)
    batch = features.encode_batch(states)
    assert batch.dtype == np.float32 and batch.shape == (200, *features.shape)
    assert np.array_equal(batch, np.stack([_observation_planes(s) for s in states]))
    assert np.array_equal(batch, np.stack([features.encode(s) for s in states]))


def test_selfplay_turns_the_garbage_collector_back_on():
    features = game_features("tictactoe")
    config = SelfPlayConfig(parallel=2, search=selfplay_search(sims=4))
    assert gc.isenabled()
    play_games(TicTacToeState, features, UniformEvaluator(9), 2, config, np.random.default_rng(0))
    assert gc.isenabled()
    gc.disable()
    try:
        play_games(TicTacToeState, features, UniformEvaluator(9), 1, config,
                   np.random.default_rng(0))
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


def test_priors_of_another_dtype_take_the_python_path_with_the_same_result():
    def half(states):
        priors, values = hashed_evaluator(7)(states)
        return priors.astype(np.float16), values

    def widened(states):
        priors, values = half(states)
        return priors.astype(np.float32), values

    trees = []
    for evaluate in (half, widened):
        tree = MCTS(c4(3, 3), SearchConfig(), np.random.default_rng(0))
        tree.search(evaluate, 200, batch=4)
        trees.append(tree.root.N.tolist())
    assert trees[0] == trees[1] and sum(trees[0]) == 199
