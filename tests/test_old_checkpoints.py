"""Checkpoints written before the learners were restructured still load and play the same.

tests/fixtures/old_checkpoints/ holds, for each learner, a playing checkpoint (play/)
and a training checkpoint (train/) written by the code before the restructure
(make.py there says how), and moves.json: the moves each played, and each shipped
model played, against `random` for fixed seeds. Today's code must load them all,
play exactly those moves, and resume training from each training checkpoint.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch

from agents.algorithms import learner_classes, load_run_agent
from agents.learner import TrainHooks

FIXTURES = Path(__file__).parent / "fixtures" / "old_checkpoints"
sys.path.insert(0, str(FIXTURES))
from make import RUNS, SHIPPED, moves  # noqa: E402  - the same games, played the same way

RECORDED = json.loads((FIXTURES / "moves.json").read_text())


@pytest.mark.parametrize(("name", "algo", "game_id"), [r[:3] for r in RUNS])
def test_an_old_checkpoint_plays_the_moves_it_played(name, algo, game_id):
    assert moves(load_run_agent(FIXTURES / name / "play", "cpu"), game_id) == RECORDED[name]


@pytest.mark.parametrize(("name", "algo", "game_id"), [r[:3] for r in RUNS])
def test_an_old_training_checkpoint_resumes(tmp_path, name, algo, game_id):
    train = tmp_path / "train"
    shutil.copytree(FIXTURES / name / "train", train)
    cls, _ = learner_classes(algo)
    learner = cls.load(train, torch.device("cpu"), for_training=True)
    steps = learner.steps
    assert steps > 0
    learner.train(steps + 8, TrainHooks())
    assert learner.steps >= steps + 8
    learner.save(tmp_path / "again", with_train_state=True)
    assert cls.load(tmp_path / "again", torch.device("cpu"), for_training=True).steps == learner.steps


@pytest.mark.parametrize(("name", "ref", "game_id"), SHIPPED)
def test_a_shipped_model_plays_the_moves_it_played(name, ref, game_id):
    assert moves(ref, game_id) == RECORDED[name]
