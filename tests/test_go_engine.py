"""The Go rules engine (games.go.state.GoState) and the board symmetries.

Hand-made positions check each rule; a randomized differential test plays
random games through GoState and PettingZoo's go_v5 side by side and compares
everything at every move. PettingZoo keeps the board size in module globals,
so each size runs in its own process: this file doubles as that helper
(``python tests/test_go_engine.py SIZE GAMES SEED``).
"""

from __future__ import annotations

import copy
import pickle
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))

from games import symmetry
from games.go.state import GoState


def position(rows: list[str], to_play: int = 0, komi: float = 7.5, **kwargs) -> GoState:
    """A position from a diagram (top row first; X black, O white, '.' empty).

    Stones are placed with play_as, the colour to move's first, so the other
    colour's last placement leaves `to_play` to move. The diagram must be a
    legal position (every group with a liberty), so no placement captures.
    """
    n = len(rows)
    grid = [row.split() for row in rows]
    assert all(len(r) == n for r in grid), "diagram must be square"
    state = GoState(n, komi, **kwargs)
    symbol = {0: "X", 1: "O"}
    for colour in (to_play, 1 - to_play):
        for r in range(n):
            for c in range(n):
                if grid[r][c] == symbol[colour]:
                    state.play_as(r * n + c, colour)
    assert state.to_play == to_play, "diagram needs a stone of the colour not to move"
    assert state.captures == (0, 0) and state.ko is None
    return state


def at(state: GoState, label: str) -> int:
    return state.parse_action(label)


def stones(state: GoState) -> list[str]:
    """The board as diagram rows, for readable comparisons."""
    return [" ".join(".XO"[v] for v in row) for row in state.board()]


# ---------------------------------------------------------------------------
# captures


def test_single_stone_capture_in_the_middle():
    s = position([
        ". . . . .",
        ". . X . .",
        ". X O . .",
        ". . X . .",
        ". . . . .",
    ])
    s.play(at(s, "D3"))
    assert s.colour_at(at(s, "C3")) == 0
    assert s.captures == (1, 0)
    assert s._check() is None
    # D3 is not fully surrounded by white, so this capture sets no ko.
    assert s.ko is None


def test_group_capture_and_liberties_come_back():
    s = position([
        ". X X . .",
        "X O O X .",
        "X O . X .",
        ". X X . .",
        ". . . . .",
    ])
    assert s.group_liberties(at(s, "B4")) == 1
    s.play(at(s, "C3"))
    assert stones(s)[1:3] == ["X . . X .", "X . X X ."]
    assert s.captures == (3, 0)
    # the black stones that touched the dead group got their liberties back
    assert s.group_liberties(at(s, "A4")) == 4
    assert s._check() is None


def test_one_move_captures_two_groups():
    # The white pairs above and below B3 each have B3 as their last liberty.
    s = position([
        "X O X . .",
        "X O X . .",
        "X . X . .",
        "X O X . .",
        "X O X . .",
    ])
    assert s.is_legal(at(s, "B3"))
    s.play(at(s, "B3"))
    assert stones(s)[0:5] == ["X . X . .", "X . X . .", "X X X . .", "X . X . .", "X . X . ."]
    assert s.captures == (4, 0)
    assert s.ko is None
    assert s._check() is None


def test_edge_and_corner_captures():
    corner = position([
        "O X . . .",
        ". . . . .",
        ". . . . .",
        ". . . . .",
        ". . . . X",
    ])
    corner.play(at(corner, "A4"))
    assert corner.colour_at(0) == 0 and corner.captures == (1, 0)

    edge = position([
        ". . . . .",
        ". . . . .",
        ". . X . .",
        ". X O X .",
        ". . . . .",
    ], to_play=0)
    edge.play(at(edge, "C1"))
    assert edge.colour_at(at(edge, "C2")) == 0 and edge.captures == (1, 0)

    # white captures a black corner group of two along the edge
    two = position([
        ". . . . .",
        ". . . . .",
        ". . . . .",
        "O O . . .",
        "X X . . .",
    ], to_play=1)
    two.play(at(two, "C1"))
    assert stones(two)[4] == ". . O . ." and two.captures == (0, 2)
    assert two.ko is None and two._check() is None


# ---------------------------------------------------------------------------
# suicide


def test_single_point_suicide_is_illegal_and_leaves_the_state_alone():
    s = position([
        ". O . . .",
        "O . . . .",
        ". . . . .",
        ". . . . .",
        ". . . . X",
    ])
    corner = at(s, "A5")
    assert not s.is_legal(corner)
    assert corner not in s.legal_actions()
    assert s.legal_mask()[corner] == 0
    before = (s.hash, s.board().tolist(), s.moves_played)
    with pytest.raises(ValueError, match="A5.*suicide"):
        s.play(corner)
    assert (s.hash, s.board().tolist(), s.moves_played) == before
    assert s.illegal_reason(corner) == "suicide"


def test_group_suicide_is_illegal():
    # Black's B5-B4 pair has two liberties, A5 and A4; white around is safe.
    s = position([
        ". X O . .",
        ". X O . .",
        "O O . . .",
        ". . . . .",
        ". . . . .",
    ])
    # A5 is legal (the group keeps A4), A4 is legal (keeps A5) ...
    assert s.is_legal(at(s, "A5")) and s.is_legal(at(s, "A4"))
    s.play(at(s, "A5"))
    s.play(s.pass_action)
    # ... but after A5 the last liberty A4 would be suicide for the 3-stone group
    assert not s.is_legal(at(s, "A4"))
    with pytest.raises(ValueError, match="suicide"):
        s.play(at(s, "A4"))


def test_capturing_into_a_surrounded_point_is_legal():
    s = position([
        ". X O . .",
        "X O . . .",
        ". X O . .",
        ". . . . .",
        ". . . . .",
    ], to_play=1)
    # A5 touches only black stones, but white there takes B5's last liberty.
    assert s.is_legal(at(s, "A5"))
    s.play(at(s, "A5"))
    assert s.colour_at(at(s, "B5")) == 0 and s.captures == (0, 1)
    assert s._check() is None


# ---------------------------------------------------------------------------
# ko


KO = [
    ". . . . .",
    ". X O . .",
    "X O . O .",
    ". X O . .",
    ". . . . .",
]


def test_simple_ko_forbids_the_immediate_retake_only():
    s = position(KO)
    s.play(at(s, "C3"))  # black takes B3
    assert s.captures == (1, 0)
    assert s.ko == at(s, "B3")
    assert not s.is_legal(at(s, "B3"))
    with pytest.raises(ValueError, match="B3.*ko"):
        s.play(at(s, "B3"))
    s.play(at(s, "E5"))  # white elsewhere
    assert s.ko is None
    s.play(at(s, "E1"))  # black elsewhere
    assert s.is_legal(at(s, "B3"))
    s.play(at(s, "B3"))  # white retakes
    assert s.captures == (1, 1) and s.ko == at(s, "C3")


def test_pass_clears_ko():
    s = position(KO)
    s.play(at(s, "C3"))
    s.play(s.pass_action)  # white passes instead of retaking: the ban is gone
    assert s.ko is None and s.passes == 1 and not s.is_terminal()


# ---------------------------------------------------------------------------
# superko: a triple ko cycles back to the start after six captures

TRIPLE_KO = [
    ". X O . . . X O .",
    "X O . O . X O . O",
    ". X O . . . X O .",
    ". . . . . . . . .",
    ". . . . . . . . .",
    ". X O . . . . . .",
    "X . X O . . . . .",
    ". X O . . . . . .",
    ". . . . . . . . .",
]
# Ko A (top left) and B (top right) hold a white stone black can take; ko C
# (bottom left) holds a black stone white can take.
CYCLE = ["C8", "B3", "H8", "B8", "C3", "G8"]


@pytest.mark.parametrize("superko", [False, True])
def test_triple_ko_repetition(superko: bool):
    s = position(TRIPLE_KO, superko=superko, max_moves=0)
    start = (s.hash, s.board().tolist())
    for label in CYCLE[:-1]:
        s.play(at(s, label))
    last = at(s, CYCLE[-1])
    if superko:
        assert not s.is_legal(last)
        assert last not in s.legal_actions()
        with pytest.raises(ValueError, match="superko"):
            s.play(last)
        assert s.illegal_reason(last).startswith("repeats")
    else:
        assert s.is_legal(last)
        s.play(last)
        assert (s.hash, s.board().tolist()) == start
        assert s.captures == (3, 3)


def test_superko_copies_are_independent():
    s = position(TRIPLE_KO, superko=True, max_moves=0)
    for label in CYCLE[:-1]:
        s.play(at(s, label))
    twin = s.copy()
    assert not twin.is_legal(at(twin, CYCLE[-1]))
    assert pickle.loads(pickle.dumps(twin)).legal_actions() == twin.legal_actions()
    twin.play(twin.pass_action)
    assert s.passes == 0 and twin.passes == 1


def test_superko_random_games_against_a_brute_force_reference():
    """With superko, a move is legal iff it is legal without and the board it makes is new."""
    rng = random.Random(7)
    banned = 0
    # Long pass-free games on a small board are where repetitions turn up.
    for game in range(40):
        s = GoState(5, superko=True, max_moves=400)
        plain = GoState(5, max_moves=400)
        seen = {s.board().tobytes()}
        while not s.is_terminal():
            expected = []
            for a in plain.legal_actions():
                if a != plain.pass_action:
                    after = plain.copy()
                    after.play(a)
                    if after.board().tobytes() in seen:
                        continue
                expected.append(a)
            assert s.legal_actions() == expected, (game, s.moves_played)
            banned += len(plain.legal_actions()) - len(expected)
            moves = [a for a in expected if a != s.pass_action] or expected
            a = rng.choice(moves)
            s.play(a)
            plain.play(a)
            seen.add(s.board().tobytes())
            assert s._check() is None
    assert banned > 0, "the random games never met a superko repetition"


# ---------------------------------------------------------------------------
# end of game and scoring


def test_two_passes_end_the_game():
    s = GoState(5)
    s.play(s.pass_action)
    assert not s.is_terminal() and s.passes == 1 and s.to_play == 1
    s.play(0)
    assert s.passes == 0
    s.play(s.pass_action)
    s.play(s.pass_action)
    assert s.is_terminal() and s.passes == 2
    assert s.legal_actions() == [] and not s.legal_mask().any()
    assert not s.is_legal(s.pass_action)
    with pytest.raises(ValueError, match="over"):
        s.play(s.pass_action)
    # white's one stone (A5) owns the whole board
    assert s.area() == (0, 25) and s.score() == -25 - 7.5
    assert s.returns() == (-1.0, 1.0)


def test_move_cap_ends_the_game():
    assert GoState(9).max_moves == 243 and GoState(9, max_moves=0).max_moves == 0
    s = GoState(5, max_moves=3)
    for a in (0, 1, 2):
        assert not s.is_terminal()
        s.play(a)
    assert s.is_terminal() and s.legal_actions() == []
    with pytest.raises(ValueError):
        s.play(3)
    with pytest.raises(ValueError):
        GoState(5, max_moves=-1)
    for bad in (4, 20):
        with pytest.raises(ValueError):
            GoState(bad)


def test_tromp_taylor_area_with_dame_and_komi():
    walls = [
        ". X O . .",
        ". X O . .",
        ". X O . .",
        ". X O . .",
        ". X O . .",
    ]
    s = position(walls, komi=0.5)
    assert s.area() == (10, 15)
    assert s.score() == 10 - 15 - 0.5
    # opening the wall at the top joins column A to a white stone: all dame
    dame = position([
        ". . O . .",
        ". X O . .",
        ". X O . .",
        ". X O . .",
        ". X O . .",
    ], komi=0.0)
    assert dame.area() == (4, 15)
    assert dame.score() == -11.0
    assert dame.returns() == (0.0, 0.0)  # not over yet
    dame.play(dame.pass_action)
    dame.play(dame.pass_action)
    assert dame.returns() == (-1.0, 1.0)


def test_shared_liberties_count_for_nobody_and_a_zero_score_is_a_draw():
    rows = [
        ". X O . .",
        ". X O . .",
        "X X O O O",
        "O O . X X",
        ". O . X .",
    ]
    # A5-A4 and E1 are black's, D5-E4 and A1 white's; C2-C1 touch both (like seki).
    s = position(rows, komi=0.0)
    assert s.area() == (7 + 3, 8 + 5)
    assert s.score() == -3.0
    even = position(rows, komi=-3.0)
    even.play(even.pass_action)
    even.play(even.pass_action)
    assert even.score() == 0.0 and even.returns() == (0.0, 0.0)


# ---------------------------------------------------------------------------
# copies, labels, arrays


def test_copy_is_independent_and_keeps_the_subclass():
    s = GoState(9)
    for a in (40, 41, 31):
        s.play(a)
    twin = s.copy()
    assert type(twin) is GoState and isinstance(twin, GoState)
    twin.play(50)
    assert s.colour_at(50) == 0 and twin.colour_at(50) == 2
    assert s.moves_played == 3 and twin.moves_played == 4
    assert s.history(1)[0, 5, 5] == 0 and twin.history(1)[0, 5, 5] == 2
    assert s.hash != twin.hash

    class Tagged(GoState):
        __slots__ = ()

    t = Tagged(5)
    assert type(t.copy()) is Tagged and type(copy.deepcopy(t)) is Tagged
    back = pickle.loads(pickle.dumps(twin))
    assert type(back) is GoState and back.hash == twin.hash and back.history().tolist() == \
        twin.history().tolist() and back.legal_actions() == twin.legal_actions()


def test_hash_follows_the_position_not_the_move_order():
    a = GoState.from_moves(9, 7.5, ["C3", "D4", "E5", "F6"])
    b = GoState.from_moves(9, 7.5, ["E5", "F6", "C3", "D4"])
    assert a.hash == b.hash and a.board_hash == b.board_hash
    c = GoState.from_moves(9, 7.5, ["C3", "D4", "E5", "F6", "pass"])
    assert c.board_hash == a.board_hash and c.hash != a.hash  # side to move differs
    assert GoState(9).hash == 0 and GoState(9).legal_mask().dtype == np.int8


def test_play_as_plays_the_given_colour():
    s = GoState(5)
    s.play_as(s.parse_action("C3"), 1)
    assert s.colour_at(s.parse_action("C3")) == 2 and s.to_play == 0
    s.play_as(s.parse_action("D3"), 1)  # white twice in a row, as GTP allows
    assert s.to_play == 0 and s.history_colours(2).tolist() == [1, 1]
    with pytest.raises(ValueError):
        s.play_as(0, 2)


def test_labels_and_parsing_round_trip():
    nine = GoState(9)
    assert nine.action_label(0) == "A9" and nine.action_label(80) == "J1"
    assert nine.action_label(81) == "pass"
    assert nine.parse_action("a9") == 0 and nine.parse_action(" PASS ") == 81
    assert [nine.action_label(a) for a in range(7, 9)] == ["H9", "J9"]
    nineteen = GoState(19)
    assert nineteen.parse_action("A1") == 18 * 19
    assert nineteen.parse_action("T19") == 18
    assert nineteen.action_label(18 * 19) == "A1"
    for state in (nine, nineteen):
        for a in range(state.num_actions):
            assert state.parse_action(state.action_label(a)) == a
            assert state.parse_action(state.action_label(a).lower()) == a
    for bad in ("Z3", "A10", "I5", "J0", "", "D", "4D", "e5x"):
        with pytest.raises(ValueError):
            nine.parse_action(bad)
    with pytest.raises(ValueError):
        nine.action_label(82)


def test_board_history_planes_and_observation():
    s = GoState(5)
    for label in ("C3", "D3", "C2", "pass"):
        s.play(s.parse_action(label))
    c3, d3, c2 = (divmod(s.parse_action(x), 5) for x in ("C3", "D3", "C2"))
    board = s.board()
    assert board.dtype == np.int8 and board.shape == (5, 5)
    assert board[c3] == 1 and board[d3] == 2 and board[c2] == 1 and board.sum() == 4
    h = s.history()
    assert h.shape == (8, 5, 5) and h.dtype == np.int8
    assert (h[0] == board).all() and (h[1] == board).all()  # the pass repeated the board
    assert h[2].sum() == 3 and h[2][d3] == 2 and h[2][c2] == 0
    assert h[3].sum() == 1 and h[3][c3] == 1
    assert not h[4:].any()
    assert s.history_colours().tolist() == [1, 0, 1, 0, -1, -1, -1, -1]
    assert s.history(2).shape == (2, 5, 5) and s.history(0).shape == (0, 5, 5)
    p = s.planes(5)
    assert p.shape == (11, 5, 5) and p.dtype == np.float32
    # black to move: black's stones first, t moves ago
    assert p[0][c3] == p[0][c2] == 1 and p[0].sum() == 2 and p[1][d3] == 1 and p[1].sum() == 1
    assert p[4].sum() == 1 and p[5].sum() == 1  # after D3
    assert p[6].sum() == 1 and p[6][c3] == 1 and p[7].sum() == 0  # after C3
    assert not p[8:10].any()  # before the game
    assert p[10].all()  # black to move
    s.play(0)
    assert not s.planes(1)[2].any() and s.planes(1)[1][0, 0] == 1  # white to move
    s = s.copy()
    obs = s.observation(0)
    assert obs.shape == (5, 5, 17) and obs.dtype == np.bool_
    # go_v5 stacks [mover's stones, the other's] per move, newest first: the
    # newest move (A5) was black's, the one before (pass) white's.
    assert obs[0, 0, 0] and obs[c3 + (0,)] and obs[d3 + (1,)] and obs[..., 0].sum() == 3
    assert obs[d3 + (2,)] and obs[c3 + (3,)] and obs[..., 2].sum() == 1
    assert not obs[..., 10:16].any()
    assert not obs[..., 16].any() and s.observation(1)[..., 16].all()
    assert (obs[..., :16] == s.observation(1)[..., :16]).all()


def test_render_text_marks_the_last_move():
    s = GoState(9)
    s.play(s.parse_action("E5"))
    s.play(s.parse_action("C3"))
    text = s.render_text()
    assert "(○)" in text and "●" in text and s.symbols() == ("●", "○")
    lines = text.splitlines()
    assert lines[0].split() == list("ABCDEFGHJ") and lines[-2] == lines[0]
    assert lines[1].startswith(" 9") and lines[1].endswith("9")
    assert "Black" in lines[-1] and "move 2" in lines[-1]
    assert "(●)" in s.render_text(last_action=s.parse_action("E5"))


# ---------------------------------------------------------------------------
# symmetries


def test_symmetries_are_eight_distinct_with_inverses():
    n = 5
    grid = np.arange(n * n).reshape(n, n)
    images = {symmetry.transform_planes(grid, k).tobytes() for k in range(8)}
    assert len(images) == 8
    assert (symmetry.transform_planes(grid, 0) == grid).all()
    batch = np.random.default_rng(0).random((3, 2, n, n))
    for k in range(8):
        back = symmetry.transform_planes(symmetry.transform_planes(batch, k), symmetry.inverse(k))
        assert (back == batch).all()
        for a in range(n * n):
            b = symmetry.transform_action(a, n, k)
            assert symmetry.transform_action(b, n, symmetry.inverse(k)) == a
        assert symmetry.transform_action(n * n, n, k) == n * n


def test_policy_follows_the_planes():
    n = 7
    rng = np.random.default_rng(1)
    policy = rng.random(n * n + 1)
    for k in range(8):
        planes = policy[: n * n].reshape(n, n)
        moved = symmetry.transform_planes(planes, k)
        new_policy = symmetry.transform_policy(policy, n, k)
        assert (new_policy[: n * n].reshape(n, n) == moved).all()
        assert new_policy[-1] == policy[-1]
        for a in range(n * n):
            assert new_policy[symmetry.transform_action(a, n, k)] == policy[a]
    # a Go position and its move map consistently: the stone lands where the action says
    s = GoState(n)
    s.play(3)
    for k in range(8):
        board = symmetry.transform_planes(s.board(), k)
        assert board.ravel()[symmetry.transform_action(3, n, k)] == 1


# ---------------------------------------------------------------------------
# randomized differential test against PettingZoo go_v5 / go_base

DIFFERENTIAL = [(5, 80, 11), (9, 50, 12), (13, 20, 13)]  # (size, games, seed): 150 games


def test_matches_pettingzoo_go_v5_move_for_move():
    procs = [
        subprocess.Popen([sys.executable, __file__, str(n), str(games), str(seed)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        for n, games, seed in DIFFERENTIAL
    ]
    failures = []
    for (n, _, _), proc in zip(DIFFERENTIAL, procs):
        out, _ = proc.communicate(timeout=300)
        if proc.returncode != 0:
            failures.append(f"size {n}:\n{out}")
    assert not failures, "\n".join(failures)


def _differential(n: int, games: int, seed: int) -> None:
    """Plays `games` random games on both engines; exits 1 on the first difference."""
    import warnings

    warnings.filterwarnings("ignore")
    from pettingzoo.classic import go_v5
    from pettingzoo.classic.go import coords

    def fail(game: int, step: int, what: str, ours, theirs) -> None:
        print(f"size {n} game {game} step {step}: {what} differs\n"
              f" arena: {ours!r}\n go_v5: {theirs!r}")
        sys.exit(1)

    rng = random.Random(seed)
    env = go_v5.env(board_size=n, komi=7.5)
    agents = ["black_0", "white_0"]
    kos = captures = plies = 0
    for game in range(games):
        env.reset()
        raw = env.unwrapped
        state = GoState(n, 7.5, max_moves=0)
        # Vary how often pass is picked: None is uniform over the legal moves
        # (pass included); small odds give long games full of captures and
        # kos, larger ones early two-pass endings. Games without a natural end
        # stop at `limit` plies (go_v5 has no cap; the score is still compared).
        pass_odds = rng.choice([None, 0.0, 0.0, 0.01, 0.05])
        limit = 4 * n * n
        step = 0
        while True:
            pos = raw._go
            ours_board = state.board()
            theirs_board = np.where(pos.board == 1, 1, np.where(pos.board == -1, 2, 0))
            if not (ours_board == theirs_board).all():
                fail(game, step, "board", ours_board.tolist(), theirs_board.tolist())
            theirs_ko = None if pos.ko is None else coords.to_flat(pos.ko)
            if state.ko != theirs_ko:
                fail(game, step, "ko", state.ko, theirs_ko)
            kos += state.ko is not None
            if state.captures != tuple(pos.caps):
                fail(game, step, "captures", state.captures, pos.caps)
            for player, agent in enumerate(agents):
                theirs_obs = env.observe(agent)["observation"]
                ours_obs = state.observation(player)
                if ours_obs.dtype != theirs_obs.dtype or not (ours_obs == theirs_obs).all():
                    fail(game, step, f"observation({agent})",
                         np.argwhere(ours_obs != theirs_obs)[:5], theirs_obs.dtype)
            over = pos.is_game_over()
            if state.is_terminal() != over:
                fail(game, step, "is_terminal", state.is_terminal(), over)
            if over or step >= limit:
                if state.score() != pos.score():
                    fail(game, step, "score", state.score(), pos.score())
                break
            theirs_mask = pos.all_legal_moves()
            ours_mask = state.legal_mask()
            if not (ours_mask == theirs_mask).all():
                fail(game, step, "legal mask", np.flatnonzero(ours_mask != theirs_mask), "")
            if not (env.observe(env.agent_selection)["action_mask"] == ours_mask).all():
                fail(game, step, "env action_mask", ours_mask, "")
            legal = state.legal_actions()
            if legal != np.flatnonzero(theirs_mask).tolist():
                fail(game, step, "legal_actions", legal, np.flatnonzero(theirs_mask).tolist())
            if state.to_play != (0 if pos.to_play == 1 else 1):
                fail(game, step, "to_play", state.to_play, pos.to_play)
            if pass_odds is None:
                action = rng.choice(legal)
            elif rng.random() < pass_odds or len(legal) == 1:
                action = state.pass_action
            else:
                action = rng.choice(legal[:-1])  # a stone
            before = state.captures
            env.step(action)
            state.play(action)
            captures += state.captures != before
            problem = state._check()
            if problem is not None:
                fail(game, step, "internal consistency", problem, None)
            step += 1
        plies += step
    if kos == 0 or captures == 0:
        print(f"size {n}: the random games never exercised ko ({kos}) or captures ({captures})")
        sys.exit(1)
    print(f"size {n}: {games} games, {plies} plies agree "
          f"({kos} ko positions, {captures} capturing moves)")


if __name__ == "__main__":
    _differential(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
