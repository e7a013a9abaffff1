"""`arena gtp random` against real GnuGo through a GTP referee: full 9x9 games, agreed scores."""

from __future__ import annotations

import pytest
from conftest import ARENA
from gtp_referee import Game, Referee

from agents.gtp_agent import GtpProcess, find_gnugo

GNUGO = find_gnugo()
pytestmark = pytest.mark.skipif(GNUGO is None, reason="gnugo is not installed (make gnugo)")

# The command from the acceptance text; --never-resign because the referee
# also makes GnuGo move for the hopelessly lost side when clearing dead stones.
GNUGO_ARGS = ["--mode", "gtp", "--level", "1", "--chinese-rules", "--capture-all-dead",
              "--never-resign"]


@pytest.fixture
def engines():
    arena = GtpProcess([*ARENA, "gtp", "random", "--size", "9", "--seed", "5"])
    gnugo = GtpProcess([GNUGO, *GNUGO_ARGS])
    yield arena, gnugo
    arena.close()
    gnugo.close()


@pytest.mark.parametrize("arena_colour", [0, 1])
def test_random_vs_gnugo_scores_agree(engines, arena_colour):
    """A full game until both pass; then GnuGo (which with --capture-all-dead
    captures every dead stone before it passes) moves for both colours until
    both pass again, so the board holds only living stones and no dame is
    left. On that board Tromp-Taylor (Arena) and GnuGo's area count must agree."""
    arena, gnugo = engines
    black, white = (arena, gnugo) if arena_colour == 0 else (gnugo, arena)
    referee = Referee(black, white)
    referee.setup(9, 7.5)
    game = Game()
    referee.play(game, max_moves=1000, check_every=10)
    assert game.ended_by_passes, f"no two passes in {len(game.moves)} moves"
    arena_moves = [v for c, v in game.moves if c == "bw"[arena_colour]]
    assert len(arena_moves) >= 10  # a real game, not two quick passes
    gnugo_moves = [v for c, v in game.moves if c != "bw"[arena_colour]]
    assert any(v != "PASS" for v in gnugo_moves)

    cleanup = Game()
    referee.play(cleanup, max_moves=400, movers=(gnugo, gnugo), first=referee.next_colour(game))
    assert cleanup.ended_by_passes, f"GnuGo did not finish the position in {len(cleanup.moves)}"

    referee.check_boards("at the end")
    arena_score = arena.command("final_score", 30)
    gnugo_score = gnugo.command("final_score", 30)
    assert arena_score == gnugo_score
    # GnuGo, playing white or black, wins by far against random moves.
    winner = "WB"[arena_colour]
    assert arena_score.startswith(f"{winner}+"), arena_score
