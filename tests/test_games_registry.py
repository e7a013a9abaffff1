"""The game registry: built-in ids, gym: and pz: passthrough, and the gymnasium adapter."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import api_test

from games.errors import UserError
from games.registry import builtin_games, resolve_game


def test_builtin_ids():
    ids = {g.id: g for g in builtin_games()}
    assert {"cartpole", "acrobot", "tictactoe", "connect4"} <= set(ids)
    assert ids["cartpole"].players == 1 and not ids["cartpole"].has_state
    assert ids["connect4"].players == 2 and ids["connect4"].has_state


@pytest.mark.parametrize("game_id", ["cartpole", "acrobot"])
def test_gym_games_pass_the_pettingzoo_api_test(game_id):
    api_test(resolve_game(game_id).env(), num_cycles=30)


def test_gym_adapter_is_one_agent_with_a_mask():
    env = resolve_game("cartpole").env()
    env.reset(seed=4)
    assert env.agents == ["player_0"]
    obs, reward, term, trunc, info = env.last()
    assert obs.shape == (4,) and reward == 0.0
    assert info["action_mask"].tolist() == [1, 1]
    steps = 0
    while not (term or trunc):
        env.step(0)
        steps += 1
        obs, reward, term, trunc, info = env.last()
        assert reward == 1.0
    # Pushing left for ever drops the pole within a few dozen steps.
    assert term and 5 < steps < 50


def test_any_gymnasium_id():
    spec = resolve_game("gym:MountainCar-v0")
    env = spec.env()
    env.reset(seed=0)
    assert env.action_space("player_0").n == 3


def test_any_pettingzoo_module():
    spec = resolve_game("pz:pettingzoo.classic.connect_four_v3")
    assert spec.players == 2 and not spec.has_state
    env = spec.env()
    env.reset(seed=0)
    assert env.agents == ["player_0", "player_1"]
    assert np.array_equal(env.last()[0]["action_mask"], np.ones(7, dtype=np.int8))


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("checkers", "unknown game 'checkers' (known: cartpole, acrobot, tictactoe, connect4"),
        ("gym:Nope-v0", "unknown gymnasium id 'Nope-v0'"),
        ("pz:pettingzoo.classic.nope_v0", "cannot import PettingZoo module"),
        ("pz:json", "module 'json' has no env() factory"),
    ],
)
def test_unknown_games(ref, message):
    with pytest.raises(UserError) as err:
        resolve_game(ref)
    assert message in str(err.value)
