"""The tic-tac-toe and connect four search states, and their envs under PettingZoo's api_test."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pettingzoo.classic.connect_four import connect_four as pz_connect_four
from pettingzoo.test import api_test

from games import connect4, tictactoe
from games.connect4 import Connect4State
from games.state import GameState
from games.tictactoe import TicTacToeState


def play_all(state: GameState, actions: list[int]) -> GameState:
    """Play `actions` in order, checking that the game is not over before the last one."""
    for index, action in enumerate(actions):
        assert not state.is_terminal(), f"game over before move {index} of {actions}"
        assert action in state.legal_actions()
        state.play(action)
    return state


# --- the envs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("make_env", [tictactoe.env, connect4.env], ids=["tictactoe", "connect4"])
def test_pettingzoo_api_test_passes(make_env) -> None:
    api_test(make_env(), num_cycles=100)


@pytest.mark.parametrize("make_env", [tictactoe.env, connect4.env], ids=["tictactoe", "connect4"])
def test_env_exposes_live_state_and_last_action(make_env) -> None:
    env = make_env(render_mode="ansi")
    env.reset(seed=3)
    assert env.unwrapped.last_action is None
    assert env.unwrapped.state.legal_actions() == list(range(env.unwrapped.state.num_actions))
    env.step(2)
    state = env.unwrapped.state
    assert env.unwrapped.last_action == 2
    assert state.to_play == 1
    assert state.observation(0).sum() == 1
    assert env.render() == state.render_text(2)
    assert "[X]" in env.render()
    env.reset()
    assert env.unwrapped.last_action is None
    assert "[" not in env.render()


def test_env_rejects_unknown_render_mode() -> None:
    with pytest.raises(ValueError):
        connect4.env(render_mode="rgb_array")


# --- tic-tac-toe ------------------------------------------------------------------------------

TTT_LINES = {
    "column a": (0, 1, 2), "column b": (3, 4, 5), "column c": (6, 7, 8),
    "row 1": (0, 3, 6), "row 2": (1, 4, 7), "row 3": (2, 5, 8),
    "diagonal a1-c3": (0, 4, 8), "diagonal a3-c1": (2, 4, 6),
}


def is_ttt_line(cells: tuple[int, ...]) -> bool:
    return any(set(line) <= set(cells) for line in TTT_LINES.values())


@pytest.mark.parametrize("line", TTT_LINES.values(), ids=TTT_LINES.keys())
def test_tictactoe_first_player_wins_on_every_line(line: tuple[int, ...]) -> None:
    others = [cell for cell in range(9) if cell not in line]
    state = play_all(TicTacToeState(), [line[0], others[0], line[1], others[1], line[2]])
    assert state.is_terminal()
    assert state.returns() == (1.0, -1.0)
    assert state.legal_actions() == []
    assert state.legal_mask().tolist() == [0] * 9


@pytest.mark.parametrize("line", TTT_LINES.values(), ids=TTT_LINES.keys())
def test_tictactoe_second_player_wins_on_every_line(line: tuple[int, ...]) -> None:
    others = [cell for cell in range(9) if cell not in line]
    first = next(c for c in itertools.combinations(others, 3) if not is_ttt_line(c))
    state = play_all(
        TicTacToeState(), [first[0], line[0], first[1], line[1], first[2], line[2]]
    )
    assert state.is_terminal()
    assert state.returns() == (-1.0, 1.0)


def test_tictactoe_two_in_a_row_and_broken_lines_do_not_win() -> None:
    # X: a1, a2, b3 ... no line; O: b1, b2 ... no line.
    state = play_all(TicTacToeState(), [0, 3, 1, 4, 5])
    assert not state.is_terminal()
    assert state.returns() == (0.0, 0.0)
    assert state.legal_actions() == [2, 6, 7, 8]


def test_tictactoe_full_board_without_a_line_is_a_draw() -> None:
    #   X O X
    #   X O O
    #   O X X
    state = play_all(TicTacToeState(), [0, 3, 6, 4, 1, 7, 5, 2])
    assert not state.is_terminal()
    state.play(8)
    assert state.is_terminal()
    assert state.returns() == (0.0, 0.0)
    assert state.legal_actions() == []


def test_tictactoe_legal_actions_and_turns_after_play() -> None:
    state = TicTacToeState()
    assert state.to_play == 0
    assert state.legal_actions() == list(range(9))
    state.play(4)
    assert state.to_play == 1
    assert state.legal_actions() == [0, 1, 2, 3, 5, 6, 7, 8]
    assert state.legal_mask().tolist() == [1, 1, 1, 1, 0, 1, 1, 1, 1]
    assert state.legal_mask().dtype == np.int8
    state.play(0)
    assert state.to_play == 0
    assert state.legal_actions() == [1, 2, 3, 5, 6, 7, 8]


def test_tictactoe_observation_layout_matches_pettingzoo() -> None:
    # PettingZoo: obs[i, j] is cell i*3 + j; plane 0 is the observer's marks.
    state = play_all(TicTacToeState(), [1, 5])  # X on a2 (cell 1), O on b3 (cell 5)
    for player, own, other in ((0, 1, 5), (1, 5, 1)):
        obs = state.observation(player)
        assert obs.shape == (3, 3, 2) and obs.dtype == np.int8
        expected = np.zeros((3, 3, 2), dtype=np.int8)
        expected[own // 3, own % 3, 0] = 1
        expected[other // 3, other % 3, 1] = 1
        assert np.array_equal(obs, expected)


def test_tictactoe_copy_is_independent() -> None:
    original = play_all(TicTacToeState(), [0, 4])
    twin = original.copy()
    play_all(twin, [8, 2, 6])
    assert twin.is_terminal() is False and twin.legal_actions() == [1, 3, 5, 7]
    assert original.legal_actions() == [1, 2, 3, 5, 6, 7, 8]
    assert original.to_play == 0
    assert original.observation(0).sum() == 2
    original.play(1)
    assert 1 not in original.legal_actions()
    assert 1 in twin.legal_actions()
    won = play_all(TicTacToeState(), [0, 3, 1, 4]).copy()
    won.play(2)
    assert won.returns() == (1.0, -1.0)


def test_tictactoe_labels_round_trip() -> None:
    state = TicTacToeState()
    labels = [state.action_label(a) for a in range(9)]
    assert labels == ["a1", "a2", "a3", "b1", "b2", "b3", "c1", "c2", "c3"]
    for action, label in enumerate(labels):
        assert state.parse_action(label) == action
        assert state.parse_action(f"  {label.upper()} ") == action
        assert state.parse_action(str(action)) == action


@pytest.mark.parametrize("text", ["", "d1", "a4", "a0", "9", "-1", "aa", "b22", "x", "1a", "c 3"])
def test_tictactoe_parse_rejects_nonsense(text: str) -> None:
    with pytest.raises(ValueError):
        TicTacToeState().parse_action(text)


def test_tictactoe_render_marks_the_last_move() -> None:
    state = play_all(TicTacToeState(), [0, 4])
    assert state.render_text(4).splitlines() == [
        "    a   b   c",
        "  ┌───┬───┬───┐",
        "1 │ X │   │   │",
        "  ├───┼───┼───┤",
        "2 │   │[O]│   │",
        "  ├───┼───┼───┤",
        "3 │   │   │   │",
        "  └───┴───┴───┘",
    ]
    assert "[" not in state.render_text()
    state.play(7)  # X on c2
    assert "2 │   │ O │[X]│" in state.render_text(7).splitlines()


# --- connect four -----------------------------------------------------------------------------


def reference_winner(state: Connect4State) -> int | None:
    """Four in a row found by scanning every cell and direction of the observation."""
    planes = state.observation(0)
    for player in (0, 1):
        grid = planes[:, :, player]
        for row, column in itertools.product(range(6), range(7)):
            for d_row, d_column in ((0, 1), (1, 0), (1, 1), (1, -1)):
                cells = [(row + k * d_row, column + k * d_column) for k in range(4)]
                if all(0 <= r < 6 and 0 <= c < 7 and grid[r, c] for r, c in cells):
                    return player
    return None


# (name, moves, winner): the last move completes the four.
CONNECT4_WINS = [
    ("horizontal, left edge", [0, 0, 1, 1, 2, 2, 3], 0),
    ("horizontal, right edge", [6, 6, 5, 5, 4, 4, 3], 0),
    ("horizontal, second player, second row, right edge",
     [3, 1, 1, 5, 0, 5, 4, 0, 5, 5, 6, 0, 5, 6, 6, 0, 2, 5, 0, 3, 2, 3, 3, 2, 2, 4], 1),
    ("horizontal, top row",
     [3, 0, 2, 4, 0, 6, 4, 2, 2, 5, 5, 6, 2, 2, 2, 0, 4, 0, 6, 3, 1, 4, 5, 1, 1, 5, 5, 1, 5, 0,
      0, 4, 4, 6, 1, 3, 3, 3, 3], 0),
    ("vertical, bottom of column 1", [0, 1, 0, 1, 0, 1, 0], 0),
    ("vertical, top of column 7", [0, 6, 0, 6, 6, 0, 6, 1, 6, 1, 6], 0),
    ("vertical, second player", [0, 3, 1, 3, 0, 3, 1, 3], 1),
    ("diagonal rising to the right, bottom left", [0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3], 0),
    ("diagonal falling to the right, bottom right", [6, 5, 5, 4, 4, 3, 4, 3, 3, 0, 3], 0),
    ("diagonal rising to the right, into the top right corner",
     [1, 0, 1, 4, 6, 5, 2, 5, 5, 2, 6, 5, 2, 1, 4, 3, 3, 4, 4, 4, 6, 0, 5, 6, 5, 2, 4, 0, 3, 2,
      3, 2, 0, 6, 6], 0),
    ("diagonal falling to the right, from the top left corner",
     [1, 5, 6, 6, 2, 0, 2, 5, 3, 5, 0, 3, 2, 3, 6, 0, 5, 4, 0, 5, 4, 6, 1, 6, 0, 3, 4, 0, 6, 2,
      4, 1, 1, 1], 1),
]


@pytest.mark.parametrize("name, moves, winner", CONNECT4_WINS, ids=[w[0] for w in CONNECT4_WINS])
def test_connect4_wins(name: str, moves: list[int], winner: int) -> None:
    state = play_all(Connect4State(), moves)
    assert reference_winner(state) == winner, "the test position itself is wrong"
    assert state.is_terminal()
    assert state.returns() == ((1.0, -1.0) if winner == 0 else (-1.0, 1.0))
    assert state.legal_actions() == []
    before = Connect4State()
    play_all(before, moves[:-1])
    assert not before.is_terminal() and reference_winner(before) is None


def test_connect4_pieces_do_not_connect_across_columns() -> None:
    # Column 1 holds X at heights 4-5 and column 2 X at heights 0-1: adjacent bits, no four.
    state = play_all(Connect4State(), [0, 0, 0, 0, 1, 6, 1, 6, 0, 5, 0])
    assert reference_winner(state) is None
    assert not state.is_terminal()
    first_two_columns = state.observation(0)[:, :2, 0].tolist()
    assert first_two_columns == [[1, 0], [1, 0], [0, 0], [1, 0], [0, 1], [1, 1]]


def test_connect4_matches_reference_scan_in_random_games() -> None:
    rng = np.random.default_rng(11)
    for _ in range(150):
        state = Connect4State()
        while not state.is_terminal():
            state.play(int(rng.choice(state.legal_actions())))
            winner = reference_winner(state)
            board_full = state.observation(0).sum() == 42
            assert state.is_terminal() == (winner is not None or board_full)
        if winner is None:
            assert state.returns() == (0.0, 0.0)
        else:
            assert state.returns()[winner] == 1.0


DRAW_MOVES = [int(c) - 1 for c in "257771314744647214154617633623313656555222"]


def test_connect4_full_board_is_a_draw_here_and_in_pettingzoo() -> None:
    state = play_all(Connect4State(), DRAW_MOVES)
    assert state.is_terminal()
    assert state.returns() == (0.0, 0.0)
    assert state.legal_actions() == []
    assert reference_winner(state) is None
    assert state.observation(0).sum() == 42
    pz = pz_connect_four.env()
    pz.reset()
    for action in DRAW_MOVES:
        assert not pz.terminations[pz.agent_selection]
        pz.step(action)
    assert all(pz.terminations.values())
    assert pz.rewards == {"player_0": 0, "player_1": 0}


def test_connect4_legal_actions_after_play() -> None:
    state = Connect4State()
    assert state.legal_actions() == list(range(7))
    for height in range(6):
        assert state.column_height(0) == height
        assert 0 in state.legal_actions()
        state.play(0)
    assert state.legal_actions() == [1, 2, 3, 4, 5, 6]
    assert state.legal_mask().tolist() == [0, 1, 1, 1, 1, 1, 1]
    assert state.to_play == 0
    assert not state.is_terminal()


def test_connect4_observation_layout_matches_pettingzoo() -> None:
    # PettingZoo: obs[row, column] with row 0 at the top; pieces fall to row 5.
    state = play_all(Connect4State(), [0, 0, 6])
    obs = state.observation(1)
    assert obs.shape == (6, 7, 2) and obs.dtype == np.int8
    expected = np.zeros((6, 7, 2), dtype=np.int8)
    expected[4, 0, 0] = 1  # the second player's piece, on top of the first
    expected[5, 0, 1] = 1
    expected[5, 6, 1] = 1
    assert np.array_equal(obs, expected)
    assert np.array_equal(state.observation(0), expected[:, :, ::-1])


def test_connect4_copy_is_independent() -> None:
    original = play_all(Connect4State(), [3, 3, 4])
    twin = original.copy()
    play_all(twin, [0, 5, 0])
    assert not twin.is_terminal()
    twin.play(6)  # X now holds columns 4-7 of the bottom row
    assert twin.is_terminal() and twin.returns() == (1.0, -1.0)
    assert not original.is_terminal()
    assert original.to_play == 1
    assert [original.column_height(c) for c in range(7)] == [0, 0, 0, 2, 1, 0, 0]
    assert original.observation(0).sum() == 3
    assert original.legal_actions() == list(range(7))
    original.play(0)
    assert twin.column_height(0) == 2 and original.column_height(0) == 1


def test_connect4_labels_round_trip() -> None:
    state = Connect4State()
    assert [state.action_label(a) for a in range(7)] == ["1", "2", "3", "4", "5", "6", "7"]
    for action in range(7):
        assert state.parse_action(state.action_label(action)) == action
        assert state.parse_action(f" {action + 1} ") == action


@pytest.mark.parametrize("text", ["", "0", "8", "a", "12", "1.5", "-1", "one", "a1"])
def test_connect4_parse_rejects_nonsense(text: str) -> None:
    with pytest.raises(ValueError):
        Connect4State().parse_action(text)


def test_connect4_render_marks_the_last_move() -> None:
    state = play_all(Connect4State(), [3, 3])
    lines = state.render_text(3).splitlines()
    assert lines[0] == lines[-1] == "  1   2   3   4   5   6   7"
    assert lines[5] == "│   │   │   │[O]│   │   │   │"
    assert lines[6] == "│   │   │   │ X │   │   │   │"
    assert lines[7] == "└───┴───┴───┴───┴───┴───┴───┘"
    assert "[" not in state.render_text()
    assert state.render_text(0) == state.render_text()  # an empty column marks nothing
