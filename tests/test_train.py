"""The trainer around every learner: run directories and schedules."""

from __future__ import annotations


def test_the_run_length_is_the_learners_schedule_horizon(tmp_path):
    """--steps sets the step at which the learning-rate and clip anneals end."""
    from arena.train import run_training

    summary = run_training("ppo", "cartpole", steps=1024, out=tmp_path / "run", progress=False,
                           eval_episodes=2, overrides=["num_envs=2", "num_steps=256", "minibatch_size=128"])
    assert summary["steps"] >= 1024
    import json

    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["total_steps"] == 1024 and run["config"]["total_steps"] == 1024
    assert (tmp_path / "run" / "last" / "meta.json").is_file()
    assert (tmp_path / "run" / "best" / "meta.json").is_file()


def test_resuming_past_the_planned_length_stretches_the_schedules(tmp_path):
    """A run resumed with a larger --steps keeps learning: its lr anneal now ends at the new end."""
    import json

    import torch

    from agents.ppo import PPO
    from arena.train import run_training

    run = tmp_path / "run"
    run_training("ppo", "cartpole", steps=1024, out=run, progress=False, eval_episodes=2,
                 overrides=["num_envs=2", "num_steps=256", "minibatch_size=128"])
    done = PPO.load(run / "last", torch.device("cpu"), for_training=True)
    assert done.config.total_steps == 1024
    assert done.steps >= 1024

    from arena.cli import main

    # The run names its algorithm and game: --resume needs neither.
    assert main(["train", "--resume", str(run), "--steps", "2048", "--eval-episodes", "2",
                 "--json"]) == 0
    info = json.loads((run / "run.json").read_text())
    assert info["total_steps"] == 2048 and info["config"]["total_steps"] == 2048
    resumed = PPO.load(run / "last", torch.device("cpu"), for_training=True)
    assert resumed.config.total_steps == 2048
    # Half-way through the stretched span the learning rate was well above 0 (the old span
    # had annealed it to 0 at step 1024): the extra steps changed the weights.
    before = torch.cat([p.flatten() for p in done.net.parameters()])
    after = torch.cat([p.flatten() for p in resumed.net.parameters()])
    assert not torch.allclose(before, after)


def test_train_without_algo_and_game_needs_resume(capsys):
    from arena.cli import main

    assert main(["train", "ppo"]) == 2
    assert "ALGO and GAME are required" in capsys.readouterr().err
