"""A2C (agents/a2c.py): n-step returns with termination and truncation, the rollout,
learning CartPole, exact resume, and the agent with the critic's value."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import TrainRecorder as Recorder
from conftest import assert_same_run

from agents.a2c import A2C, A2CConfig
from agents.ppo import advantages, collect_rollout
from agents.algorithms import load_presets
from agents.learner import TrainHooks, config_from_dict
from games.errors import UserError
from agents.evaluate import evaluate

pytestmark = pytest.mark.usefixtures("one_thread")

CPU = torch.device("cpu")
RANDOM_CARTPOLE = 22.0


class Clock(gym.Env):
    """Observation = steps taken so far; reward 1 a step; never terminates (a time limit cuts it)."""

    observation_space = gym.spaces.Box(0.0, 100.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, render_mode=None):
        self.render_mode = render_mode
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0], np.float32), {}

    def step(self, action):
        self.t += 1
        return np.array([float(self.t)], np.float32), 1.0, False, False, {}


gym.register("ArenaTest/Clock-v0", entry_point=Clock, max_episode_steps=3)


def small(**overrides) -> A2CConfig:
    return A2CConfig(**{"num_envs": 2, "num_steps": 5, **overrides})


# --- returns ----------------------------------------------------------------------------------


def test_lambda_one_gives_n_step_returns_by_hand():
    gamma = 0.5
    # one env, four steps; the game ends (terminates) at step 1; bootstrap V(s_4) = 8
    rewards = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    values = torch.tensor([[10.0], [20.0], [30.0], [40.0]])
    next_values = torch.tensor([[20.0], [99.0], [40.0], [8.0]])  # 99: the reset state, unused
    terminated = torch.tensor([[0.0], [1.0], [0.0], [0.0]])
    ended = terminated.clone()
    adv, returns = advantages(rewards, values, next_values, terminated, ended, gamma, 1.0)
    # R_1 = 2 (nothing after the end); R_0 = 1 + 0.5 * 2; R_3 = 4 + 0.5 * 8; R_2 = 3 + 0.5 * R_3
    assert returns[:, 0].tolist() == pytest.approx([2.0, 2.0, 7.0, 8.0])
    assert adv[:, 0].tolist() == pytest.approx([-8.0, -18.0, -23.0, -32.0])

    # the same episode cut by a time limit at step 1: bootstrapped from V(s_last) = 6
    next_values[1, 0] = 6.0
    truncated_only = torch.zeros_like(terminated)
    adv, returns = advantages(rewards, values, next_values, truncated_only, ended, gamma, 1.0)
    assert returns[:, 0].tolist() == pytest.approx([1 + 0.5 * 5.0, 2 + 0.5 * 6.0, 7.0, 8.0])


def test_rollout_bootstraps_truncated_episodes_from_their_last_observation():
    a2c = A2C("gym:ArenaTest/Clock-v0", small(num_envs=1, num_steps=7), CPU, 0)
    hooks = Recorder()
    rollout = collect_rollout(a2c, a2c.source, 7, hooks)
    assert rollout.obs[:, 0, 0].tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert rollout.ended[:, 0].tolist() == [0, 0, 1, 0, 0, 1, 0]
    assert rollout.terminated.sum() == 0  # cut by the time limit, never terminated
    with torch.no_grad():
        v_last = a2c.net.value(torch.tensor([[3.0]]))  # the state it was cut in, not the reset
        v_next = a2c.net.value(torch.tensor([[1.0]]))  # after the rollout's last step
    assert rollout.next_values[2, 0] == pytest.approx(float(v_last))
    assert rollout.next_values[5, 0] == pytest.approx(float(v_last))
    assert rollout.next_values[6, 0] == pytest.approx(float(v_next))
    assert rollout.next_values[0, 0] == pytest.approx(float(rollout.values[1, 0]))
    assert [(s, r, n) for s, r, n in hooks.episodes] == [(3, 3.0, 3), (6, 3.0, 3)]
    assert a2c.steps == 7


# --- learning ---------------------------------------------------------------------------------


def test_a2c_learns_cartpole():
    preset = load_presets("a2c")["cartpole"]
    a2c = A2C("cartpole", config_from_dict(A2CConfig, preset, "a2c.yaml"), CPU, 0)
    # The policy itself (sampled) is judged: an untrained net's argmax can balance the pole
    # for a while by luck, but its near-uniform policy plays like the random agent.
    before, _ = evaluate(a2c.agent(sample=True), "cartpole", 20)
    assert before < 1.5 * RANDOM_CARTPOLE
    hooks = Recorder()
    a2c.train(40_000, hooks)
    after, _ = evaluate(a2c.agent(sample=True), "cartpole", 20)
    assert after >= 50 > 2 * RANDOM_CARTPOLE, f"{after:.1f} after {a2c.steps} steps"
    assert {"loss", "entropy", "value_loss", "policy_loss", "lr"} <= set(hooks.logs[-1][1])
    assert len(hooks.logs) == 40_000 // 40  # one update per 8 x 5 rollout


def test_presets_build_configs():
    for name, values in load_presets("a2c").items():
        assert config_from_dict(A2CConfig, values, f"a2c.yaml: {name}").total_steps > 0
    with pytest.raises(UserError, match="optimizer 'sgd'"):
        A2C("cartpole", small(optimizer="sgd"), CPU, 0)


# --- checkpoints ------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["rmsprop", "adam"])
def test_resume_is_identical_to_an_uninterrupted_run(tmp_path, optimizer):
    config = small(optimizer=optimizer, num_envs=4)
    straight, straight_hooks = A2C("cartpole", config, CPU, 7), Recorder()
    straight.train(1500, straight_hooks)

    first, hooks = A2C("cartpole", config, CPU, 7), Recorder()
    first.train(700, hooks)
    first.save(tmp_path / "ck")
    resumed = A2C.load(tmp_path / "ck", CPU, for_training=True)
    assert (resumed.steps, resumed.updates) == (first.steps, first.updates)
    assert resumed.source.state() == first.source.state()
    saved, loaded = first.optimizer.state_dict(), resumed.optimizer.state_dict()
    # (JSON has no tuples: Adam's betas come back as a list, which Adam reads the same)
    assert json.loads(json.dumps(saved["param_groups"])) == loaded["param_groups"]
    for index, entry in saved["state"].items():
        for key, value in entry.items():
            assert torch.equal(loaded["state"][index][key], value)
    resumed.train(1500, hooks)
    assert_same_run(resumed, hooks, straight, straight_hooks)


def test_checkpoint_loads_as_an_agent_with_the_critics_value(tmp_path):
    a2c = A2C("cartpole", small(), CPU, 0)
    a2c.train(200, TrainHooks())
    a2c.save(tmp_path / "ck", with_train_state=False)
    agent = A2C.load(tmp_path / "ck", CPU).agent()
    obs = np.array([0.01, 0.2, -0.03, -0.1], dtype=np.float32)
    action = agent.act(obs, np.ones(2, dtype=np.int8))
    insight = agent.explain()
    assert insight.kind == "probs" and insight.actions[0].action == action
    assert sum(a.score for a in insight.actions) == pytest.approx(1.0)
    with torch.no_grad():
        value = a2c.net.value(torch.as_tensor(obs)[None])
    assert insight.value == pytest.approx(float(value), abs=1e-6)
