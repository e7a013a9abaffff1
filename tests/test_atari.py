"""Atari through the registry: preprocessing, training-only reward clipping, DQN end to end."""

from __future__ import annotations

import json

import numpy as np
import torch

from agents.checkpoint import META, REPLAY
from agents.dqn import DQN, DQNConfig, load_agent
from agents.learner import TrainHooks
from agents.replay import FrameReplayBuffer
from agents.match import play_match
from games.registry import builtin_games, resolve_game

CPU = torch.device("cpu")


def test_atari_games_are_registered():
    ids = {g.id: g for g in builtin_games()}
    assert ids["pong"].players == 1 and ids["space-invaders"].players == 1
    assert ids["pong"].make_gym is not None


def test_pong_observations_are_four_84x84_uint8_frames():
    env = resolve_game("pong").make_gym()
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    assert env.observation_space.shape == (4, 84, 84)
    assert env.action_space.n == 6
    # Reset pads the stack with the first frame; the frames then move along one per step.
    assert all(np.array_equal(obs[0], obs[k]) for k in range(4))
    nxt, *_ = env.step(0)
    assert np.array_equal(nxt[:3], obs[1:])
    env.close()


def _rewards(train: bool, seed: int, steps: int) -> list[float]:
    env = resolve_game("space-invaders").make_gym(train=train)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    rewards = []
    for _ in range(steps):
        _, r, term, trunc, _ = env.step(int(rng.integers(env.action_space.n)))
        rewards.append(float(r))
        if term or trunc:
            break
    env.close()
    return rewards


def test_rewards_are_clipped_only_for_training():
    # Space Invaders scores 5 to 30 points per invader: clipping shows (Pong's are all +-1).
    real = _rewards(train=False, seed=3, steps=300)
    clipped = _rewards(train=True, seed=3, steps=300)
    assert len(real) == len(clipped)  # same seed, same actions, same game
    assert max(real) >= 5
    assert clipped == [float(np.sign(r)) for r in real]
    # Matches play the unclipped env.
    env = resolve_game("space-invaders").env()
    env.reset(seed=3)
    rng = np.random.default_rng(3)
    total = 0.0
    for _ in range(len(real)):
        env.step(int(rng.integers(6)))
        total += env.rewards["player_0"]
        if env.terminations["player_0"] or env.truncations["player_0"]:
            break
    assert total == sum(real)


def test_training_episodes_report_the_unclipped_score():
    from agents.sources import make_train_env

    env = make_train_env("space-invaders")
    env.reset(seed=4)
    rng = np.random.default_rng(4)
    clipped_total = 0.0
    for _ in range(5_000):
        _, r, term, trunc, info = env.step(int(rng.integers(env.action_space.n)))
        clipped_total += r
        if term or trunc:
            break
    env.close()
    assert term or trunc
    # RecordEpisodeStatistics sits inside the clipping: the hooks get the game's score.
    assert info["episode"]["r"] > clipped_total * 4


class _Episodes(TrainHooks):
    def __init__(self):
        self.returns: list[float] = []

    def episode(self, step, episode_return, length):
        self.returns.append(episode_return)


def test_dqn_trains_on_pong_saves_and_the_checkpoint_plays(tmp_path):
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        # Mostly random acting and 51 small updates: this checks the pipeline, not skill.
        config = DQNConfig(total_steps=1_200, buffer_size=1_000, batch_size=8,
                           learning_starts=1_000, train_freq=4, target_update=20,
                           exploration_fraction=1.0, epsilon_final=0.9, log_every=600)
        learner = DQN("pong", config, CPU, seed=0)
        assert learner.q.pixels
        before = [p.clone() for p in learner.q.parameters()]
        logs: list[dict] = []

        class Hooks(_Episodes):
            def log(self, step, metrics):
                logs.append(metrics)

        learner.train(1_200, Hooks())
    finally:
        torch.set_num_threads(torch_threads)
    assert isinstance(learner.replay, FrameReplayBuffer) and len(learner.replay) == 1_000
    # One stored frame per transition (plus the episode starts), not four.
    assert learner.replay.frames_written <= 1_200 + 4 * 3
    assert learner.updates == (1_200 - 1_000) // 4 + 1
    assert logs[-1]["loss"] >= 0 and np.isfinite(logs[-1]["q"])
    assert any(not torch.equal(a, b) for a, b in zip(before, learner.q.parameters(), strict=True))

    learner.save(tmp_path / "pong", with_train_state=True)
    meta = json.loads((tmp_path / "pong" / META).read_text())
    assert meta["obs_shape"] == [4, 84, 84] and meta["obs_dtype"] == "uint8"
    assert (tmp_path / "pong" / REPLAY).stat().st_size < 1_300 * 84 * 84

    agent = load_agent(tmp_path / "pong")
    result = play_match(resolve_game("pong"), [agent], seed=1, max_moves=60)
    assert result.plies == 60 and result.forfeit_reason is None
    insight = agent.explain()
    assert insight.kind == "q" and len(insight.actions) == 6
    assert -21 <= result.returns[0] <= 21

    # Resuming restores the frame replay buffer exactly.
    resumed = DQN.load(tmp_path / "pong", CPU, for_training=True)
    assert resumed.replay.frames_written == learner.replay.frames_written
    assert np.array_equal(resumed.replay.sample(4).obs, learner.replay.sample(4).obs)
