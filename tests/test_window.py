"""The pygame window (arena.window): drawing, the HUD, and people playing through real events.

Everything runs headless on SDL's dummy video driver: views draw on an
off-screen Surface, and input is posted to pygame's real event queue, so the
code under test reads it exactly as it would read a person's clicks and keys.
"""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"  # before pygame is imported anywhere
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pygame
import pytest

from agents.base import ActionInsight, Insight
from arena.config import load_settings
from games.errors import UserError
from agents.match import MatchEnded, MatchStarted, MovePlayed
from tournaments.store import Store
from arena.window import play, theme, watch
from arena.window.hud import Scene, draw_hud
from arena.window.keymap import atari_keymap, keymap_for
from arena.window.painters import (
    C4_HOLE,
    C4_RED,
    C4_YELLOW,
    TTT_O,
    TTT_PAPER,
    TTT_X,
    BoardSubject,
    Connect4Painter,
    GoPainter,
    Heat,
    TicTacToePainter,
)
from arena.window.view import WindowView
from games.connect4 import Connect4State
from games.go import render as go_render
from games.go.state import GoState
from games.registry import resolve_game
from games.tictactoe import TicTacToeState

SIZE = (1000, 700)

pytestmark = pytest.mark.timeout(120)  # a person's turn that never comes must not hang the suite


@pytest.fixture(autouse=True)
def _pygame() -> Any:
    pygame.display.init()
    pygame.font.init()
    pygame.event.clear()
    yield
    if pygame.display.get_init():
        pygame.event.clear()


def _pixel(surface: Any, pos: tuple[int, int]) -> tuple[int, int, int]:
    return tuple(surface.get_at((int(pos[0]), int(pos[1]))))[:3]


def _near(colour: Sequence[int], target: Sequence[int], tolerance: int) -> bool:
    return all(abs(int(a) - int(b)) <= tolerance for a, b in zip(colour, target))


def _view(game_id: str, mode: str = "play") -> WindowView:
    return WindowView(resolve_game(game_id), mode=mode, surface=pygame.Surface(SIZE))


def _post_click(pos: tuple[int, int]) -> None:
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1))


def _post_key(key: int, up: bool = False) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYUP if up else pygame.KEYDOWN, key=key))


class Script:
    """Plays the person's side: `on_turn(view, ply)` runs each time a person's turn begins.

    It hooks WindowView.await_move (called as the human agent starts waiting),
    so moves replayed after an undo do not count as turns. Events it posts are
    read by the agent's act() from pygame's queue, the path a real click takes.
    As an observer it collects results and, by default, presses Esc after a
    game so that play()/watch() return.
    """

    wants_insight = False

    def __init__(self, view: WindowView, on_turn: Callable[[WindowView, int], None],
                 on_end: Callable[[WindowView], None] | None = None):
        self.view = view
        self.on_end = on_end
        self.results: list[Any] = []
        original = view.await_move

        def await_move(seat: int | None, legal: Any = None) -> None:
            original(seat, legal)
            if seat is not None:
                on_turn(view, view.scene.ply)

        view.await_move = await_move  # type: ignore[method-assign]

    def on_event(self, event: Any) -> None:
        if isinstance(event, MatchEnded):
            self.results.append(event.result)
            if self.on_end is not None:
                self.on_end(self.view)
            else:
                _post_key(pygame.K_ESCAPE)


def _click_action(view: WindowView, action: int) -> None:
    subject = view.painter.subject(view.env)
    _post_click(view.painter.centre(view.board_rect, subject, action))


def _stored(config: Path) -> Store:
    return Store(load_settings().store_path)


# -- drawing ------------------------------------------------------------------------


def test_go_board_pixels_show_stones_and_wood() -> None:
    state = GoState.from_moves(9, 7.5, ["E5", "C3", "G7"])
    painter = GoPainter(9)
    surface = pygame.Surface(SIZE)
    rect = pygame.Rect(0, 0, 700, 700)
    subject = BoardSubject(state, None)
    painter.draw(surface, rect, subject)
    black = painter.centre(rect, subject, state.parse_action("E5"))
    white = painter.centre(rect, subject, state.parse_action("C3"))
    empty = painter.centre(rect, subject, state.parse_action("B8"))
    assert sum(_pixel(surface, black)) < 200  # a black stone is dark
    assert min(_pixel(surface, white)) > 200  # a white stone is light
    wood = _pixel(surface, (empty[0] + 12, empty[1] + 12))  # beside the lines
    assert _near(wood, go_render.WOOD, 20)
    # Off-centre too: the shading keeps stones dark or light over the disc.
    assert sum(_pixel(surface, (black[0] + 15, black[1] + 10))) < 200
    assert min(_pixel(surface, (white[0] - 12, white[1] + 12))) > 170
    # The last move is marked with the red dot.
    painter.draw(surface, rect, BoardSubject(state, state.parse_action("G7")))
    mark = painter.centre(rect, subject, state.parse_action("G7"))
    assert _pixel(surface, mark) == go_render.MARK


def test_go_heat_tints_points_and_ghost_previews_a_stone() -> None:
    state = GoState(9)
    painter = GoPainter(9)
    surface = pygame.Surface(SIZE)
    rect = pygame.Rect(0, 0, 700, 700)
    subject = BoardSubject(state, None)
    hot, cold = state.parse_action("D4"), state.parse_action("F6")
    heat = Heat({hot: 1.0}, {hot: "80"})
    painter.draw(surface, rect, subject, heat=heat, hover=(state.parse_action("C7"), 0))
    x, y = painter.centre(rect, subject, hot)
    tinted = _pixel(surface, (x + 18, y + 18))
    assert tinted[0] > 200 and tinted[2] < 120  # hot orange, not wood
    assert not _near(tinted, go_render.WOOD, 20)
    cx, cy = painter.centre(rect, subject, cold)
    assert _near(_pixel(surface, (cx + 12, cy + 12)), go_render.WOOD, 20)
    ghost = _pixel(surface, painter.centre(rect, subject, state.parse_action("C7")))
    assert sum(ghost) < sum(go_render.WOOD) - 100  # a translucent black stone


def test_connect4_pixels_show_frame_holes_and_discs() -> None:
    state = Connect4State()
    for column in (3, 3, 0):  # red d1, yellow d2, red a1
        state.play(column)
    painter = Connect4Painter()
    surface = pygame.Surface(SIZE)
    rect = pygame.Rect(0, 0, 700, 700)
    painter.draw(surface, rect, BoardSubject(state, 0))
    red = _pixel(surface, painter.hole_centre(rect, 5, 3))
    yellow = _pixel(surface, painter.hole_centre(rect, 4, 3))
    hole = _pixel(surface, painter.hole_centre(rect, 0, 6))
    assert _near(red, C4_RED, 40) and red[0] > 150 > red[1]
    assert _near(yellow, C4_YELLOW, 40) and yellow[2] < 100
    assert _near(hole, C4_HOLE, 10)
    # Between two holes is the blue frame.
    a, b = painter.hole_centre(rect, 0, 5), painter.hole_centre(rect, 0, 6)
    frame = _pixel(surface, ((a[0] + b[0]) // 2, a[1]))
    assert frame[2] > 150 and frame[0] < 90
    # Heat per column: the column's pill takes the heat colour.
    painter.draw(surface, rect, BoardSubject(state, 0), heat=Heat({2: 1.0}, {2: "70"}))
    cx = painter.hole_centre(rect, 0, 2)[0]
    cell, _, top, _ = painter._geometry(rect)
    pill = _pixel(surface, (cx - cell * 0.33, top + cell * 0.3))
    assert pill[0] > 200 and pill[2] < 120


def test_tictactoe_pixels_show_x_o_and_paper() -> None:
    state = TicTacToeState()
    state.play(4)  # X in the centre (b2)
    state.play(0)  # O in a1
    painter = TicTacToePainter()
    surface = pygame.Surface(SIZE)
    rect = pygame.Rect(0, 0, 700, 700)
    painter.draw(surface, rect, BoardSubject(state, None))
    x_centre = painter.cell_rect(rect, 4).center  # the strokes cross here
    o_cell = painter.cell_rect(rect, 0)
    o_ring = (o_cell.centerx + round(o_cell.w * 0.29) - 3, o_cell.centery)
    empty = painter.cell_rect(rect, 8).center
    assert _near(_pixel(surface, x_centre), TTT_X, 30)
    assert _near(_pixel(surface, o_ring), TTT_O, 30)
    assert _pixel(surface, o_cell.center) == TTT_PAPER  # the hole of the O
    assert _pixel(surface, empty) == TTT_PAPER


@pytest.mark.parametrize("painter, actions", [
    (GoPainter(9), range(81)), (GoPainter(19), range(361)),
    (Connect4Painter(), range(7)), (TicTacToePainter(), range(9)),
])
def test_a_click_on_an_actions_centre_means_that_action(painter: Any, actions: range) -> None:
    rect = pygame.Rect(20, 20, 723, 640)
    for action in actions:
        assert painter.action_at(rect, None, painter.centre(rect, None, action)) == action
    assert painter.action_at(rect, None, (rect.right + 200, rect.bottom + 200)) is None


def test_heat_from_each_insight_kind() -> None:
    mcts = Insight("mcts", [ActionInsight(3, "d", 0.6, visits=60),
                            ActionInsight(1, "b", 0.4, visits=20),
                            ActionInsight(0, "a", 0.3, visits=20)])
    heat = Heat.from_insight(mcts)
    assert heat.level[3] == 1.0 and heat.level[1] == heat.level[0] < 0.5
    assert heat.text == {3: "60", 1: "20", 0: "20"}
    probs = Heat.from_insight(Insight("probs", [ActionInsight(0, "0", 0.75),
                                                ActionInsight(1, "1", 0.25)]))
    assert probs.level == {0: 1.0, 1: pytest.approx(1 / 3)} and probs.text[0] == "75"
    q = Heat.from_insight(Insight("q", [ActionInsight(1, "1", 2.0), ActionInsight(0, "0", -1.0)]))
    assert q.level == {1: 1.0, 0: 0.0} and q.text[1] == "2.00"
    assert Heat.from_insight(None) is None and Heat.from_insight(Insight("q")) is None


def test_hud_shows_bars_for_an_insight() -> None:
    surface = pygame.Surface(SIZE)
    scene = Scene("Connect four", names=["mcts", "random"], seat_names=("Red", "Yellow"), to_play=1)
    scene.insight = Insight("mcts", [ActionInsight(3, "4", 0.7, visits=300),
                                     ActionInsight(2, "3", 0.5, visits=150),
                                     ActionInsight(4, "5", 0.4, visits=50)],
                            value=0.7, note="500 simulations")
    scene.insight_by = 0
    rect = pygame.Rect(600, 20, 380, 660)
    layout = draw_hud(surface, rect, scene, Connect4Painter())
    assert [a for a, _ in layout.bars] == [3, 2, 4]
    widths = [bar.w for _, bar in layout.bars]
    assert widths[0] == layout.tracks[0].w and widths[0] > widths[1] > widths[2] > 0
    assert widths[1] == pytest.approx(widths[0] / 2, abs=2)
    for _, bar in layout.bars:
        assert rect.contains(bar)
        assert _pixel(surface, bar.center) == theme.BAR["mcts"]
    assert len(layout.seats) == 2
    # Q-values get their own colour, scaled from the lowest to the highest.
    scene.insight = Insight("q", [ActionInsight(1, "1", 1.5), ActionInsight(0, "0", 0.5)])
    layout = draw_hud(surface, rect, scene, Connect4Painter())
    assert _pixel(surface, layout.bars[0][1].center) == theme.BAR["q"]
    assert layout.bars[0][1].w > layout.bars[1][1].w


def _drawn_texts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Every text the HUD draws from now on, with its rectangle."""
    from arena.window import hud

    drawn: list[tuple[str, Any]] = []
    blit = hud._blit

    def spy(surface: Any, text: str, *args: Any, **kwargs: Any) -> Any:
        rect = blit(surface, text, *args, **kwargs)
        drawn.append((text, rect))
        return rect

    monkeypatch.setattr(hud, "_blit", spy)
    return drawn


CONNECT4_MODEL = Path(__file__).resolve().parent.parent / "assets" / "models" / "connect4"


def _searched(moves: Sequence[int]) -> Insight:
    """The shipped AlphaZero model's insight after searching the position after `moves`."""
    from gymnasium import spaces

    from agents.base import MatchContext
    from agents.registry import make_agent

    agent = make_agent(f"alphazero:{CONNECT4_MODEL},sims=100,device=cpu")
    player = len(moves) % 2
    agent.start(MatchContext(game=resolve_game("connect4"), seat=f"player_{player}",
                             player=player, seed=0, action_space=spaces.Discrete(7)))
    for i, move in enumerate(moves):
        agent.observe(i % 2, move)
    state = Connect4State()
    for move in moves:
        state.play(move)
    agent.act(None, state.legal_mask())
    insight = agent.explain()
    assert insight is not None
    return insight


@pytest.mark.skipif(not (CONNECT4_MODEL / "meta.json").is_file(), reason="no shipped model")
@pytest.mark.parametrize("moves, mover, winning", [
    ((0, 0, 1, 1, 2, 2), 0, True),  # Red to move wins in column d
    ((1, 1, 2, 2, 3), 1, False),  # Yellow to move cannot stop b1-c1-d1 at both ends
])
def test_hud_shows_a_real_searchs_win_rate_for_the_side_it_is_for(
        monkeypatch: pytest.MonkeyPatch, moves: tuple[int, ...], mover: int,
        winning: bool) -> None:
    insight = _searched(moves)
    top = insight.actions[0]
    # The root's win rate and its moves' are the mover's, on one scale.
    assert 0.0 <= insight.value <= 1.0 and abs(insight.value - top.score) < 0.15
    assert (insight.value > 0.8) if winning else (insight.value < 0.2)
    drawn = _drawn_texts(monkeypatch)
    scene = Scene("Connect four", names=["alphazero", "random"], seat_names=("Red", "Yellow"),
                  to_play=1 - mover)
    scene.insight, scene.insight_by, scene.insight_ply = insight, mover, len(moves)
    draw_hud(pygame.Surface(SIZE), pygame.Rect(600, 20, 380, 660), scene, Connect4Painter())
    texts = [text for text, _ in drawn]
    seat = ("Red", "Yellow")[mover]
    heading = texts.index(f"{scene.names[mover]}: search")
    details = " · ".join(texts[heading + 1: texts.index("move", heading)])  # one or two lines
    assert details == (f"move {len(moves) + 1} · 100 visits at the root · "
                       f"win rate for {seat} {insight.value:.0%}")
    assert f"{top.score:.0%}" in texts  # the best move's own win rate, in its row


def test_hud_marks_an_agents_previous_analysis_while_it_thinks_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = _drawn_texts(monkeypatch)
    scene = Scene("Go", mode="play", names=["mcts", "human"], humans={1},
                  seat_names=("Black", "White"), to_play=0)
    scene.insight = Insight("mcts", [ActionInsight(12, "C3", 0.6, visits=80)], value=0.58,
                            note="80 simulations")
    scene.insight_by, scene.insight_ply = 0, 4
    draw_hud(pygame.Surface(SIZE), pygame.Rect(600, 20, 380, 660), scene, GoPainter(5))
    texts = [t for t, _ in drawn]
    heading = texts.index("mcts: search")
    details = " · ".join(texts[heading + 1: texts.index("move", heading)])
    assert details == "move 5 (earlier) · 80 simulations · win rate for Black 58%"
    # Once the person is to move, the same analysis is the latest one again.
    drawn.clear()
    scene.to_play = 1
    draw_hud(pygame.Surface(SIZE), pygame.Rect(600, 20, 380, 660), scene, GoPainter(5))
    assert not any("earlier" in t for t, _ in drawn)


def test_long_result_and_resign_lines_wrap_inside_the_panel(
        monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = _drawn_texts(monkeypatch)
    names = ["alphazero:assets/models/connect4,sims=400", "human"]
    scene = Scene("Connect four", mode="play", names=names, humans={1},
                  seat_names=("Red", "Yellow"))
    scene.result = (f"{names[0]} (Red) resigns: value -0.97 is below -0.95; "
                    f"{names[1]} (Yellow) wins")
    scene.status = "Press R again to resign"
    scene.hint = "Click to move · U undo · R R resign · H heat map · Esc quit"
    rect = pygame.Rect(620, 24, 330, 650)
    draw_hud(pygame.Surface(SIZE), rect, scene, Connect4Painter())
    assert drawn and all(rect.contains(box) for _, box in drawn), \
        [text for text, box in drawn if not rect.contains(box)]
    shown = "".join(text for text, _ in drawn)
    assert "resigns: value -0.97" in shown and "(Yellow) wins" in shown  # wrapped, not cut


def test_a_pass_says_who_passed(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agents.match import Move
    from arena.window.session import WindowObserver

    view = _view("go5", mode="watch")
    game = resolve_game("go5")
    env = game.env()
    env.reset(seed=0)
    observer = WindowObserver(view, move_delay=0.0)
    observer.on_event(MatchStarted("g", game, ["mcts", "random"], 0, env))
    env.step(12)
    observer.on_event(MovePlayed("g", Move(0, 0, 12, "C3", 0.25), None, env))
    assert view.scene.last == "Move 1: mcts played C3 (0.25 s)"
    env.step(25)
    observer.on_event(MovePlayed("g", Move(1, 1, 25, "pass", 0.01), None, env))
    assert view.scene.last == "Move 2: White passes (random, 0.01 s)"
    drawn = _drawn_texts(monkeypatch)
    view.draw()
    assert "Move 2: White passes (random, 0.01 s)" in [t for t, _ in drawn]
    env.close()


def test_keymaps_for_cartpole_and_atari() -> None:
    import gymnasium as gym

    cartpole = keymap_for(gym.make("CartPole-v1"))
    assert cartpole.action({"left"}) == 0 and cartpole.action({"right"}) == 1
    assert [cartpole.action(set(), t) for t in range(4)] == [0, 1, 0, 1]  # no push on average
    pong = atari_keymap(["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"],
                        vertical_paddle=True)
    assert pong.action({"up"}) == 2 and pong.action({"down"}) == 3
    assert pong.action({"up", "space"}) == 4 and pong.action(set()) == 0
    full = ["NOOP", "FIRE", "UP", "RIGHT", "LEFT", "DOWN", "UPRIGHT", "UPLEFT", "DOWNRIGHT",
            "DOWNLEFT", "UPFIRE", "RIGHTFIRE", "LEFTFIRE", "DOWNFIRE", "UPRIGHTFIRE",
            "UPLEFTFIRE", "DOWNRIGHTFIRE", "DOWNLEFTFIRE"]
    keys = atari_keymap(full)
    assert full[keys.action({"up", "left", "space"})] == "UPLEFTFIRE"
    assert full[keys.action({"down", "right"})] == "DOWNRIGHT"
    breakout = atari_keymap(["NOOP", "FIRE", "RIGHT", "LEFT"])
    assert breakout.action({"up", "right", "space"}) == 2  # no UPRIGHTFIRE: the nearest there is
    assert breakout.action({"space"}) == 1


# -- people playing -------------------------------------------------------------------------


def test_a_full_tictactoe_game_by_clicks_is_stored(config: Path) -> None:
    view = _view("tictactoe")
    clicked: list[int] = []

    def on_turn(view: WindowView, ply: int) -> None:
        state = view.env.unwrapped.state
        action = next(a for a in (4, 0, 8, 2, 6, 1, 3, 5, 7) if state.cell_owner(a) is None)
        clicked.append(action)
        _click_action(view, action)

    script = Script(view, on_turn)
    assert play("tictactoe", "random", human_first=True, seed=3, view=view, speed=100,
                observers=[script]) == 0
    result = script.results[0]
    assert result.status == "finished" and result.agents == ["human", "random"]
    assert [m.action for m in result.moves if m.player == 0] == clicked
    store = _stored(config)
    match = store.get_match(store.match_ids()[0])
    assert match.status == "finished" and match.agents == ["human", "random"]
    assert [a for p, a, _, _ in match.moves if p == 0] == clicked
    assert match.plies >= 5 and match.outcomes[0] in ("win", "draw", "loss")


def test_clicks_off_the_board_or_on_a_taken_cell_are_ignored(config: Path) -> None:
    view = _view("tictactoe")

    def on_turn(view: WindowView, ply: int) -> None:
        if ply == 0:
            _post_click((2, 2))  # off the board
            _click_action(view, 4)
        elif ply == 2:
            state = view.env.unwrapped.state
            _click_action(view, 4)  # taken by the human's first move
            _click_action(view, next(a for a in range(9) if state.cell_owner(a) is None))
        else:
            pygame.event.post(pygame.event.Event(pygame.QUIT))

    script = Script(view, on_turn)
    assert play("tictactoe", "random", seed=1, view=view, speed=100, observers=[script]) == 0
    moves = script.results[0].moves
    assert moves[0].action == 4 and moves[2].action != 4 and len(moves) == 4


def test_closing_the_window_mid_game_stores_it_as_abandoned(config: Path) -> None:
    view = _view("tictactoe")

    def on_turn(view: WindowView, ply: int) -> None:
        if ply == 0:
            _click_action(view, 4)
        else:
            pygame.event.post(pygame.event.Event(pygame.QUIT))

    script = Script(view, on_turn, on_end=lambda view: None)
    assert play("tictactoe", "random", seed=0, view=view, speed=100, observers=[script]) == 0
    store = _stored(config)
    match = store.get_match(store.match_ids()[0])
    assert match.status == "abandoned" and match.plies == 2
    assert match.outcomes == ["abandoned", "abandoned"]
    assert store.count() == 1


def test_go_keys_pass_then_resign(config: Path) -> None:
    view = _view("go5")

    def on_turn(view: WindowView, ply: int) -> None:
        state = view.env.unwrapped.state
        if ply == 1:  # the human plays white here
            _click_action(view, next(a for a in (12, 6, 18, 0) if state.is_legal(a)))
        elif ply == 3:
            _post_key(pygame.K_p)
        else:
            _post_key(pygame.K_r)
            _post_key(pygame.K_r)

    script = Script(view, on_turn)
    assert play("go5", "random", human_first=False, seed=2, view=view, speed=100,
                observers=[script]) == 0
    result = script.results[0]
    assert [m.label for m in result.moves[:4:2]] != ["pass", "pass"]  # random played on
    assert [m.label for m in result.moves if m.player == 1][1] == "pass"
    assert result.end == "resignation" and result.resign_player == 1
    assert result.forfeit_player is None
    assert result.winner == 0
    store = _stored(config)
    stored = store.get_match(store.match_ids()[0])
    assert stored.end == "resignation" and stored.resign_player == 1
    assert stored.forfeit_player is None
    assert (load_settings().data_dir / "sgf").is_dir()  # Go games also get an SGF file


def test_undo_takes_back_the_last_move_and_only_the_final_game_is_stored(config: Path) -> None:
    view = _view("tictactoe")
    turns: list[int] = []

    def first_empty(view: WindowView, order: Sequence[int]) -> int:
        state = view.env.unwrapped.state
        return next(a for a in order if state.cell_owner(a) is None)

    def on_turn(view: WindowView, ply: int) -> None:
        turns.append(ply)
        if len(turns) == 1:
            _click_action(view, 0)  # a1
        elif len(turns) == 2:
            _click_action(view, first_empty(view, (8, 6, 2, 4)))
        elif len(turns) == 3:
            _post_key(pygame.K_u)  # take the second move (and the reply) back
        elif len(turns) == 4:
            _click_action(view, first_empty(view, (5, 7, 3, 1)))  # something else instead
        else:
            pygame.event.post(pygame.event.Event(pygame.QUIT))

    script = Script(view, on_turn, on_end=lambda view: None)
    assert play("tictactoe", "random", seed=5, view=view, speed=100, observers=[script]) == 0
    assert turns[:5] == [0, 2, 4, 2, 4]
    store = _stored(config)
    assert store.count() == 1  # the game before the undo is not stored
    match = store.get_match(store.match_ids()[0])
    assert match.status == "abandoned" and match.plies == 4
    assert match.moves[0][1] == 0 and match.moves[2][1] in (5, 7, 3, 1)


def test_undo_keeps_the_agents_insight_and_think_times(config: Path) -> None:
    view = _view("tictactoe")
    turns: list[int] = []
    shown: list[Any] = []  # (insight, last line) on show at each of the person's turns
    times: list[list[float]] = [[]]  # think times per game played, as the observers hear them

    def on_turn(view: WindowView, ply: int) -> None:
        turns.append(ply)
        shown.append((view.scene.insight, view.scene.last))
        state = view.env.unwrapped.state
        if len(turns) == 1:
            _click_action(view, 0)  # a1
        elif len(turns) == 2:
            _click_action(view, next(a for a in (8, 6, 2, 4) if state.cell_owner(a) is None))
        elif len(turns) == 3:
            _post_key(pygame.K_u)  # back to ply 2: the replay is a1 and the agent's reply
        else:
            pygame.event.post(pygame.event.Event(pygame.QUIT))

    class Times(Script):
        def on_event(self, event: Any) -> None:
            if isinstance(event, MatchStarted) and times[-1]:
                times.append([])
            elif isinstance(event, MovePlayed):
                times[-1].append(event.move.think_s)

    script = Times(view, on_turn, on_end=lambda view: None)
    assert play("tictactoe", "mcts:sims=3000", seed=5, view=view, speed=100,
                observers=[script]) == 0
    assert turns == [0, 2, 4, 2]
    first, replayed = times
    assert first[1] > 0.01 and replayed == first[:2]  # the reply's time, not a replay's 0
    (insight, last), (insight_after, last_after) = shown[1], shown[3]
    assert insight is not None and insight_after is insight  # the agent's analysis is back
    assert last_after == last and last.endswith(f"({first[1]:.2f} s)")
    store = _stored(config)
    match = store.get_match(store.match_ids()[0])
    assert match.plies == 2 and match.moves[1][3] == pytest.approx(first[1] * 1000.0)


def test_cartpole_arrow_keys_push_the_cart(config: Path) -> None:
    view = _view("cartpole")
    speeds: list[float] = []

    class Keys(Script):
        def on_event(self, event: Any) -> None:
            if isinstance(event, MatchStarted):
                _post_key(pygame.K_LEFT)  # also starts the game
            elif isinstance(event, MovePlayed):
                speeds.append(float(event.env.gym_env.unwrapped.state[1]))
                if event.move.ply == 2:
                    _post_key(pygame.K_LEFT, up=True)
                    _post_key(pygame.K_RIGHT)
            elif isinstance(event, MatchEnded):
                self.results.append(event.result)
                _post_key(pygame.K_ESCAPE)

    keys = Keys(view, lambda view, ply: None)
    assert play("cartpole", None, seed=0, view=view, speed=200, observers=[keys]) == 0
    result = keys.results[0]
    actions = [m.action for m in result.moves]
    assert actions[:3] == [0, 0, 0] and set(actions[3:]) == {1}
    assert speeds[2] < 0 < speeds[-1]  # pushed left, then right
    assert result.status == "finished" and result.returns[0] == len(actions)
    store = _stored(config)
    assert store.get_match(store.match_ids()[0]).moves[0][1] == 0


def test_atari_keys_map_to_action_meanings(config: Path) -> None:
    pytest.importorskip("ale_py")
    view = _view("pong")

    class Keys(Script):
        def on_event(self, event: Any) -> None:
            if isinstance(event, MatchStarted):
                _post_key(pygame.K_UP)
            elif isinstance(event, MovePlayed) and event.move.ply == 3:
                _post_key(pygame.K_ESCAPE)
            elif isinstance(event, MatchEnded):
                self.results.append(event.result)

    keys = Keys(view, lambda view, ply: None)
    assert play("pong", "", seed=0, view=view, speed=50, observers=[keys]) == 0
    result = keys.results[0]
    meanings = view.env.gym_env.unwrapped.get_action_meanings()
    assert {meanings[m.action] for m in result.moves} == {"RIGHT"}  # Pong's paddle up
    assert result.status == "abandoned"
    frame = view.painter.subject(view.env)
    assert frame.shape == (210, 160, 3)


# -- watching -----------------------------------------------------------------------------


def test_watch_plays_and_stores_games_with_alternating_colours(config: Path) -> None:
    view = _view("go5", mode="watch")
    insights: list[Any] = []

    class Spy(Script):
        def on_event(self, event: Any) -> None:
            if isinstance(event, MovePlayed) and view.scene.insight is not None:
                insights.append(view.scene.insight.kind)
            if isinstance(event, MatchEnded):
                self.results.append(event.result)
                if len(self.results) == 2:
                    _post_key(pygame.K_ESCAPE)  # close the lingering window

    spy = Spy(view, lambda view, ply: None)
    assert watch("go5", ["mcts:sims=30", "random"], speed=1000, games=2, view=view,
                 observers=[spy]) == 0
    assert [r.agents for r in spy.results] == [["mcts:sims=30", "random"],
                                               ["random", "mcts:sims=30"]]
    assert all(r.status == "finished" for r in spy.results)
    assert "mcts" in insights  # the HUD had MCTS statistics to show
    assert _stored(config).count() == 2
    assert view.layout.seats  # the HUD was drawn


def test_escape_while_watching_abandons_the_game(config: Path) -> None:
    view = _view("connect4", mode="watch")

    class Esc(Script):
        def on_event(self, event: Any) -> None:
            if isinstance(event, MovePlayed) and event.move.ply == 3:
                _post_key(pygame.K_ESCAPE)

    assert watch("connect4", ["greedy", "random"], speed=1000, view=view,
                 observers=[Esc(view, lambda view, ply: None)]) == 0
    store = _stored(config)
    match = store.get_match(store.match_ids()[0])
    assert match.status == "abandoned" and 4 <= match.plies <= 5


def test_bad_input_is_a_user_error_before_any_window(config: Path) -> None:
    with pytest.raises(UserError, match="unknown game"):
        watch("chess", ["random", "random"])
    with pytest.raises(UserError, match="2 player"):
        watch("connect4", ["random"])
    with pytest.raises(UserError, match="unknown agent"):
        play("connect4", "nobody")
    with pytest.raises(UserError, match="one player"):
        play("cartpole", "random")
    with pytest.raises(UserError, match="speed"):
        watch("connect4", ["random", "random"], speed=0)
    with pytest.raises(UserError, match="search state"):
        watch("cartpole", ["mcts"])
    assert not pygame.display.get_surface()  # no window was opened


def test_a_real_window_opens_on_the_dummy_driver_and_closes(
        config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from arena.window import session

    opened: list[tuple[int, int]] = []

    def spy(*args: Any, **kwargs: Any) -> WindowView:
        view = WindowView(*args, **kwargs)
        opened.append(view.surface.get_size())
        return view

    monkeypatch.setattr(session, "WindowView", spy)
    pygame.event.post(pygame.event.Event(pygame.QUIT))  # closed before the first move
    assert play("tictactoe", "random", seed=0) == 0
    assert opened == [(1200, 780)]
    assert not pygame.display.get_init()  # the window was closed
    store = _stored(config)
    match = store.get_match(store.match_ids()[0])
    assert match.status == "abandoned" and match.plies == 0


def test_fonts_survive_pygame_being_quit_and_started_again():
    # gymnasium's envs quit pygame when they close; cached fonts must not die with it.
    import pygame

    from arena.window import theme
    from games.go import render as go_render

    pygame.init()
    theme.font(14)
    go_render._font(14)
    pygame.quit()
    pygame.init()
    assert theme.font(14).render("x", True, (0, 0, 0)).get_width() > 0
    assert go_render._font(14).render("x", True, (0, 0, 0)).get_width() > 0
