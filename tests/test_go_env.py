"""Go's AEC env: equal to PettingZoo's go_v5, passes api_test, renders."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import FIXTURES, ROOT
from pettingzoo.test import api_test

from games.go.env import GoEnv
from games.registry import resolve_game


@pytest.mark.parametrize(("size", "games"), [(5, 180), (9, 90), (13, 40)])
def test_go_env_equals_go_v5(size, games):
    """310 random games in all, every mask, observation and reward compared."""
    proc = subprocess.run([sys.executable, str(FIXTURES / "go_env_compare.py"), str(size),
                           str(games), str(size)], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{games} games" in proc.stdout


@pytest.mark.parametrize("size", [5, 9])
def test_go_env_passes_api_test(size):
    api_test(GoEnv(board_size=size), num_cycles=200)


def test_registry_ids_and_sizes():
    for size in (5, 7, 9, 13, 19):
        spec = resolve_game(f"go{size}")
        assert spec.new_state().size == size
        env = spec.env()
        env.reset()
        assert env.action_space("black_0").n == size * size + 1
        assert env.possible_agents == ["black_0", "white_0"]


def test_move_cap_ends_the_game_by_score():
    env = GoEnv(board_size=5, max_moves=6)
    env.reset()
    for action in (0, 24, 1, 23, 2, 22):  # three black stones, three white
        env.step(action)
    assert all(env.terminations.values())
    assert env.unwrapped.state.moves_played == 6
    # With komi 7.5 and equal stones, white wins the adjudication.
    assert env.rewards == {"black_0": -1, "white_0": 1}


def test_rgb_render_draws_stones():
    env = GoEnv(board_size=9, render_mode="rgb_array")
    env.reset()
    empty = env.render()
    env.step(40)  # E5, the centre
    frame = env.render()
    assert frame.shape == (640, 640, 3) and frame.dtype == np.uint8
    # A black stone on the wood, beside the red last-move mark at its centre.
    assert frame[325, 338].sum() < 150 and empty[325, 338].sum() > 300
    assert frame[320, 320].tolist() == [200, 40, 40]
    assert not np.array_equal(frame, empty)


def test_ansi_render_uses_gtp_coordinates():
    env = GoEnv(board_size=9, render_mode="ansi")
    env.reset()
    env.step(0)
    text = env.render()
    assert "J" in text and "I" not in text.split("\n")[0]
    assert "9" in text and "1" in text


def test_games_go_env_is_callable_as_pettingzoo_spells_it():
    """`import games.go; games.go.env(board_size=9)`, as `go_v5.env(board_size=9)`; the module
    of that name still imports, in a fresh interpreter either way round."""
    script = (
        "import games.go\n"
        "e = games.go.env(board_size=9, komi=6.5)\n"
        "from games.go.env import GoEnv, env\n"
        "import games.go.env as module\n"
        "assert isinstance(e, GoEnv) and e.board_size == 9 and e.komi == 6.5\n"
        "assert module is games.go.env and module.GoEnv is GoEnv\n"
        "assert isinstance(env(board_size=5), GoEnv)\n"
        "e.reset(seed=0)\n"
        "assert e.agents == ['black_0', 'white_0']\n"
        "from pettingzoo.test import api_test\n"
        "api_test(games.go.env(board_size=5), num_cycles=20)\n"
        "print('ok')\n"
    )
    first_the_module = "from games.go.env import GoEnv\nimport games.go\n" \
                       "assert isinstance(games.go.env(board_size=7), GoEnv)\nprint('ok')\n"
    for text in (script, first_the_module):
        proc = subprocess.run([sys.executable, "-c", text], capture_output=True, text=True,
                              cwd=ROOT, timeout=120)
        assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr
