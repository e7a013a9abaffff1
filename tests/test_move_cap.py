"""The match loop's move cap: Go is adjudicated by its score, other games are drawn."""

from __future__ import annotations

import pytest

from agents.registry import make_agent
from agents.match import play_match
from games.go.state import GoState
from games.registry import resolve_game


def _random_pair():
    return [make_agent("random"), make_agent("random")]


@pytest.mark.parametrize(("game_id", "cap", "seed"), [("go9", 12, 0), ("go9", 30, 4), ("go5", 9, 1)])
def test_a_capped_go_game_is_scored_as_it_stands(game_id, cap, seed):
    result = play_match(resolve_game(game_id), _random_pair(), seed=seed, max_moves=cap)
    assert result.truncated and result.plies == cap
    state = GoState(int(game_id[2:]))
    for move in result.moves:
        state.play(move.action)
    assert not state.is_terminal()
    black_wins = state.score() > 0  # area score with komi 7.5, black's view
    assert result.returns == ([1.0, -1.0] if black_wins else [-1.0, 1.0])
    assert result.winner == (0 if black_wins else 1)
    assert result.outcomes == (["win", "loss"] if black_wins else ["loss", "win"])


@pytest.mark.parametrize("game_id", ["tictactoe", "connect4", "pz:pettingzoo.classic.connect_four_v3"])
def test_a_capped_game_without_a_score_is_a_draw(game_id):
    result = play_match(resolve_game(game_id), _random_pair(), seed=0, max_moves=4)
    assert result.truncated and result.plies == 4
    assert result.outcomes == ["draw", "draw"] and result.winner is None
    assert result.returns == [0.0, 0.0]


def test_a_game_that_ends_on_the_capped_move_is_not_truncated():
    game = resolve_game("tictactoe")
    full = play_match(game, _random_pair(), seed=3)
    assert not full.truncated
    at_cap = play_match(game, _random_pair(), seed=3, max_moves=full.plies)
    assert not at_cap.truncated
    assert at_cap.returns == full.returns and at_cap.winner == full.winner
