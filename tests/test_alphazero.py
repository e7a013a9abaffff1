"""AlphaZero: PUCT search, batched evaluation, self-play, the network and the agent."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from agents.alphazero.evaluators import TorchEvaluator, UniformEvaluator
from agents.alphazero.network import NetConfig, PolicyValueNet, load_net, save_net
from agents.alphazero.puct import MCTS, SearchConfig
from agents.alphazero.selfplay import SelfPlayConfig, SelfPlayStats, play_games, selfplay_search
from agents.base import Insight
from agents.registry import make_agent, split_path_params
from agents.match import play_match
from games.connect4 import Connect4State
from games.features import game_features
from games.go.state import GoState
from games.registry import resolve_game
from games.tictactoe import TicTacToeState

UNIFORM_C4 = UniformEvaluator(7)
UNIFORM_TTT = UniformEvaluator(9)


def c4(*moves: int) -> Connect4State:
    state = Connect4State()
    for m in moves:
        state.play(m)
    return state


def best_move(state, evaluate, sims: int, seed: int = 0) -> int:
    tree = MCTS(state, SearchConfig(), np.random.default_rng(seed))
    tree.search(evaluate, sims)
    return tree.choose(move_number=10**9)


# -- search with a uniform prior ------------------------------------------------


def test_mcts_finds_the_win_in_one_at_connect_four():
    # Player 0 has the bottom row's columns 1-3; column 4 (action 3) wins at once.
    state = c4(0, 0, 1, 1, 2, 2)
    assert best_move(state, UNIFORM_C4, 300) == 3


def test_mcts_blocks_the_loss_in_one_at_connect_four():
    # Player 0 threatens column 4 (action 3) on the bottom row; player 1 has no win of its own.
    state = c4(0, 6, 1, 6, 2)
    assert state.to_play == 1
    assert best_move(state, UNIFORM_C4, 400) == 3


def test_mcts_with_uniform_prior_never_loses_tictactoe_to_random():
    rng = np.random.default_rng(1)
    losses = 0
    for game in range(30):
        me = game % 2
        state = TicTacToeState()
        tree = MCTS(state, SearchConfig(), np.random.default_rng(game))
        while not state.is_terminal():
            if state.to_play == me:
                tree.search(UNIFORM_TTT, 600)
                action = tree.choose(move_number=10**9)
            else:
                action = int(rng.choice(state.legal_actions()))
            state.play(action)
            tree.advance(action)
        losses += state.returns()[me] < 0
    assert losses == 0


def test_batched_search_with_virtual_loss_still_finds_the_win():
    state = c4(0, 0, 1, 1, 2, 2)
    tree = MCTS(state, SearchConfig(), np.random.default_rng(0))
    tree.search(UNIFORM_C4, 300, batch=8)
    assert tree.choose(10**9) == 3
    # Every virtual loss was taken back: visits are whole simulations.
    assert tree.root.visits == pytest.approx(tree.root.N.sum() + 1)
    assert np.all(tree.root.N == np.round(tree.root.N))


# -- tree reuse ------------------------------------------------------------------


def test_tree_reuse_keeps_the_chosen_subtree_visits_across_both_moves():
    tree = MCTS(TicTacToeState(), SearchConfig(), np.random.default_rng(0))
    tree.search(UNIFORM_TTT, 400)
    i = int(tree.root.N.argmax())
    action = tree.root.actions[i]
    child = tree.root.children[i]
    visits = tree.root.N[i]
    tree.advance(action)
    assert tree.root is child
    assert tree.root.visits == visits  # the child's own evaluation plus every simulation through it
    # The opponent's reply is in the tree too: its statistics survive as well.
    j = int(child.N.argmax())
    grandchild, reply_visits = child.children[j], child.N[j]
    tree.advance(child.actions[j])
    assert tree.root is grandchild and tree.root.visits == reply_visits
    tree.search(UNIFORM_TTT, 50)
    assert tree.root.visits == reply_visits + 50


def test_advance_to_an_unsearched_move_starts_a_fresh_root():
    tree = MCTS(Connect4State(), SearchConfig())
    tree.advance(3)
    assert tree.root.visits == 0 and tree.root.state.column_height(3) == 1
    searched = MCTS(c4(*[0] * 6), SearchConfig())
    searched.search(UNIFORM_C4, 5)
    with pytest.raises(ValueError):
        searched.advance(0)  # column 1 is full: not a legal move


# -- root noise, temperature, resignation --------------------------------------


def test_dirichlet_noise_alpha_scales_with_legal_moves_and_mixes_a_quarter():
    seen = {}
    real = np.random.default_rng(0)

    class SpyRng:
        def dirichlet(self, alpha):
            seen["alpha"] = np.asarray(alpha)
            seen["noise"] = real.dirichlet(alpha)
            return seen["noise"]

    tree = MCTS(GoState(9), SearchConfig(root_noise=True), SpyRng())  # type: ignore[arg-type]
    tree.search(UniformEvaluator(82), 1)
    root = tree.root
    assert np.allclose(seen["alpha"], 10.0 / 82)  # 81 points + pass
    assert np.allclose(root.prior, 0.75 * root.clean_prior + 0.25 * seen["noise"])
    assert root.prior.sum() == pytest.approx(1.0)
    assert np.allclose(root.clean_prior, 1 / 82)
    # Without noise the priors stay the network's.
    plain = MCTS(GoState(9), SearchConfig(), np.random.default_rng(0))
    plain.search(UniformEvaluator(82), 1)
    assert plain.root.prior is plain.root.clean_prior


def test_temperature_samples_by_visits_then_turns_greedy():
    tree = MCTS(TicTacToeState(), SearchConfig(temperature_moves=2), np.random.default_rng(0))
    tree.search(UNIFORM_TTT, 1)
    root = tree.root
    root.N[:] = 0
    root.N[[0, 4, 8]] = [10, 30, 60]
    picks = [tree.choose(move_number=1) for _ in range(3000)]
    freq = {a: picks.count(a) / len(picks) for a in (0, 4, 8)}
    assert sum(freq.values()) == 1.0
    assert freq[0] == pytest.approx(0.1, abs=0.03) and freq[8] == pytest.approx(0.6, abs=0.04)
    assert {tree.choose(move_number=2) for _ in range(50)} == {8}
    assert np.allclose(tree.policy(9)[[0, 4, 8]], [0.1, 0.3, 0.6])


def _hopeless(states):
    """Player 0 is lost, says this evaluator: -0.99 when player 0 is to move, +0.99 when player 1 is."""
    n = len(states)
    values = np.array([-0.99 if s.to_play == 0 else 0.99 for s in states], np.float32)
    return np.ones((n, 9), np.float32), values


def test_selfplay_resigns_below_threshold_except_in_the_no_resign_share():
    search = selfplay_search(sims=8, resign_threshold=-0.9, no_resign_share=0.0)
    games = play_games(TicTacToeState, game_features("tictactoe"), _hopeless, 4,
                       SelfPlayConfig(parallel=4, search=search), np.random.default_rng(0))
    assert [g.resigned for g in games] == [0, 0, 0, 0]
    assert all(g.returns == (-1.0, 1.0) and not g.moves for g in games)

    search = selfplay_search(sims=8, resign_threshold=-0.9, no_resign_share=1.0)
    stats = SelfPlayStats()
    games = play_games(TicTacToeState, game_features("tictactoe"), _hopeless, 4,
                       SelfPlayConfig(parallel=4, search=search), np.random.default_rng(0),
                       stats=stats)
    assert all(g.resigned is None and g.resign_disabled and len(g.moves) >= 5 for g in games)
    assert all(g.would_resign == [0] for g in games)
    # Player 0 "would have resigned"; every game it did not lose is a false resignation.
    assert stats.resign_checked_games == 4
    assert stats.false_resignations == sum(g.returns[0] >= 0 for g in games)


def test_resignation_threshold_none_never_resigns():
    tree = MCTS(TicTacToeState(), SearchConfig(resign_threshold=None))
    tree.search(_hopeless, 20)
    assert tree.best_value() < -0.9 and not tree.should_resign()
    tree.config.resign_threshold = -0.9
    assert tree.should_resign()


# -- evaluators and self-play ----------------------------------------------------


@pytest.mark.parametrize("game_id", ["tictactoe", "connect4", "go5"])
def test_batched_evaluator_equals_evaluating_each_position_alone(game_id):
    torch.manual_seed(0)
    features = game_features(game_id)
    net = PolicyValueNet(features.shape, features.num_actions, NetConfig(blocks=1, channels=16))
    # Trained batch-norm statistics, so that eval mode is not the identity.
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    evaluator = TorchEvaluator(net, features, "cpu")
    spec = resolve_game(game_id)
    rng = np.random.default_rng(0)
    states = []
    for length in range(12):
        state = spec.new_state()
        for _ in range(length):
            if state.is_terminal():
                break
            state.play(int(rng.choice(state.legal_actions())))
        states.append(state)
    priors, values = evaluator(states)
    assert priors.shape == (12, features.num_actions) and values.shape == (12,)
    for k, state in enumerate(states):
        p, v = evaluator([state])
        assert np.allclose(p[0], priors[k], atol=1e-5)
        assert v[0] == pytest.approx(values[k], abs=1e-5)
    assert np.all(np.abs(values) <= 1) and np.allclose(priors.sum(1), 1, atol=1e-5)


def test_selfplay_in_lockstep_makes_consistent_training_examples():
    features = game_features("connect4")
    stats = SelfPlayStats()
    games = play_games(Connect4State, features, UNIFORM_C4, 6,
                       SelfPlayConfig(parallel=4, leaves_per_game=4,
                                      search=selfplay_search(sims=16)),
                       np.random.default_rng(0), stats=stats)
    assert len(games) == 6 and stats.games == 6
    assert stats.positions == sum(len(g.moves) for g in games)
    # One evaluator call serves several games at once.
    assert stats.leaves > stats.steps
    for g in games:
        planes, policies, z = g.samples()
        assert planes.shape == (len(g.moves), 3, 6, 7)
        assert np.allclose(policies.sum(1), 1)
        state = Connect4State()
        for k, a in enumerate(g.moves):
            assert z[k] == g.returns[state.to_play]
            assert np.array_equal(planes[k], features.encode(state))
            state.play(a)
        assert state.is_terminal() and state.returns() == g.returns
        # The mirror symmetry moves the policy with the board.
        (p0, q0), (p1, q1) = features.symmetries(planes[0], policies[0])
        assert np.array_equal(p1[..., ::-1], p0) and np.array_equal(q1[::-1], q0)


def test_go_features_are_the_engines_planes():
    features = game_features("go9")
    state = GoState.from_moves(9, moves=["e5", "c3"])
    assert features.shape == (17, 9, 9) and features.num_actions == 82
    assert np.array_equal(features.encode(state), state.planes(8))
    assert len(features.symmetries(features.encode(state), np.ones(82) / 82)) == 8


# -- the network learns ----------------------------------------------------------


@functools.cache
def _ttt_values() -> dict[tuple[int, ...], float]:
    """Exact minimax values (for the side to move) of every non-terminal tic-tac-toe position."""
    values: dict[tuple[int, ...], float] = {}

    def solve(state: TicTacToeState, key: tuple[int, ...]) -> float:
        if state.is_terminal():
            return state.returns()[state.to_play]
        canon = tuple(sorted(key[0::2])) + (-1,) + tuple(sorted(key[1::2]))
        if canon in values:
            return values[canon]
        best = -1.0
        for a in state.legal_actions():
            child = state.copy()
            child.play(a)
            best = max(best, -solve(child, key + (a,)))
        values[canon] = best
        return best

    solve(TicTacToeState(), ())
    return values


def _position(canon: tuple[int, ...]) -> TicTacToeState:
    split = canon.index(-1)
    xs, os_ = canon[:split], canon[split + 1:]
    state = TicTacToeState()
    for k in range(len(xs)):
        state.play(xs[k])
        if k < len(os_):
            state.play(os_[k])
    return state


def test_network_learns_exact_tictactoe_values(one_thread):
    torch.manual_seed(0)
    values = _ttt_values()
    rng = np.random.default_rng(0)
    keys = list(values)
    # The openings (at most two marks, the empty board among them; mostly draws, rare
    # among all positions, so shown 8 times) plus 400 others at random.
    openings = [k for k in keys if len(k) <= 3]
    rest = [k for k in keys if len(k) > 3]
    chosen = openings * 8 + [rest[i] for i in rng.choice(len(rest), 400, replace=False)]
    features = game_features("tictactoe")
    x = torch.from_numpy(features.encode_batch([_position(k) for k in chosen]))
    y = torch.tensor([values[k] for k in chosen])
    net = PolicyValueNet.for_game(features)
    net.eval()
    with torch.no_grad():
        before = (net(x)[1] - y).abs().mean().item()
    net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    for _ in range(400):
        idx = torch.randint(0, len(chosen), (64,))
        loss = ((net(x[idx])[1] - y[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        after = (net(x)[1] - y).abs().mean().item()
        empty = net(torch.from_numpy(features.encode(TicTacToeState()))[None])[1].item()
    assert before > 0.4  # the untrained net does not know them (the test can fail)
    assert after < 0.2
    assert abs(empty) < 0.3  # the empty board is a draw


# -- the agent ---------------------------------------------------------------------


def test_split_path_params_keeps_commas_and_slashes_in_the_path():
    assert split_path_params("runs/a,b/best,sims=5,batch=2") == ("runs/a,b/best", "sims=5,batch=2")
    assert split_path_params("runs/x") == ("runs/x", "")


def test_alphazero_agent_loads_a_checkpoint_plays_and_explains(tmp_path):
    torch.manual_seed(0)
    features = game_features("tictactoe")
    net = PolicyValueNet.for_game(features)
    save_net(tmp_path / "ckpt", net, "tictactoe", {"steps": 0})
    loaded, f2, meta = load_net(tmp_path / "ckpt")
    assert meta["algo"] == "alphazero" and f2.game_id == "tictactoe"
    for a, b in zip(net.state_dict().values(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    agent = make_agent(f"alphazero:{tmp_path / 'ckpt'},sims=24,device=cpu")
    assert agent.sims == 24
    result = play_match(resolve_game("tictactoe"), [agent, make_agent("random")], seed=3)
    assert result.status == "finished" and result.forfeit_player is None
    insight: Insight | None = agent.explain()
    assert insight is not None and insight.kind == "mcts"
    assert insight.actions and insight.actions[0].visits >= insight.actions[-1].visits
    assert all(0 <= a.score <= 1 and a.prior is not None for a in insight.actions)
