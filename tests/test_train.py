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
