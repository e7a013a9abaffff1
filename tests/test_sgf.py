"""SGF: Go matches written and read back, setup stones, and bad files as one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES

from agents.base import Agent
from agents.random_agent import RandomAgent
from agents.registry import make_agent
from arena.cli import main
from games.errors import UserError
from agents.match import play_match
from tournaments.store import Store, StoreWriter
from games.go.sgf import position_from_stones, read_sgf, ready_to_move, score_text
from tournaments.recording import SgfWriter
from games.go.state import GoState
from games.registry import resolve_game


def play_and_write(tmp_path: Path, game_id: str, agents: list, seed: int = 0, **kw):
    store = Store(tmp_path / "arena.db")
    writer = SgfWriter(tmp_path / "sgf")
    try:
        result = play_match(resolve_game(game_id), agents, seed=seed,
                            observers=[StoreWriter(store), writer], **kw)
    finally:
        store.close()
    return result, writer


@pytest.mark.parametrize(("game_id", "seed"), [("go9", 1), ("go5", 2), ("go13", 3)])
def test_a_match_round_trips_through_sgf(tmp_path, game_id, seed):
    result, writer = play_and_write(tmp_path, game_id, [RandomAgent(), RandomAgent()], seed)
    path = tmp_path / "sgf" / f"{result.match_id}.sgf"
    assert writer.written == [path]
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    text = path.read_text()
    for prop in ("GM[1]", "FF[4]", "KM[7.5]", "PB[random]", "PW[random]", "DT["):
        assert prop in text
    game = read_sgf(path)
    final = resolve_game(game_id).new_state()
    for move in result.moves:
        final.play(move.action)
    assert game.size == final.size and game.komi == 7.5
    assert game.moves == [(m.player, m.action) for m in result.moves]
    assert game.setup_black == [] and game.setup_white == []
    assert final.is_terminal()
    assert game.result == score_text(final.score())
    assert (game.result[0] == "B") == (result.winner == 0)
    assert np.array_equal(game.to_state().board(), final.board())


def test_forfeits_and_abandoned_games_have_sgf_results(tmp_path):
    raiser = make_agent(f"{FIXTURES / 'faulty_agents.py'}:Raiser:bad_game=0")
    result, _ = play_and_write(tmp_path, "go9", [raiser, RandomAgent()])
    path = tmp_path / "sgf" / f"{result.match_id}.sgf"
    assert read_sgf(path).result == "W+F"  # black forfeited
    assert "forfeited: raised RuntimeError: boom]" in path.read_text()  # the reason, in GC

    sleeper = make_agent(f"{FIXTURES / 'faulty_agents.py'}:Sleeper:bad_game=0")
    result, _ = play_and_write(tmp_path, "go9", [RandomAgent(), sleeper], time_per_move=0.2)
    assert read_sgf(tmp_path / "sgf" / f"{result.match_id}.sgf").result == "B+T"

    class Interrupter(Agent):
        def act(self, observation, action_mask):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        play_and_write(tmp_path, "go5", [RandomAgent(), Interrupter()])
    game = read_sgf(tmp_path / "sgf" / "3.sgf")
    assert game.result == "Void" and len(game.moves) == 1


def test_non_go_matches_write_nothing(tmp_path):
    play_and_write(tmp_path, "tictactoe", [RandomAgent(), RandomAgent()])
    assert not (tmp_path / "sgf").exists()


def test_setup_stones_give_the_position_and_the_side_to_move(tmp_path):
    # A 9x9 handicap game: two black stones and a white one at A9 (aa); white
    # moves first, then black captures A9 by playing A8 (ab) and B9 (ba).
    path = tmp_path / "handicap.sgf"
    path.write_text("(;GM[1]FF[4]SZ[9]KM[0.5]HA[2]AB[cg][gc]AW[aa]PB[b]PW[w]RE[B+R]"
                    ";W[ee];B[ab];W[ff];B[ba])")
    game = read_sgf(path)
    assert (game.size, game.komi, game.result) == (9, 0.5, "B+R")
    state = GoState(9)
    assert game.setup_black == sorted([state.parse_action("C3"), state.parse_action("G7")])
    assert game.setup_white == [state.parse_action("A9")]
    assert game.first_player == 1
    start = game.initial_state()
    assert start.to_play == 1 and start.passes == 0
    assert np.array_equal(np.flatnonzero(start.board().reshape(-1) == 1), game.setup_black)
    end = game.to_state()
    board = end.board()
    assert board[0, 0] == 0  # A9 captured
    assert board[0, 1] == 1 and board[1, 0] == 1  # B9, A8
    assert board[4, 4] == 2 and board[5, 5] == 2  # E5, F4: SGF rows count from the top
    assert end.to_play == 1


def test_position_from_stones_sets_who_moves():
    for to_play in (0, 1):
        state = position_from_stones(5, 7.5, [0, 6], [12], to_play)
        assert state.to_play == to_play and state.passes == 0 and not state.is_terminal()
        assert state.board().reshape(-1)[[0, 6, 12]].tolist() == [1, 1, 2]
    only_black = position_from_stones(5, 7.5, [12], [], to_play=0)
    assert only_black.to_play == 0 and only_black.passes == 0
    only_black.play(only_black.pass_action)  # the placement's own pass does not count
    assert not only_black.is_terminal()


def test_a_setup_position_is_a_games_start():
    state = position_from_stones(5, 7.5, [0, 6, 7], [12, 18], to_play=1, max_moves=20)
    assert state.moves_played == 0 and state.captures == (0, 0) and state.ko is None
    assert state.last_action is None
    history = np.frombuffer(state._history_bytes(3), dtype=np.int8).reshape(3, 25)
    assert history[0].tolist() == state.board().reshape(-1).tolist()  # this board alone
    assert not history[1:].any()  # nothing before it
    state.play(state.parse_action("E1"))  # the move cap (20) counts from the setup
    assert state.moves_played == 1 and state.max_moves == 20
    empty = position_from_stones(5, 7.5, [], [], to_play=0)
    fresh = GoState(5, 7.5, max_moves=0)
    assert empty._history_bytes(2) == fresh._history_bytes(2) and empty.moves_played == 0
    with_superko = GoState(5, 7.5, superko=True)
    with_superko.play(0)
    with_superko._start_here()
    assert with_superko.moves_played == 0 and with_superko.is_legal(1)
    with pytest.raises(ValueError, match="without liberties"):
        position_from_stones(5, 7.5, [0], [1, 5], 0)
    with pytest.raises(ValueError, match="two stones"):
        position_from_stones(5, 7.5, [3], [3], 0)


def test_play_goes_on_after_two_passes():
    state = GoState.from_moves(5, 7.5, ["C3", "pass", "pass"])
    assert state.is_terminal()
    more = ready_to_move(state, 1)
    more.play(more.parse_action("B2"))
    assert more.board()[3, 1] == 2 and more.board()[2, 2] == 1 and more.to_play == 0


def test_replay_names_the_sgf_file(config, capsys):
    assert main(["match", "go5", "random", "random", "--games", "1", "--seed", "4"]) == 0
    capsys.readouterr()
    assert main(["replay", "1"]) == 0
    out = capsys.readouterr().out
    path = config.parent / "data" / "sgf" / "1.sgf"
    assert path.exists() and out.rstrip().endswith(f"sgf: {path}")


BAD_FILES = [
    ("garbage.sgf", b"this is not sgf", "not valid SGF"),
    ("empty.sgf", b"", "not valid SGF"),
    ("chess.sgf", b"(;GM[3]SZ[8];B[aa])", "not a Go game (GM[3]"),
    ("big.sgf", b"(;GM[1]SZ[21])", "board size 21 is outside 5..19"),
    ("huge.sgf", b"(;GM[1]SZ[30])", "size out of range: 30"),
    ("tiny.sgf", b"(;GM[1]SZ[4])", "board size 4 is outside 5..19"),
    ("komi.sgf", b"(;GM[1]SZ[9]KM[lots])", "komi KM[lots] is not a number"),
    ("offboard.sgf", b"(;GM[1]SZ[9];B[ee];W[zz])", "move 2 W[zz] is not a point on the 9x9"),
    ("offsetup.sgf", b"(;GM[1]SZ[9]AB[ee][kk])", "setup stones AB[ee][kk] are not all points"),
    ("occupied.sgf", b"(;GM[1]SZ[9];B[ee];W[ee])", "move 2 (W E5) is illegal"),
    ("suicide.sgf", b"(;GM[1]SZ[9]AB[ba][ab];W[aa])", "move 1 (W A9) is illegal"),
    ("deadsetup.sgf", b"(;GM[1]SZ[9]AB[aa]AW[ba][ab])", "bad setup stones"),
    ("midsetup.sgf", b"(;GM[1]SZ[9];B[ee]AW[aa])", "setup stones after move"),
    ("player.sgf", b"(;GM[1]SZ[9]PL[x])", "PL[x] is not B or W"),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_sgf_files_give_one_line_naming_the_file(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(UserError) as info:
        read_sgf(path)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: ")
    assert message in text


def test_a_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match=r"nothere\.sgf: cannot read"):
        read_sgf(tmp_path / "nothere.sgf")
