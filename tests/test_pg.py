"""REINFORCE (agents/pg.py): the estimator's pieces, each baseline learning CartPole,
checkpoints and resuming, and the agent it plays with."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import TrainRecorder as Recorder
from conftest import assert_same_run

from agents.algorithms import load_presets
from agents.learner import TrainHooks, config_from_dict
from agents.pg import (
    REINFORCE,
    REINFORCEConfig,
    episode_seed,
    rewards_to_go,
    sampled_baseline,
    whiten,
)
from games.errors import UserError
from agents.evaluate import evaluate

pytestmark = pytest.mark.usefixtures("one_thread")

CPU = torch.device("cpu")
RANDOM_CARTPOLE = 22.0  # a uniformly random policy's mean return


def learner(seed: int = 0, **overrides) -> REINFORCE:
    return REINFORCE("cartpole", REINFORCEConfig(**overrides), CPU, seed)


# --- the estimator's pieces -------------------------------------------------------------------


def test_rewards_to_go_by_hand():
    # gamma 0.5: G2 = 3, G1 = 2 + 0.5 * 3 = 3.5, G0 = 1 + 0.5 * 3.5 = 2.75
    assert rewards_to_go([1.0, 2.0, 3.0], 0.5) == pytest.approx([2.75, 3.5, 3.0])
    # a truncated episode bootstrapped with V(s_T) = 4: G2 = 3 + 0.5 * 4 = 5, ...
    assert rewards_to_go([1.0, 2.0, 3.0], 0.5, bootstrap=4.0) == pytest.approx([3.25, 4.5, 5.0])
    assert rewards_to_go([], 0.9).shape == (0,)


def test_whitening_gives_mean_zero_std_one():
    x = torch.tensor([1.0, 2.0, 3.0])
    # mean 2, population std sqrt(2/3)
    assert whiten(x).tolist() == pytest.approx([-1.2247449, 0.0, 1.2247449], abs=1e-6)
    y = whiten(torch.tensor([5.0, -3.0, 10.0, 0.5, 7.0]))
    assert float(y.mean()) == pytest.approx(0.0, abs=1e-6)
    assert float(y.std(unbiased=False)) == pytest.approx(1.0, abs=1e-6)


def test_sampled_baseline_is_the_mean_of_the_others_rewards_to_go():
    # the second rollout ended after one step: its return-to-go afterwards is 0
    b = sampled_baseline([np.array([3.0, 2.0, 1.0]), np.array([5.0])], 3)
    assert b.tolist() == pytest.approx([4.0, 1.0, 0.5])
    with pytest.raises(ValueError):
        sampled_baseline([], 2)


def test_sampled_baseline_plays_extra_rollouts_from_the_same_start():
    pg = learner(baseline="sampled", episodes_per_update=8, group_size=4)
    calls = []
    play = pg._play

    def spy(seeds, greedy, hooks):
        episodes = play(seeds, greedy, hooks)
        calls.append(episodes)
        return episodes

    pg._play = spy
    pg.train(1, TrainHooks())
    (episodes,) = calls
    seeds = [e.seed for e in episodes]
    # two groups of four episodes, each group from one reset seed (the same first state)
    assert seeds == [episode_seed(0, 0)] * 4 + [episode_seed(0, 1)] * 4
    for group in (episodes[:4], episodes[4:]):
        assert all(np.array_equal(e.obs[0], group[0].obs[0]) for e in group)
        assert len({len(e.rewards) for e in group}) > 1 or len(
            {tuple(e.actions) for e in group}) > 1  # they are different rollouts
    # each episode's baseline is the mean reward-to-go of the other three
    b = pg._baselines(episodes)
    first = episodes[0]
    expected = sampled_baseline([e.returns for e in episodes[1:4]], len(first.rewards))
    assert b[:len(first.rewards)] == pytest.approx(expected)


def test_greedy_baseline_plays_one_greedy_rollout_per_episode():
    pg = learner(baseline="greedy", episodes_per_update=4)
    calls = []
    play = pg._play

    def spy(seeds, greedy, hooks):
        calls.append((list(seeds), list(greedy)))
        return play(seeds, greedy, hooks)

    pg._play = spy
    hooks = Recorder()
    pg.train(1, hooks)
    seeds, greedy = calls[0]
    assert seeds[:4] == seeds[4:] and greedy == [False] * 4 + [True] * 4
    assert len(hooks.episodes) == 4  # greedy rollouts are not training episodes
    assert pg.steps > sum(length for _, _, length in hooks.episodes)  # ...but cost env steps


def test_bad_settings_are_one_line_user_errors():
    with pytest.raises(UserError, match="baseline 'mean'"):
        learner(baseline="mean")
    with pytest.raises(UserError, match="multiple of group_size"):
        learner(baseline="sampled", episodes_per_update=6, group_size=4)
    with pytest.raises(UserError, match="unknown hyperparameter 'lr_pi'"):
        config_from_dict(REINFORCEConfig, {"lr_pi": 0.1}, "pg.yaml")


def test_presets_build_configs():
    presets = load_presets("pg")
    assert {"default", "cartpole", "cartpole-whitening", "cartpole-sampled", "acrobot"} <= set(presets)
    for name, values in presets.items():
        config = config_from_dict(REINFORCEConfig, values, f"pg.yaml: {name}")
        assert config.total_steps > 0
    assert config_from_dict(REINFORCEConfig, presets["cartpole"], "x").baseline == "learned"


# --- learning ---------------------------------------------------------------------------------


@pytest.mark.parametrize("baseline", ["learned", "whitening", "sampled"])
def test_each_baseline_beats_random_clearly(baseline):
    presets = load_presets("pg")
    name = "cartpole" if baseline == "learned" else f"cartpole-{baseline}"
    pg = REINFORCE("cartpole", config_from_dict(REINFORCEConfig, presets[name], name), CPU, 0)
    # The policy itself (sampled) is judged: an untrained net's argmax can balance the pole
    # for a while by luck, but its near-uniform policy plays like the random agent.
    before, _ = evaluate(pg.agent(sample=True), "cartpole", 20)
    assert before < 1.5 * RANDOM_CARTPOLE
    hooks = Recorder()
    pg.train(25_000, hooks)
    after, _ = evaluate(pg.agent(sample=True), "cartpole", 20)
    assert after >= 3 * RANDOM_CARTPOLE, f"{baseline}: {after:.1f} after {pg.steps} steps"
    assert hooks.episodes and hooks.logs
    assert {"loss", "entropy", "policy_loss"} <= set(hooks.logs[-1][1])


def test_same_seed_same_returns():
    a, b = Recorder(), Recorder()
    learner(seed=3).train(2000, a)
    learner(seed=3).train(2000, b)
    assert a.episodes == b.episodes
    c = Recorder()
    learner(seed=4).train(2000, c)
    assert c.episodes != a.episodes


def test_hooks_tick_false_stops_training():
    class Stop(TrainHooks):
        def tick(self, step: int) -> bool:
            return False

    pg = learner()
    pg.train(100_000, Stop())
    assert pg.updates == 1


# --- checkpoints ------------------------------------------------------------------------------


def test_resume_is_identical_to_an_uninterrupted_run(tmp_path):
    straight = learner(seed=5)
    straight_hooks = Recorder()
    straight.train(3000, straight_hooks)
    straight.train(6000, straight_hooks)

    first = learner(seed=5)
    hooks = Recorder()
    first.train(3000, hooks)
    first.save(tmp_path / "ck")
    resumed = REINFORCE.load(tmp_path / "ck", CPU, for_training=True)
    assert (resumed.steps, resumed.updates, resumed.seeds_used) == (
        first.steps, first.updates, first.seeds_used)
    for key, value in first.optimizer.state_dict()["state"][0].items():
        assert torch.equal(resumed.optimizer.state_dict()["state"][0][key], value)
    resumed.train(6000, hooks)
    assert_same_run(resumed, hooks, straight, straight_hooks)


def test_checkpoint_plays_without_training_state(tmp_path):
    pg = learner(seed=1)
    pg.train(1000, TrainHooks())
    pg.save(tmp_path / "ck", with_train_state=False)
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["meta.json", "model.safetensors"]
    loaded = REINFORCE.load(tmp_path / "ck", CPU)
    assert loaded._envs == []  # no training env was made
    obs = np.array([0.01, 0.2, -0.03, -0.1], dtype=np.float32)
    assert loaded.agent().act(obs, None) == pg.agent().act(obs, None)
    with pytest.raises(UserError, match="without training state"):
        REINFORCE.load(tmp_path / "ck", CPU, for_training=True)


# --- the agent --------------------------------------------------------------------------------


def test_explain_gives_probabilities_of_legal_actions_best_first():
    pg = learner(seed=2)
    pg.train(500, TrainHooks())
    agent = pg.agent()
    obs = np.array([0.0, 0.5, 0.05, 0.3], dtype=np.float32)
    action = agent.act(obs, np.ones(2, dtype=np.int8))
    insight = agent.explain()
    assert insight.kind == "probs"
    probs = [a.score for a in insight.actions]
    assert sum(probs) == pytest.approx(1.0)
    assert probs == sorted(probs, reverse=True) and insight.actions[0].action == action
    assert insight.value is not None  # the learned baseline's critic

    assert agent.act(obs, np.array([0, 1], dtype=np.int8)) == 1  # only legal actions
    insight = agent.explain()
    assert [a.action for a in insight.actions] == [1]
    assert insight.actions[0].score == pytest.approx(1.0)

    assert learner(baseline="whitening").agent().explain() is None  # nothing played yet
