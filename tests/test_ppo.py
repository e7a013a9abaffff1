"""PPO (agents/ppo.py): GAE, the clipped objective, the lr anneal, learning CartPole,
exact resume, the Atari-shaped (CNN) path and the agent."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import TrainRecorder as Recorder

from agents.policy import annealed
from agents.algorithms import load_presets
from agents.learner import TrainHooks, config_from_dict
from agents.nets import NatureCNN
from agents.ppo import PPO, PPOConfig, advantages, clipped_surrogate
from agents.evaluate import evaluate

CPU = torch.device("cpu")
pytestmark = pytest.mark.usefixtures("one_thread")


class Frames(gym.Env):
    """Atari-shaped observations: 4 stacked 84x84 uint8 frames of noise; 3 actions."""

    observation_space = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    action_space = gym.spaces.Discrete(3)

    def __init__(self, render_mode=None):
        self.render_mode = render_mode

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.np_random.integers(0, 256, (4, 84, 84), dtype=np.uint8), {}

    def step(self, action):
        obs = self.np_random.integers(0, 256, (4, 84, 84), dtype=np.uint8)
        return obs, float(action == 1), bool(self.np_random.random() < 0.1), False, {}


gym.register("ArenaTest/Frames-v0", entry_point=Frames, max_episode_steps=20)


def cartpole_ppo(seed: int = 0, **overrides) -> PPO:
    values = {**load_presets("ppo")["cartpole"], **overrides}
    return PPO("cartpole", config_from_dict(PPOConfig, values, "ppo.yaml"), CPU, seed)


# --- GAE --------------------------------------------------------------------------------------


def test_gae_by_hand_with_termination_and_truncation():
    gamma, lam = 0.5, 0.5
    # two envs, three steps. env 0: the game ends at step 1, a new episode runs step 2.
    # env 1: a time limit cuts its episode at step 1 (V of the state it was cut in = 4).
    rewards = torch.tensor([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    values = torch.tensor([[2.0, 2.0], [2.0, 2.0], [2.0, 2.0]])
    next_values = torch.tensor([[2.0, 2.0], [7.0, 4.0], [6.0, 6.0]])  # 7: unused (terminated)
    terminated = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    ended = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    adv, returns = advantages(rewards, values, next_values, terminated, ended, gamma, lam)
    # deltas: env 0: [1 + 1 - 2, 1 + 0 - 2, 1 + 3 - 2] = [0, -1, 2]
    #         env 1: [0, 1 + 2 - 2, 2] = [0, 1, 2]
    # A_2 = delta_2 (the rollout's end); A_1 = delta_1 (its episode ended there);
    # A_0 = delta_0 + gamma * lam * A_1
    assert adv[:, 0].tolist() == pytest.approx([-0.25, -1.0, 2.0])
    assert adv[:, 1].tolist() == pytest.approx([0.25, 1.0, 2.0])
    assert torch.equal(returns, adv + values)


def test_gae_lambda_zero_is_one_step_td_and_one_is_monte_carlo():
    rewards = torch.tensor([[1.0], [2.0], [3.0]])
    values = torch.tensor([[0.5], [1.5], [2.5]])
    next_values = torch.tensor([[1.5], [2.5], [10.0]])
    zeros = torch.zeros(3, 1)
    adv, _ = advantages(rewards, values, next_values, zeros, zeros, 0.9, 0.0)
    assert adv[:, 0].tolist() == pytest.approx((rewards + 0.9 * next_values - values)[:, 0].tolist())
    _, returns = advantages(rewards, values, next_values, zeros, zeros, 0.9, 1.0)
    assert float(returns[0, 0]) == pytest.approx(1 + 0.9 * 2 + 0.81 * 3 + 0.729 * 10)


# --- the clipped objective --------------------------------------------------------------------


def test_clipped_surrogate_by_hand_and_its_gradient():
    ratio = torch.tensor([0.5, 1.5, 1.5, 0.5, 1.1], requires_grad=True)
    adv = torch.tensor([1.0, 1.0, -1.0, -1.0, 2.0])
    loss = clipped_surrogate(ratio, adv, 0.2)
    # min(r A, clip(r) A): 0.5 (worse: unclipped), 1.2 (clipped), -1.5 (worse: unclipped),
    # -0.8 (clipped), 2.2 (inside the range)
    assert loss.item() == pytest.approx(-(0.5 + 1.2 - 1.5 - 0.8 + 2.2) / 5)
    loss.backward()
    # no gradient where the clip holds the ratio; the full -A/n elsewhere
    assert ratio.grad.tolist() == pytest.approx([-0.2, 0.0, 0.2, 0.0, -0.4])


# --- schedules --------------------------------------------------------------------------------


def test_lr_and_clip_anneal_linearly_to_zero():
    assert annealed(1e-3, 0, 1000) == 1e-3
    assert annealed(1e-3, 500, 1000) == pytest.approx(5e-4)
    assert annealed(1e-3, 1000, 1000) == 0.0 and annealed(1e-3, 1200, 1000) == 0.0

    ppo = cartpole_ppo(total_steps=2048, num_envs=4, num_steps=64)
    hooks = Recorder()
    ppo.train(2048, hooks)
    lr = ppo.config.lr
    assert [m["lr"] for _, m in hooks.logs] == pytest.approx([lr * (1 - k / 8) for k in range(8)])
    assert [m["clip_range"] for _, m in hooks.logs] == pytest.approx(
        [0.2 * (1 - k / 8) for k in range(8)])
    assert ppo.learning_rate() == 0.0 and ppo.clip_range() == 0.0  # reached 0 at total_steps


# --- learning ---------------------------------------------------------------------------------


def test_ppo_learns_cartpole_in_25k_steps():
    ppo = cartpole_ppo(seed=0)
    before, _ = evaluate(ppo.agent(sample=True), "cartpole", 20)
    assert before < 35  # a near-uniform policy: the random agent's ~22
    hooks = Recorder()
    ppo.train(25_000, hooks)
    greedy, _ = evaluate(ppo.agent(), "cartpole", 20)
    sampled, _ = evaluate(ppo.agent(sample=True), "cartpole", 20)
    assert greedy >= 200 and sampled >= 150, f"{greedy:.1f}, {sampled:.1f} after {ppo.steps} steps"
    assert {"loss", "entropy", "approx_kl", "clipfrac", "value_loss", "lr"} <= set(hooks.logs[-1][1])
    assert hooks.episodes and all(length == ret for _, ret, length in hooks.episodes)


def test_same_seed_same_returns():
    (a, pa), (b, pb) = (Recorder(), cartpole_ppo(seed=3)), (Recorder(), cartpole_ppo(seed=3))
    pa.train(1024, a)
    pb.train(1024, b)
    assert a.episodes == b.episodes
    assert all(torch.equal(x, y) for x, y in zip(pa.net.parameters(), pb.net.parameters()))


def test_presets_build_configs_with_atari_settings():
    presets = load_presets("ppo")
    assert {"default", "cartpole", "acrobot", "pong", "space-invaders"} <= set(presets)
    for name, values in presets.items():
        assert config_from_dict(PPOConfig, values, f"ppo.yaml: {name}").total_steps > 0
    assert config_from_dict(PPOConfig, presets["pong"], "x").shared


def test_pixel_observations_go_through_the_nature_cnn(tmp_path):
    config = PPOConfig(num_envs=2, num_steps=8, minibatch_size=8, update_epochs=1, shared=True)
    ppo = PPO("gym:ArenaTest/Frames-v0", config, CPU, 0)
    assert isinstance(ppo.net.trunk, NatureCNN) and ppo.net.critic_trunk is None
    hooks = Recorder()
    ppo.train(16, hooks)
    assert ppo.steps == 16 and len(hooks.logs) == 1
    ppo.save(tmp_path / "ck", with_train_state=False)
    agent = PPO.load(tmp_path / "ck", CPU).agent()
    frame = np.zeros((4, 84, 84), dtype=np.uint8)
    agent.act(frame, np.array([1, 0, 1], dtype=np.int8))
    insight = agent.explain()
    assert sorted(a.action for a in insight.actions) == [0, 2]
    assert sum(a.score for a in insight.actions) == pytest.approx(1.0)


# --- checkpoints ------------------------------------------------------------------------------


def test_resume_is_identical_to_an_uninterrupted_run(tmp_path):
    straight, straight_hooks = cartpole_ppo(seed=9, num_envs=4), Recorder()
    straight.train(1024, straight_hooks)

    first, hooks = cartpole_ppo(seed=9, num_envs=4), Recorder()
    first.train(512, hooks)
    first.save(tmp_path / "ck")
    resumed = PPO.load(tmp_path / "ck", CPU, for_training=True)
    assert (resumed.steps, resumed.updates) == (first.steps, first.updates)
    assert resumed.learning_rate() == first.learning_rate()
    saved, loaded = first.optimizer.state_dict()["state"], resumed.optimizer.state_dict()["state"]
    for index, entry in saved.items():
        for key, value in entry.items():
            assert torch.equal(loaded[index][key], value)
    resumed.train(1024, hooks)

    assert hooks.episodes == straight_hooks.episodes
    assert [m for _, m in hooks.logs] == [m for _, m in straight_hooks.logs]
    for key, value in straight.net.state_dict().items():
        assert torch.equal(resumed.net.state_dict()[key], value), key


def test_agent_explains_with_the_critics_value_and_can_sample():
    ppo = cartpole_ppo(seed=1)
    ppo.train(256, TrainHooks())
    obs = np.array([0.0, 0.1, 0.02, -0.2], dtype=np.float32)
    agent = ppo.agent()
    action = agent.act(obs, None)
    insight = agent.explain()
    assert insight.kind == "probs" and insight.value is not None
    assert insight.actions[0].action == action
    assert sum(a.score for a in insight.actions) == pytest.approx(1.0)

    sampler = ppo.agent(sample=True)
    sampler.rng = np.random.default_rng(0)
    p_best = insight.actions[0].score
    picks = [sampler.act(obs, None) for _ in range(400)]
    assert abs(picks.count(action) / 400 - p_best) < 0.1  # samples follow the probabilities
