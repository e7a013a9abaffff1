"""Self-play PPO and DQN on board games (agents/board_selfplay.py): masking, the envs'
rewards, the opponent sampler hook, learning tic-tac-toe, resume, and the CLI."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_arena

from agents.algorithms import load_run_agent, preset
from agents.board_selfplay import (
    BoardNetAgent,
    NetOpponent,
    SelfPlayEnvs,
    masked_entropy,
    masked_logits,
)
from agents.dqn import DQN, DQNConfig
from agents.learner import TrainHooks, config_from_dict
from agents.ppo import PPO, PPOConfig, collect_rollout
from agents.random_agent import RandomAgent
from agents.registry import make_agent
from agents.series import run_series
from games.registry import resolve_game

CPU = torch.device("cpu")
pytestmark = pytest.mark.usefixtures("one_thread")


def random_states(game_id: str, count: int, seed: int) -> list:
    """Positions reached by random play, none terminal, of every length."""
    spec = resolve_game(game_id)
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        state = spec.new_state()
        for _ in range(int(rng.integers(0, 60))):
            legal = state.legal_actions()
            child = state.copy()
            child.play(legal[int(rng.integers(len(legal)))])
            if child.is_terminal():
                break
            state = child
        out.append(state)
    return out


def tilt_towards_illegal(head: torch.nn.Linear, n: int) -> None:
    """Make a head prefer actions by a wide margin (odd actions first), so that an
    unmasked policy would often pick an illegal one."""
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([50.0 * (a % 2) + a for a in range(n)]))


def ppo(game_id: str = "tictactoe", seed: int = 0, **overrides) -> PPO:
    values = preset("ppo", game_id) | overrides
    return PPO(game_id, config_from_dict(PPOConfig, values, "test"), CPU, seed)


def dqn(game_id: str = "tictactoe", seed: int = 0, **overrides) -> DQN:
    values = preset("dqn", game_id) | overrides
    return DQN(game_id, config_from_dict(DQNConfig, values, "test"), CPU, seed)


# --- masking ------------------------------------------------------------------------------------


@pytest.mark.parametrize("game_id", ["tictactoe", "connect4", "go5"])
def test_masked_policies_never_choose_an_illegal_move(game_id: str) -> None:
    states = random_states(game_id, 150, seed=1)
    masks = np.stack([s.legal_mask() for s in states]).astype(bool)
    assert (~masks).any(), "the states should have illegal moves"

    learner = ppo(game_id, conv_channels=[], hidden=[32])
    tilt_towards_illegal(learner.net.actor, learner.info.n_actions)
    # Sampling from the masked policy (the rollout's and the opponents' way).
    opponent = NetOpponent(learner.net, learner.features, CPU, "sample", seed=2)
    for _ in range(3):
        for state, action in zip(states, opponent.act_batch(states), strict=True):
            assert state.legal_mask()[action], f"sampled illegal {action}"
    greedy = NetOpponent(learner.net, learner.features, CPU, "greedy")
    for state, action in zip(states, greedy.act_batch(states), strict=True):
        assert state.legal_mask()[action]
    # log-probs and entropy: illegal moves have probability 0, the legal ones sum to 1
    planes = torch.as_tensor(learner.features.encode_batch(states))
    logits, _ = learner.net(planes)
    mask_t = torch.as_tensor(masks)
    log_probs = torch.log_softmax(masked_logits(logits, mask_t), -1)
    probs = log_probs.exp()
    assert torch.all(probs[~mask_t] == 0)
    assert torch.allclose(probs.sum(-1), torch.ones(len(states)))
    entropy = masked_entropy(log_probs, mask_t)
    assert torch.isfinite(entropy).all() and (entropy >= -1e-6).all()
    assert (entropy <= torch.log(mask_t.sum(-1).float()) + 1e-5).all()

    # DQN: masked epsilon-greedy, both when exploring and when exploiting
    learner_q = dqn(game_id, conv_channels=[], hidden=[32], num_envs=1)
    tilt_towards_illegal(learner_q.q.head, learner_q.n_actions)
    planes_np = learner_q.features.encode_batch(states)
    for epsilon in (0.0, 0.5, 1.0):
        actions = learner_q.epsilon_greedy(planes_np, masks, epsilon)
        assert masks[np.arange(len(states)), actions].all(), f"epsilon {epsilon}"

    # The agents of a trained learner, fed positions directly.
    for agent in (learner.agent(), learner_q.agent()):
        assert isinstance(agent, BoardNetAgent)
        for state in states[:40]:
            agent.state = state.copy()
            action = agent.act(state.observation(state.to_play), state.legal_mask())
            assert state.legal_mask()[action]
            insight = agent.explain()
            assert {a.action for a in insight.actions} == set(state.legal_actions())


def test_masked_entropy_has_finite_gradients() -> None:
    logits = torch.randn(4, 9, requires_grad=True)
    mask = torch.rand(4, 9) < 0.5
    mask[:, 0] = True
    log_probs = torch.log_softmax(masked_logits(logits, mask), -1)
    masked_entropy(log_probs, mask).sum().backward()
    assert torch.isfinite(logits.grad).all()
    assert torch.all(logits.grad[~mask] == 0)


def test_ppo_rollout_samples_only_legal_moves_and_stores_masks() -> None:
    learner = ppo("connect4", num_envs=8, hidden=[32], conv_channels=[8])
    tilt_towards_illegal(learner.net.actor, 7)
    rollout = collect_rollout(learner, learner.source, 64, TrainHooks())
    taken = rollout.masks.gather(2, rollout.actions[..., None]).squeeze(-1)
    assert taken.all()
    assert torch.isfinite(rollout.log_probs).all()


# --- the environments ---------------------------------------------------------------------------


class Recorder:
    """A state opponent: a uniformly random legal move; remembers what it was shown."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.to_play: list[int] = []

    def act(self, state) -> int:
        self.to_play.append(state.to_play)
        legal = state.legal_actions()
        return legal[int(self.rng.integers(len(legal)))]


@pytest.mark.parametrize("game_id", ["tictactoe", "connect4"])
def test_episode_rewards_are_zero_sum_and_from_the_learners_side(game_id: str) -> None:
    opponent = Recorder(3)
    envs = SelfPlayEnvs(game_id, 6, seed=5, sampler=lambda rng: opponent)
    rng = np.random.default_rng(0)
    ends, seats_seen = [], set()
    for _ in range(300):
        planes, masks = envs.observations()
        for i, state in enumerate(envs.states):
            # The learner is to move in its own seat; its planes are from its view.
            assert state.to_play == envs.seats[i]
            assert planes[i, 2].mean() == (1.0 if envs.seats[i] == 0 else 0.0)
            own = state.observation(envs.seats[i])[:, :, 0]
            assert np.array_equal(planes[i, 0], own)
            seats_seen.add(envs.seats[i])
        actions = [int(rng.choice(np.flatnonzero(m))) for m in masks]
        rewards, dones, finished = envs.step(actions)
        assert np.array_equal(np.flatnonzero(dones), [e.env for e in finished])
        for end in finished:
            returns = end.state.returns()
            assert end.state.is_terminal()
            assert returns[0] + returns[1] == 0  # zero-sum
            assert rewards[end.env] == end.reward == returns[end.seat]  # the learner's side
        assert np.all(rewards[~dones] == 0)
        ends += finished
    assert seats_seen == {0, 1}
    by_seat = {s: [e.reward for e in ends if e.seat == s] for s in (0, 1)}
    assert len(by_seat[0]) > 20 and len(by_seat[1]) > 20  # seats alternate per episode
    assert {r for e in ends for r in [e.reward]} <= {-1.0, 0.0, 1.0}
    assert set(opponent.to_play) == {0, 1}
    # Each env alternates seats from one episode to the next.
    for i in range(6):
        seats = [e.seat for e in ends if e.env == i]
        assert all(a != b for a, b in itertools.pairwise(seats))


def test_sampler_hook_picks_the_opponent_the_learner_faces() -> None:
    class CountingRandom(RandomAgent):
        calls = 0

        def act(self, observation, action_mask):
            CountingRandom.calls += 1
            return super().act(observation, action_mask)

    fixed = CountingRandom()
    picks: list[object] = []

    def sampler(rng: np.random.Generator) -> object:
        picks.append(rng)
        return fixed

    learner = ppo(num_envs=8, num_steps=8, eval_games=0)
    learner.set_opponent_sampler(sampler)
    default_opponent_used = []
    learner.pool.current.act_batch = lambda states: default_opponent_used.append(1)  # type: ignore[method-assign]
    learner.train(8 * 8 * 4)
    assert len(picks) >= 8  # one per game started
    assert CountingRandom.calls > 8 * 8  # the fixed agent made the opponents' moves
    assert all(o.agent is fixed for o in learner.source.games.opponents)
    assert not default_opponent_used
    # A reference string works too, and so does a state opponent.
    learner.set_opponent_sampler(lambda rng: "greedy")
    learner.source.games.start()
    assert {type(o.agent).__name__ for o in learner.source.games.opponents} == {"GreedyAgent"}
    learner_q = dqn(num_envs=4, learning_starts=10, eval_games=0)
    recorder = Recorder(1)
    learner_q.set_opponent_sampler(lambda rng: recorder)
    learner_q.train(200)
    assert len(recorder.to_play) > 50


def test_snapshot_pool_mixes_current_and_earlier_weights() -> None:
    learner = ppo(num_envs=8, num_steps=8, snapshot_every=1, snapshot_pool=3,
                  opponent_current=0.25, eval_games=0)
    learner.train(8 * 8 * 5)
    pool = learner.pool
    assert len(pool.snapshots) == 3 and pool.taken_at == [3, 4, 5]
    rng = np.random.default_rng(0)
    drawn = [pool(rng) for _ in range(400)]
    share_current = sum(d is pool.current for d in drawn) / len(drawn)
    assert 0.15 < share_current < 0.35
    assert {id(d) for d in drawn if d is not pool.current} == {id(o) for o in pool.opponents}
    # Snapshots are frozen copies: they differ from the weights trained since.
    first = pool.snapshots[0].state_dict()
    now = learner.net.state_dict()
    assert any(not torch.equal(first[k], now[k]) for k in now)


# --- learning -----------------------------------------------------------------------------------


def score_vs(agent, opponent: str, games: int, seed: int = 11) -> float:
    series = run_series(resolve_game("tictactoe"), [agent, make_agent(opponent)],
                        ["learner", opponent], games=games, seed=seed)
    me = series.entrants[0]
    assert me.forfeits == 0
    return me.score


def test_ppo_learns_tictactoe_by_self_play() -> None:
    # Measured (seeds 0-4, 10,240 steps of self-play with the preset, 100 games):
    # 0.835-0.91 against random; untrained nets score 0.43-0.50.
    learner = ppo(seed=0, total_steps=10240, eval_games=0)
    assert score_vs(learner.agent(), "random", 100) < 0.65
    learner.train(10240)
    assert score_vs(learner.agent(), "random", 100) >= 0.8


def test_dqn_learns_tictactoe_by_self_play() -> None:
    # Measured (seeds 0-4, 8,000 steps with the preset, 100 games): 0.84-0.91 against random;
    # untrained nets score 0.5-0.7.
    learner = dqn(seed=0, total_steps=8000, eval_games=0)
    learner.train(8000)
    assert score_vs(learner.agent(), "random", 100) >= 0.8


# --- checkpoints and the command line -----------------------------------------------------------


def trainer(learner, run_dir: Path, until: int):
    """The trainer of `arena train` around `learner` in `run_dir`: it runs the board-game
    evaluation (board_evals.csv, best/) and, on a resumed run, carries its record on."""
    from arena.train import Trainer

    run_dir.mkdir(parents=True, exist_ok=True)
    return Trainer(learner, resolve_game(learner.game_id), run_dir, until, eval_every=10**9,
                   eval_episodes=1, checkpoint_every=10**9, tensorboard=False)


def scores(evaluation) -> list[tuple[int, float]]:
    return [(row["step"], row["score"]) for row in evaluation.history]


def test_ppo_resume_round_trip(tmp_path: Path) -> None:
    learner = ppo(num_envs=8, num_steps=8, snapshot_every=2, eval_games=4,
                  board_eval_every=128)
    first = trainer(learner, tmp_path / "run", 8 * 8 * 5)
    learner.train(8 * 8 * 5, first)
    assert len(learner.pool.snapshots) == 2 and first.board_eval.history
    learner.save(tmp_path / "ck")
    loaded = PPO.load(tmp_path / "ck", CPU, for_training=True)
    assert loaded.steps == learner.steps and loaded.updates == learner.updates
    for a, b in zip(learner.net.parameters(), loaded.net.parameters(), strict=True):
        assert torch.equal(a, b)
    assert loaded.pool.taken_at == learner.pool.taken_at
    for a, b in zip(learner.pool.snapshots, loaded.pool.snapshots, strict=True):
        for k, v in a.state_dict().items():
            assert torch.equal(v, b.state_dict()[k])
    assert loaded.source.games.episode_index == learner.source.games.episode_index
    assert scores(trainer(loaded, tmp_path / "run", 8 * 8 * 6).board_eval) == scores(first.board_eval)
    assert loaded.optimizer.state_dict()["state"][0]["step"] == \
        learner.optimizer.state_dict()["state"][0]["step"]
    loaded.train(loaded.steps + 64)
    assert loaded.steps == learner.steps + 64
    # A playing checkpoint loads as an agent that plays legal moves only.
    learner.save(tmp_path / "play", with_train_state=False)
    agent = load_run_agent(tmp_path / "play", "cpu")
    assert score_vs(agent, "random", 6) >= 0.0


def test_dqn_resume_round_trip(tmp_path: Path) -> None:
    learner = dqn(num_envs=4, learning_starts=50, snapshot_every=20, eval_games=2,
                  board_eval_every=200)
    first = trainer(learner, tmp_path / "run", 400)
    learner.train(400, first)
    assert learner.pool.snapshots and first.board_eval.history
    learner.save(tmp_path / "ck")
    loaded = DQN.load(tmp_path / "ck", CPU, for_training=True)
    assert loaded.steps == learner.steps and loaded.updates == learner.updates
    for a, b in zip(learner.q.parameters(), loaded.q.parameters(), strict=True):
        assert torch.equal(a, b)
    assert len(loaded.replay) == len(learner.replay)
    assert np.array_equal(loaded.replay.next_masks[:len(learner.replay)],
                          learner.replay.next_masks[:len(learner.replay)])
    assert loaded.pool.taken_at == learner.pool.taken_at
    assert scores(trainer(loaded, tmp_path / "run", 440).board_eval) == scores(first.board_eval)
    loaded.train(loaded.steps + 40)
    assert loaded.steps == learner.steps + 40


def test_cli_trains_ppo_on_tictactoe_and_the_run_plays(tmp_path: Path, config: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # small nets: threads only add overhead
    out = tmp_path / "run"
    done = run_arena("train", "ppo", "tictactoe", "--steps", "3000", "--out", str(out),
                     "--set", "board_eval_every=1500", "--set", "eval_games=10")
    assert done.returncode == 0, done.stderr
    assert "ppo on tictactoe" in done.stdout and "vs random" in done.stdout
    best = json.loads((out / "best" / "meta.json").read_text())
    assert best["algo"] == "ppo" and "eval_score" in best
    assert (out / "board_evals.csv").read_text().count("\n") >= 2
    played = run_arena("match", "tictactoe", str(out), "random", "--games", "20", "--json")
    assert played.returncode == 0, played.stderr
    result = json.loads(played.stdout)
    assert result["games"] == 20 and not result["forfeits"]
    # Resume continues the run.
    more = run_arena("train", "ppo", "tictactoe", "--resume", str(out), "--steps", "4000")
    assert more.returncode == 0, more.stderr
    assert json.loads((out / "last" / "meta.json").read_text())["steps"] >= 4000


def test_cartpole_presets_are_unchanged_single_player_paths(tmp_path: Path) -> None:
    learner = ppo("cartpole")
    assert learner.source.features is None  # a single-player source: no masks, no planes
    assert trainer(learner, Path(tmp_path) / "p", 1).board_eval is None
    learner_q = dqn("cartpole")
    assert not learner_q.board and trainer(learner_q, Path(tmp_path) / "q", 1).board_eval is None


def test_bad_board_settings_are_user_errors() -> None:
    from games.errors import UserError

    with pytest.raises(UserError, match="opponent_current=2"):
        ppo(opponent_current=2.0)
    with pytest.raises(UserError, match="snapshot_every=0"):
        ppo(snapshot_every=0)
    with pytest.raises(UserError, match="n_step=3"):
        dqn(n_step=3)
    with pytest.raises(UserError, match="single-player"):
        ppo("cartpole").set_opponent_sampler(lambda rng: "random")
