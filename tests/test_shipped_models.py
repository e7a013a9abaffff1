"""The shipped connect-four model (assets/models/connect4): tactics, play, metadata, size.

The model is loaded the way users load it (`alphazero:<dir>,sims=N`) and
searched with few simulations, so these checks measure the network, not a
deep search: it must take a win in one, block a loss in one and beat random.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from gymnasium import spaces

from agents.base import MatchContext
from agents.registry import make_agent
from agents.series import run_series
from games.connect4 import Connect4State
from games.registry import resolve_game

MODEL_DIR = Path(__file__).resolve().parent.parent / "assets" / "models" / "connect4"
MAX_BYTES = 20 * 1024 * 1024
LOW_SIMS = 32

torch.set_num_threads(1)


def position(*moves: int) -> Connect4State:
    state = Connect4State()
    for move in moves:
        state.play(move)
    return state


def wins_now(state: Connect4State, action: int) -> bool:
    """Whether `action` ends the game with a win for the side to move."""
    after = state.copy()
    mover = after.to_play
    after.play(action)
    return after.is_terminal() and after.returns()[mover] > 0


def winning_moves(state: Connect4State) -> set[int]:
    return {a for a in state.legal_actions() if wins_now(state, a)}


def safe_moves(state: Connect4State) -> set[int]:
    """The moves after which the opponent has no win in one."""
    out = set()
    for action in state.legal_actions():
        after = state.copy()
        after.play(action)
        if after.is_terminal() or not winning_moves(after):
            out.add(action)
    return out


def choose(moves: tuple[int, ...], sims: int = LOW_SIMS) -> int:
    """The shipped agent's move after `moves`, through its real start/observe/act cycle."""
    agent = make_agent(f"alphazero:{MODEL_DIR},sims={sims},device=cpu")
    game = resolve_game("connect4")
    player = len(moves) % 2
    agent.start(MatchContext(game=game, seat=f"player_{player}", player=player, seed=0,
                             action_space=spaces.Discrete(7)))
    for i, move in enumerate(moves):
        agent.observe(i % 2, move)
    state = position(*moves)
    return int(agent.act(None, state.legal_mask()))


needs_model = pytest.mark.skipif(not (MODEL_DIR / "meta.json").is_file(),
                                 reason="no shipped connect-four model")

# Positions where the side to move has exactly one winning move.
WIN_IN_ONE = [
    (0, 0, 1, 1, 2, 2),  # bottom row, columns a-c: d wins
    (3, 4, 3, 4, 3, 5),  # three stacked in column d
    (6, 0, 5, 0, 4, 1, 1, 2),  # bottom row e-g for the first player, d wins
    (0, 1, 1, 2, 3, 2, 2, 3, 3, 6),  # the rising diagonal a1-b2-c3, d4 wins
]
# Positions where the side to move cannot win at once and exactly one move stops the
# opponent's win in one.
BLOCK_IN_ONE = [
    (0, 6, 1, 6, 2),  # bottom row a-c: the second player must play d
    (0, 3, 1, 3, 6, 3),  # three stacked in column d: the first player must play d
    (6, 0, 5, 0, 4),  # bottom row e-g: d
]


def test_the_positions_are_what_they_claim():
    for moves in WIN_IN_ONE:
        assert len(winning_moves(position(*moves))) == 1, moves
    for moves in BLOCK_IN_ONE:
        state = position(*moves)
        assert not winning_moves(state) and len(safe_moves(state)) == 1, moves


@needs_model
@pytest.mark.parametrize("moves", WIN_IN_ONE)
def test_the_shipped_model_takes_a_win_in_one(moves):
    state = position(*moves)
    assert choose(moves) in winning_moves(state)


@needs_model
@pytest.mark.parametrize("moves", BLOCK_IN_ONE)
def test_the_shipped_model_blocks_a_loss_in_one(moves):
    state = position(*moves)
    assert choose(moves) in safe_moves(state)


@needs_model
def test_the_shipped_model_beats_random_every_game():
    game = resolve_game("connect4")
    agent = make_agent(f"alphazero:{MODEL_DIR},sims={LOW_SIMS},device=cpu")
    series = run_series(game, [agent, make_agent("random")], ["model", "random"], games=10, seed=7)
    model = series.entrants[0]
    assert (model.wins, model.forfeits) == (10, 0), series.entrants


@needs_model
def test_the_shipped_model_records_its_recipe_and_training_time_and_is_small():
    meta = json.loads((MODEL_DIR / "meta.json").read_text())
    assert meta["algo"] == "alphazero" and meta["game"] == "connect4"
    recipe = meta["recipe"]
    assert recipe["command"].startswith("arena train alphazero connect4")
    assert recipe["hyperparameters"]["blocks"] == meta["net"]["blocks"]
    assert recipe["hyperparameters"]["sims"] >= 1
    assert meta["train_seconds"] > 0 and meta["training_minutes"] > 0
    size = sum(p.stat().st_size for p in MODEL_DIR.rglob("*") if p.is_file())
    assert 0 < size <= MAX_BYTES


def test_the_reference_plays_at_the_models_own_sims_unless_told_otherwise():
    from games.errors import UserError

    meta_sims = json.loads((MODEL_DIR / "meta.json").read_text())["play_sims"]
    assert make_agent(f"alphazero:{MODEL_DIR}").sims == meta_sims
    assert make_agent(f"alphazero:{MODEL_DIR},sims=50").sims == 50
    with pytest.raises(UserError, match="sims='many' is not an int"):
        make_agent(f"alphazero:{MODEL_DIR},sims=many")
