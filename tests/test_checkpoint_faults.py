"""Hostile checkpoints: every fault in a PPO, A2C, REINFORCE or DQN checkpoint is one line.

Each checkpoint comes from a tiny real training run; a test copies it, edits one
thing (a tensor's shape, a missing or extra tensor, obs_shape, n_actions, hidden,
lr, the game, train_state.json) and runs `arena eval`, `arena match` or
`arena train --resume` on it: exit code 2, one line naming the file and the field
or tensor, no traceback, nothing stored. Networks too big to build are refused
from their meta.json before anything is allocated.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from conftest import matches_stored, run_arena
from safetensors.torch import load_file, save_file

from arena.cli import main

TINY = {  # a few hundred steps of each learner on CartPole, with an 8-unit network
    "ppo": ["num_envs=2", "num_steps=64", "minibatch_size=64", "update_epochs=1", "hidden=[8]"],
    "a2c": ["num_envs=2", "num_steps=8", "hidden=[8]"],
    "pg": ["episodes_per_update=2", "hidden=[8]"],
    "dqn": ["learning_starts=64", "buffer_size=512", "hidden=[8]"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A real run directory per algorithm (run.json, last/ with its training state, best/)."""
    from arena.train import run_training

    base = tmp_path_factory.mktemp("runs")
    made = {}
    for algo, overrides in TINY.items():
        run = base / algo
        run_training(algo, "cartpole", steps=256, out=run, progress=False, eval_episodes=1,
                     overrides=overrides, device="cpu")
        assert (run / "last" / "meta.json").is_file() and (run / "last" / "train_state.json").is_file()
        made[algo] = run
    return made


def copy_run(runs: dict[str, Path], algo: str, tmp_path: Path) -> Path:
    run = tmp_path / f"{algo}-run"
    shutil.copytree(runs[algo], run)
    shutil.rmtree(run / "best", ignore_errors=True)  # the agent is last/: the one edited
    return run


def edit_meta(checkpoint: Path, change) -> None:
    path = checkpoint / "meta.json"
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


def edit_tensors(path: Path, change) -> None:
    tensors = load_file(str(path))
    change(tensors)
    save_file(tensors, str(path))


def refused(argv: list[str], capsys, *needles: str) -> str:
    """`arena ARGV` (in this process) exits 2 with one line holding every needle."""
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    line = lines[0]
    assert line.startswith("arena: ") and "Traceback" not in captured.err, line
    assert len(line) < 300, line
    for needle in needles:
        assert needle in line, (needle, line)
    return line


def first_weight(tensors: dict) -> str:
    return next(k for k in sorted(tensors) if k.endswith("weight") and tensors[k].dim() == 2)


ALGOS = list(TINY)


# -- the weights ----------------------------------------------------------------------------


@pytest.mark.parametrize("algo", ALGOS)
def test_a_tensor_of_the_wrong_shape(runs, algo, tmp_path, capsys, config):
    run = copy_run(runs, algo, tmp_path)
    name = {}

    def grow(tensors):
        name["key"] = first_weight(tensors)
        tensors[name["key"]] = torch.zeros(3, 3)

    edit_tensors(run / "last" / "model.safetensors", grow)
    refused(["eval", str(run), "cartpole", "--episodes", "1"], capsys,
            "model.safetensors", name["key"], "[3, 3]")


@pytest.mark.parametrize("algo", ALGOS)
def test_a_missing_tensor(runs, algo, tmp_path, capsys, config):
    run = copy_run(runs, algo, tmp_path)
    name = {}

    def drop(tensors):
        name["key"] = sorted(tensors)[-1]
        del tensors[name["key"]]

    edit_tensors(run / "last" / "model.safetensors", drop)
    refused(["match", "cartpole", str(run)], capsys, "model.safetensors", "lacks tensor",
            name["key"])
    assert matches_stored(config) == 0


@pytest.mark.parametrize("algo", ALGOS)
def test_an_extra_tensor(runs, algo, tmp_path, capsys, config):
    run = copy_run(runs, algo, tmp_path)
    edit_tensors(run / "last" / "model.safetensors",
                 lambda t: t.__setitem__("smuggled.weight", torch.zeros(2)))
    refused(["eval", str(run), "cartpole", "--episodes", "1"], capsys, "model.safetensors",
            "smuggled.weight")


# -- meta.json ------------------------------------------------------------------------------


@pytest.mark.parametrize("algo", ALGOS)
def test_an_edited_obs_shape(runs, algo, tmp_path, capsys, config):
    run = copy_run(runs, algo, tmp_path)
    edit_meta(run / "last", lambda m: m.__setitem__("obs_shape", [5]))
    refused(["eval", str(run), "cartpole", "--episodes", "1"], capsys, "model.safetensors",
            "obs_shape")


@pytest.mark.parametrize("algo", ALGOS)
def test_an_obs_shape_that_is_no_shape(runs, algo, tmp_path, capsys, config):
    run = copy_run(runs, algo, tmp_path)
    edit_meta(run / "last", lambda m: m.__setitem__("obs_shape", "abc"))
    refused(["eval", str(run), "cartpole", "--episodes", "1"], capsys, "meta.json",
            "field 'obs_shape'", "'abc'")


@pytest.mark.parametrize("algo", ALGOS)
def test_an_edited_n_actions(runs, algo, tmp_path, capsys, config):
    run = copy_run(runs, algo, tmp_path)
    edit_meta(run / "last", lambda m: m.__setitem__("n_actions", 3))
    refused(["eval", str(run), "cartpole", "--episodes", "1"], capsys, "n_actions")


@pytest.mark.parametrize("algo", ALGOS)
def test_hidden_that_is_not_layer_sizes(runs, algo, tmp_path, capsys, config):
    run = copy_run(runs, algo, tmp_path)
    edit_meta(run / "last", lambda m: m["config"].__setitem__("hidden", "abc"))
    refused(["eval", str(run), "cartpole", "--episodes", "1"], capsys, "meta.json",
            "hidden='abc'")


@pytest.mark.parametrize("algo", ALGOS)
def test_a_network_too_big_to_build_is_refused_before_it_is_built(runs, algo, tmp_path, capsys,
                                                                   config):
    run = copy_run(runs, algo, tmp_path)
    edit_meta(run / "last", lambda m: m["config"].__setitem__("hidden", [1e12]))
    line = refused(["eval", str(run), "cartpole", "--episodes", "1"], capsys, "meta.json",
                   "hidden=[1000000000000]", "over the limit")
    assert "parameters" in line


@pytest.mark.parametrize("algo", ALGOS)
def test_a_learning_rate_of_nan(runs, algo, tmp_path, capsys, config):
    run = copy_run(runs, algo, tmp_path)
    edit_meta(run / "last", lambda m: m["config"].__setitem__("lr", float("nan")))  # NaN in JSON
    refused(["eval", str(run), "cartpole", "--episodes", "1"], capsys, "meta.json", "lr=nan")


@pytest.mark.parametrize("algo", ALGOS)
def test_an_unknown_game(runs, algo, tmp_path, capsys, config):
    run = copy_run(runs, algo, tmp_path)
    edit_meta(run / "last", lambda m: m.__setitem__("game", "chess"))
    refused(["match", "tictactoe", str(run), "random"], capsys, "meta.json", "field 'game'",
            "chess")
    assert matches_stored(config) == 0


def test_every_fault_is_refused_by_the_real_command_too(runs, tmp_path, config):
    """The same refusals from `arena` as a subprocess: exit code 2, one line on stderr."""
    run = copy_run(runs, "ppo", tmp_path)
    edit_meta(run / "last", lambda m: m["config"].__setitem__("hidden", [1e12]))
    proc = run_arena("eval", str(run), "cartpole", "--episodes", "1")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "meta.json" in lines[0] and "hidden" in lines[0], proc.stderr


# -- another game ---------------------------------------------------------------------------


def test_a_cartpole_run_in_connect_four_is_refused_before_any_game(runs, capsys, config):
    refused(["match", "connect4", str(runs["ppo"]), "random"], capsys,
            f"agent '{runs['ppo']}' was trained on cartpole, not connect4")
    assert matches_stored(config) == 0


def test_a_run_recorded_under_the_gym_id_is_refused_in_connect_four(runs, tmp_path, capsys,
                                                                     config):
    run = copy_run(runs, "ppo", tmp_path)
    edit_meta(run / "last", lambda m: m.__setitem__("game", "gym:CartPole-v1"))
    refused(["match", "connect4", str(run), "random"], capsys,
            "was trained on gym:CartPole-v1, not connect4")
    # ... and plays CartPole under its short name.
    assert main(["eval", str(run), "cartpole", "--episodes", "1"]) == 0


# -- train_state.json on --resume -----------------------------------------------------------


@pytest.mark.parametrize("algo", ALGOS)
@pytest.mark.parametrize("fault", ["not json", "not an object", "no steps", "bad optimizer",
                                   "bad episodes"])
def test_a_malformed_training_state_on_resume(runs, algo, fault, tmp_path, capsys, config):
    run = copy_run(runs, algo, tmp_path)
    path = run / "last" / "train_state.json"
    state = json.loads(path.read_text())
    if fault == "not json":
        path.write_text('{"steps": 12, ')
    elif fault == "not an object":
        path.write_text("[1, 2, 3]")
    elif fault == "no steps":
        state.pop("updates")
        path.write_text(json.dumps(state))
    elif fault == "bad optimizer":
        state["optimizer"]["param_groups"][0]["lr"] = "fast"
        path.write_text(json.dumps(state))
    else:
        episodes = state["envs"] if "envs" in state else state
        if "episode_actions" in episodes:
            episodes["episode_actions"] = [[7, 7, 7]] * len(episodes["episode_actions"])
        else:  # REINFORCE plays whole episodes: its counter is the seeds handed out
            state["seeds_used"] = "many"
        path.write_text(json.dumps(state))
    before = {f.name: f.read_bytes() for f in (run / "last").iterdir()}
    refused(["train", "--resume", str(run), "--steps", "100000"], capsys, "train_state.json")
    assert {f.name: f.read_bytes() for f in (run / "last").iterdir()} == before  # untouched
