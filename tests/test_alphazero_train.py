"""AlphaZero training (agents/alphazero/train.py) through arena/train.py and the CLI.

The runs are tiny (a 1-block net, 16 simulations, 32 games a generation) so
the whole file stays within a minute on a loaded 2-core machine; one torch
thread, because small forward passes are many times slower with two there.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ARENA, ROOT

from agents.algorithms import load_run_agent
from agents.alphazero.agent import AlphaZeroAgent
from agents.alphazero.network import load_net
from agents.alphazero.train import AlphaZero, AlphaZeroConfig
from agents.replay import ReplayWindow
from agents.learner import TrainHooks
from tournaments.ratings import elo_from_score
from agents.registry import make_agent
from agents.match import play_match
from agents.series import run_series
from tournaments.store import Store
from arena.train import run_training
from games.features import game_features
from games.registry import resolve_game

TINY = ["blocks=1", "channels=32", "value_hidden=32", "sims=16", "parallel=32",
        "games_per_generation=32", "train_steps=100", "batch_size=64", "lr=0.003",
        "eval_games=10", "eval_sims=16", "ref_games=2", "ref_mcts_sims=30", "play_sims=16"]


#: Small nets train fastest on one torch thread, and the suite shares 2 cores (conftest).
pytestmark = pytest.mark.usefixtures("one_thread")


def _won_in_one_positions(n_games: int = 400) -> tuple[list, list[list[int]]]:
    """Distinct tic-tac-toe positions (from random play) where the mover wins with one move."""
    game = resolve_game("tictactoe")
    rng = np.random.default_rng(1)
    states, wins, seen = [], [], set()
    for _ in range(n_games):
        state, history = game.new_state(), []
        while not state.is_terminal():
            winning = []
            for a in state.legal_actions():
                after = state.copy()
                after.play(a)
                if after.is_terminal() and after.returns()[state.to_play] > 0:
                    winning.append(a)
            if winning and tuple(history) not in seen:
                seen.add(tuple(history))
                states.append(state.copy())
                wins.append(winning)
            action = int(rng.choice(state.legal_actions()))
            history.append(action)
            state.play(action)
    return states, wins


def _knowledge(checkpoint: Path) -> tuple[float, float]:
    """(mean value, mean policy mass on the winning moves) of a net over won-in-one positions."""
    net, features, _ = load_net(checkpoint)
    states, wins = _won_in_one_positions()
    with torch.no_grad():
        logits, values = net(torch.from_numpy(features.encode_batch(states)))
    probs = torch.softmax(logits, dim=1)
    mass = [probs[i, w].sum().item() for i, w in enumerate(wins)]
    return values.mean().item(), float(np.mean(mass))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, Path]:
    """One short tic-tac-toe run (about 4 generations), shared by the tests below."""
    base = tmp_path_factory.mktemp("az")
    config = base / "arena.toml"
    config.write_text('data_dir = "data"\n')
    old = os.environ.get("ARENA_CONFIG")
    os.environ["ARENA_CONFIG"] = str(config)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        summary = run_training("alphazero", "tictactoe", steps=900, out=base / "run", device="cpu",
                               progress=False, overrides=TINY)
    finally:
        torch.set_num_threads(threads)
        if old is None:
            os.environ.pop("ARENA_CONFIG", None)
        else:
            os.environ["ARENA_CONFIG"] = old
    return base / "run", summary, base / "data" / "arena.db"


def test_run_writes_checkpoints_generations_and_stored_matches(trained):
    run, summary, store_path = trained
    assert summary["steps"] >= 900 and summary["board"]["generation"] >= 3
    for name in ("last", "best"):
        assert (run / name / "meta.json").is_file() and (run / name / "model.safetensors").is_file()
    assert (run / "last" / "window.safetensors").is_file()
    rows = list(csv.DictReader((run / "generations.csv").open()))
    assert [int(r["gen"]) for r in rows] == list(range(1, len(rows) + 1))
    assert all(float(r["loss"]) > 0 for r in rows)
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])  # it learns something
    assert any(r["accepted"] == "True" for r in rows)
    assert "mcts:" in rows[0]["refs"] and "greedy:" in rows[0]["refs"]
    steps = [int(r["steps"]) for r in rows]
    assert steps == sorted(steps) and steps[-1] == summary["steps"]
    store = Store(store_path)
    try:
        per_gen = 10 + 2 * 2  # the gate's games plus two references' games
        assert len(store.match_ids(tag=f"alphazero:{run.name}")) == per_gen * len(rows)
    finally:
        store.close()


def test_trained_net_knows_wins_in_one_and_the_run_plays_a_match(trained):
    run, _, _ = trained
    value, mass = _knowledge(run / "best")
    # The untrained net of this size: value about -0.1, mass on the winning moves about 0.13.
    assert value > 0.15, value
    assert mass > 0.35, mass
    agent = load_run_agent(run, device="cpu")
    assert isinstance(agent, AlphaZeroAgent)
    series = run_series(resolve_game("tictactoe"), [agent, make_agent("random")], ["az", "random"],
                        games=10, seed=7)
    assert series.forfeits() == [], series.forfeits()
    assert series.entrants[0].losses <= 1 and series.entrants[0].wins >= 6


def test_resume_restores_window_optimizer_and_generation_exactly(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_CONFIG", str(tmp_path / "arena.toml"))
    (tmp_path / "arena.toml").write_text('data_dir = "data"\n')
    cfg = AlphaZeroConfig(blocks=1, channels=16, value_hidden=16, sims=8, parallel=16,
                          games_per_generation=16, train_steps=20, batch_size=32, eval_games=2,
                          eval_sims=4, ref_games=0, window=100)
    learner = AlphaZero("tictactoe", cfg, torch.device("cpu"), seed=3)

    class Hooks(TrainHooks):
        run_dir = tmp_path / "run"

    learner.train(1, Hooks())  # one generation
    assert learner.generation == 1 and len(learner.window) == min(100, learner.steps)
    learner.save(tmp_path / "ckpt")
    back = AlphaZero.load(tmp_path / "ckpt", torch.device("cpu"), for_training=True)
    assert (back.steps, back.generation, back.gen_games) == (learner.steps, 1, 0)
    assert np.array_equal(back.window.planes[:len(back.window)], learner.window.planes[:len(learner.window)])
    assert np.array_equal(back.window.policies[:len(back.window)],
                          learner.window.policies[:len(learner.window)])
    assert back.window.pos == learner.window.pos
    saved, restored = learner.optimizer.state_dict()["state"], back.optimizer.state_dict()["state"]
    assert sorted(saved) == sorted(restored) and saved
    for index, a in saved.items():
        b = restored[index]
        assert all(torch.equal(a[k], b[k]) if torch.is_tensor(a[k]) else a[k] == b[k] for k in a)
    for a, b in zip(learner.best.state_dict().values(), back.best.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    # Both continue identically: same RNG, same window, same optimizer.
    learner.train(learner.steps + 1, TrainHooks())
    back.train(back.steps + 1, TrainHooks())
    assert back.steps == learner.steps and back.generation == 2
    for a, b in zip(learner.net.state_dict().values(), back.net.state_dict().values(), strict=True):
        assert torch.allclose(a.float(), b.float())


def test_run_training_resume_continues_the_generations(trained, tmp_path, monkeypatch):
    run, summary, _ = trained
    monkeypatch.setenv("ARENA_CONFIG", str(tmp_path / "arena.toml"))
    (tmp_path / "arena.toml").write_text('data_dir = "data"\n')
    copy = tmp_path / "run"
    import shutil

    shutil.copytree(run, copy)
    gens = summary["board"]["generation"]
    more = run_training("alphazero", "tictactoe", resume=copy, steps=summary["steps"] + 1,
                        device="cpu", progress=False)
    assert more["board"]["generation"] == gens + 1
    rows = list(csv.DictReader((copy / "generations.csv").open()))
    assert [int(r["gen"]) for r in rows] == list(range(1, gens + 2))


def test_window_keeps_the_newest_positions_and_symmetries_keep_policies_with_planes():
    window = ReplayWindow(5, (3, 3, 3), 9)
    for k in range(7):
        planes = np.zeros((1, 3, 3, 3), dtype=np.float32)
        planes[0, 0, 0, 0] = 1.0
        policy = np.zeros((1, 9), dtype=np.float32)
        policy[0, 0] = 1.0
        window.add(planes, policy, np.array([k], dtype=np.float32))
    assert len(window) == 5 and sorted(window.values.tolist()) == [2, 3, 4, 5, 6]
    planes, policies, _ = window.sample(64, np.random.default_rng(0), game_features("tictactoe"))
    # Wherever a symmetry moved the marked corner, the policy's mass moved with it.
    assert np.array_equal(planes[:, 0].reshape(64, 9), policies)
    assert len({tuple(p) for p in policies}) == 4  # the four corners
    with pytest.raises(ValueError):
        window.add(np.full((1, 3, 3, 3), 0.5, np.float32), policy, np.zeros(1, np.float32))
    assert elo_from_score(0.5, 10) == 0.0 and elo_from_score(1.0, 10) > 400


def test_cli_trains_and_sigint_saves(tmp_path, config):
    out = tmp_path / "cli-run"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    args = [*ARENA, "train", "alphazero", "tictactoe", "--steps", "100000", "--out", str(out),
            "--device", "cpu", *[x for s in TINY for x in ("--set", s)]]
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.time() + 40
        while not (out / "episodes.csv").exists() or len((out / "episodes.csv").read_text().splitlines()) < 2:
            assert proc.poll() is None, proc.communicate()
            assert time.time() < deadline
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "stopped early" in stdout
    assert (out / "last" / "meta.json").is_file() and (out / "best" / "meta.json").is_file()
    agent = load_run_agent(out, device="cpu")
    result = play_match(resolve_game("tictactoe"), [agent, make_agent("random")], seed=1)
    assert result.status == "finished"
