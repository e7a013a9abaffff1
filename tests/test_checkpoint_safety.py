"""A checkpoint never runs code, and never sizes an allocation by itself.

Resuming a run builds the agents its stored config names (eval_opponents,
references) only when they are built-ins or checkpoint directories: a ``gtp:``
command, a ``file.py:Class`` or a plugin written into meta.json or run.json is one
line naming the file and the field, and nothing is run. Hyperparameters with no
sense (lr <= 0, gamma outside (0, 1], a batch size below 1) are one line too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arena.cli import main

PPO_TTT = ["num_envs=2", "num_steps=16", "minibatch_size=32", "update_epochs=1", "hidden=[8]",
           "eval_games=1", "eval_opponents=random"]


def one_line_exit_2(capsys, args: list[str], *needles: str) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err and len(err) < 300, err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.fixture(scope="module")
def board_run(tmp_path_factory) -> Path:
    from arena.train import run_training

    run = tmp_path_factory.mktemp("runs") / "ppo-ttt"
    run_training("ppo", "tictactoe", steps=32, out=run, progress=False, eval_episodes=1,
                 overrides=PPO_TTT, device="cpu")
    assert (run / "last" / "meta.json").is_file()
    return run


def _copy(run: Path, tmp_path: Path) -> Path:
    import shutil

    dest = tmp_path / "run"
    shutil.copytree(run, dest)
    return dest


@pytest.mark.parametrize("ref", ["gtp:touch {marker}", "{tmp}/evil.py:Evil"])
def test_resume_refuses_a_stored_reference_that_runs_code(board_run, tmp_path, capsys, ref):
    run = _copy(board_run, tmp_path)
    marker = tmp_path / "ran"
    (tmp_path / "evil.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nclass Evil:\n    pass\n")
    ref = ref.format(marker=marker, tmp=tmp_path)
    meta_path = run / "last" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["config"]["eval_opponents"] = f"random,{ref}"
    meta_path.write_text(json.dumps(meta))
    one_line_exit_2(capsys, ["train", "--resume", str(run), "--steps", "64"],
                    str(meta_path), "eval_opponents")
    assert not marker.exists()


def test_resume_allows_builtins_and_checkpoint_directories(board_run, tmp_path):
    from agents.learner import check_stored_references
    from agents.ppo import PPOConfig

    config = PPOConfig(eval_opponents=f"random,greedy,mcts:sims=4,{board_run / 'last'}")
    check_stored_references(config, "meta.json")  # no error


def test_run_json_without_checkpoint_refuses_gtp(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({
        "algo": "ppo", "game": "tictactoe", "seed": 0, "total_steps": 64, "eval_every": 32,
        "config": {"eval_opponents": "gtp:touch x"}}))
    one_line_exit_2(capsys, ["train", "--resume", str(run)], "run.json", "eval_opponents")


@pytest.mark.parametrize("setting, field", [
    ("lr=-1", "lr"), ("lr=0", "lr"), ("gamma=0", "gamma"), ("gamma=1.5", "gamma"),
    ("minibatch_size=0", "minibatch_size"), ("gae_lambda=2", "gae_lambda"),
    ("gae_lambda=-0.1", "gae_lambda"), ("clip_coef=-1", "clip_coef"), ("clip_coef=0", "clip_coef")])
def test_senseless_hyperparameters_are_one_line(tmp_path, capsys, setting, field):
    one_line_exit_2(capsys, ["train", "ppo", "cartpole", "--steps", "64", "--out",
                             str(tmp_path / "r"), "--set", setting], field)


@pytest.mark.parametrize("setting", ["batch_size=0", "lr=-0.001"])
def test_senseless_dqn_hyperparameters_are_one_line(tmp_path, capsys, setting):
    one_line_exit_2(capsys, ["train", "dqn", "cartpole", "--steps", "64", "--out",
                             str(tmp_path / "r"), "--set", setting], setting.split("=")[0])


def test_an_oversized_train_state_json_is_refused(board_run, tmp_path, capsys):
    run = _copy(board_run, tmp_path)
    state = run / "last" / "train_state.json"
    with state.open("r+b") as f:  # sparse: 17 MB on paper, nothing on disk
        f.truncate(17 * 2**20)
    one_line_exit_2(capsys, ["train", "--resume", str(run), "--steps", "64"],
                    "train_state.json", "larger than")


def test_read_json_object_reads_at_most_the_limit(tmp_path):
    from agents.checkpoint import read_json_object
    from games.errors import UserError

    path = tmp_path / "state.json"
    with path.open("wb") as f:
        f.truncate(17 * 2**20)
    with pytest.raises(UserError, match="larger than"):
        read_json_object(path)


# -- AlphaZero / AlphaGo network sizes -------------------------------------------------------


def _alphazero_checkpoint(tmp_path: Path, net: dict | None = None) -> Path:
    from games.features import game_features
    from agents.alphazero.network import NetConfig, PolicyValueNet, save_net

    features = game_features("tictactoe")
    directory = tmp_path / "az"
    save_net(directory, PolicyValueNet(features.shape, features.num_actions,
                                       NetConfig(blocks=1, channels=8, value_hidden=8)),
             "tictactoe")
    if net is not None:
        meta = json.loads((directory / "meta.json").read_text())
        meta["net"].update(net)
        (directory / "meta.json").write_text(json.dumps(meta))
    return directory


@pytest.mark.parametrize("net, field", [
    ({"channels": 100_000}, "net"), ({"blocks": 10**9}, "blocks"),
    ({"value_hidden": 10**9}, "net"), ({"channels": "abc"}, "channels")])
def test_alphazero_net_sizes_are_checked_before_building(tmp_path, capsys, net, field,
                                                         monkeypatch):
    import agents.alphazero.network as network

    directory = _alphazero_checkpoint(tmp_path, net)
    built = []
    monkeypatch.setattr(network.nn, "Conv2d", lambda *a, **k: built.append(a))
    one_line_exit_2(capsys, ["match", "tictactoe", f"alphazero:{directory}", "random",
                             "--games", "1"], str(directory / "meta.json"), field)
    assert not built


def test_alphazero_trainer_load_checks_the_net_before_building(tmp_path):
    from agents.alphazero.train import AlphaZero
    from games.errors import UserError

    directory = _alphazero_checkpoint(tmp_path, {"channels": 100_000})
    with pytest.raises(UserError, match="meta.json.*parameters"):
        AlphaZero.load(directory, "cpu")


def _alphago_net(tmp_path: Path, change) -> Path:
    from agents.alphago.nets import POLICY, features_for, new_net, save_net
    from agents.alphazero.network import NetConfig

    directory = tmp_path / "sl"
    save_net(directory, new_net(features_for("go5", 2), NetConfig(1, 8, 8)), POLICY, "go5", 2)
    meta = json.loads((directory / "meta.json").read_text())
    change(meta)
    (directory / "meta.json").write_text(json.dumps(meta))
    return directory


@pytest.mark.parametrize("change, field", [
    (lambda m: m["net"].update(channels=100_000), "net"),
    (lambda m: m.update(game="chess"), "game"),
    (lambda m: m.update(history="x"), "history")])
def test_alphago_load_net_names_file_and_field(tmp_path, change, field):
    from agents.alphago.nets import POLICY, load_net
    from games.errors import UserError

    directory = _alphago_net(tmp_path, change)
    with pytest.raises(UserError) as info:
        load_net(directory, POLICY)
    text = str(info.value)
    assert str(directory / "meta.json") in text and f"'{field}'" in text and len(text) < 300, text


# -- DQN replay.safetensors ------------------------------------------------------------------


@pytest.fixture(scope="module")
def dqn_run(tmp_path_factory) -> Path:
    from arena.train import run_training

    run = tmp_path_factory.mktemp("runs") / "dqn"
    run_training("dqn", "cartpole", steps=128, out=run, progress=False, eval_episodes=1,
                 overrides=["learning_starts=64", "buffer_size=512", "hidden=[8]"], device="cpu")
    assert (run / "last" / "replay.safetensors").is_file()
    return run


def _edit_replay(path: Path, change) -> None:
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(path), framework="pt") as f:
        metadata = dict(f.metadata())
    tensors = load_file(str(path))
    meta = json.loads(metadata["arena_replay"])
    change(meta, tensors)
    metadata["arena_replay"] = json.dumps(meta)
    save_file(tensors, str(path), metadata)


@pytest.mark.parametrize("change, needle", [
    (lambda m, t: m.update(capacity=10**12), "capacity"),
    (lambda m, t: m.update(capacity=1_000_000), "capacity"),
    (lambda m, t: m.update(obs_shape=[100000, 100000]), "obs_shape"),
    (lambda m, t: m.update(num_envs=7), "num_envs"),
    (lambda m, t: m.update(size=100), "has shape"),
    (lambda m, t: t.pop("rewards"), "rewards"),
    (lambda m, t: m.update(kind="other"), "kind")])
def test_replay_is_checked_against_the_run_before_allocating(dqn_run, tmp_path, capsys,
                                                             change, needle):
    run = _copy(dqn_run, tmp_path)
    replay = run / "last" / "replay.safetensors"
    _edit_replay(replay, change)
    one_line_exit_2(capsys, ["train", "--resume", str(run), "--steps", "256"],
                    str(replay), needle)


def test_replay_capacity_over_the_cap_is_refused_before_allocating(tmp_path, monkeypatch):
    import numpy as np

    from agents.replay import ReplayBuffer, load_replay_buffer
    from games.errors import UserError

    path = tmp_path / "replay.safetensors"
    buffer = ReplayBuffer(16, (4,))
    buffer.add(np.zeros((1, 4), np.float32), np.zeros(1, np.int64), np.zeros(1, np.float32),
               np.zeros((1, 4), np.float32), np.zeros(1, bool), np.zeros(1, bool))
    buffer.save(path)
    _edit_replay(path, lambda m, t: m.update(capacity=10**12))
    with pytest.raises(UserError, match="capacity"):
        load_replay_buffer(path)


def test_an_untouched_replay_resumes(dqn_run, tmp_path):
    run = _copy(dqn_run, tmp_path)
    assert main(["train", "--resume", str(run), "--steps", "192"]) == 0


def test_a_stored_plugin_name_is_refused(monkeypatch):
    import agents.registry as registry
    from agents.learner import check_stored_references
    from agents.ppo import PPOConfig
    from games.errors import UserError

    monkeypatch.setattr(registry, "_entry_points", lambda: {"evil": object()})
    with pytest.raises(UserError, match="plugin"):
        check_stored_references(PPOConfig(eval_opponents="random,evil:x=1"), "meta.json")
    check_stored_references(PPOConfig(eval_opponents="random,greedy"), "meta.json")


def test_alphazero_stored_references_are_checked_too():
    from agents.alphazero.train import AlphaZeroConfig
    from agents.learner import check_stored_references
    from games.errors import UserError

    with pytest.raises(UserError, match="config.references.*gtp"):
        check_stored_references(AlphaZeroConfig(references="mcts,gtp:gnugo --mode gtp"),
                                "meta.json")
    check_stored_references(AlphaZeroConfig(references="mcts,greedy,gnugo:level=1"), "meta.json")


def test_alphago_run_meta_with_a_huge_net_is_refused_before_building(tmp_path):
    from agents.alphago.train import AlphaGo
    from games.errors import UserError

    directory = tmp_path / "last"
    directory.mkdir()
    (directory / "meta.json").write_text(json.dumps(
        {"algo": "alphago", "game": "go9", "config": {"channels": 100_000}}))
    with pytest.raises(UserError) as info:
        AlphaGo.load(directory, "cpu")
    text = str(info.value)
    assert str(directory / "meta.json") in text and "parameters" in text and len(text) < 300, text
