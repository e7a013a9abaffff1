"""Go's live score: ownership from compiled playouts, the estimate from it, and where it shows.

The rules' result of a finished game stays Tromp-Taylor; while a game is on,
the terminal app and the window show an estimate with dead stones judged,
labelled as one ("score est. B+3.5").
"""

from __future__ import annotations

import asyncio
import os
import time

os.environ["SDL_VIDEODRIVER"] = "dummy"  # before pygame is imported anywhere
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import numpy as np
import pygame
import pytest

from arena.config import load_settings
from arena.tui.app import ArenaApp, StartRequest
from arena.window import theme
from arena.window.view import WindowView
from games.go.state import GoState
from games.registry import resolve_game


def dead_stone_position() -> GoState:
    """9x9: white walls off columns A-D, black columns E-J, each side with stones inside
    for eyes; a lone black stone at B5 sits dead in white's side.

    Tromp-Taylor counts the dead stone as alive and white's side as no one's
    (it touches the stone): B+26.5. Judged, it is 45 points to 36: B+1.5.
    """
    black = [f"E{r}" for r in range(1, 10)] + ["G3", "G7", "H5", "B5"]
    white = [f"D{r}" for r in range(1, 10)] + ["C5", "B3", "B7"]
    state = GoState(9, 7.5)
    for label in black:
        state.play_as(state.parse_action(label), 0)
    for label in white:
        state.play_as(state.parse_action(label), 1)
    return state  # black to move


def test_a_dead_stone_in_the_opponents_territory_goes_to_the_opponent():
    state = dead_stone_position()
    assert state.score() == 26.5  # the rules' count, dead stone alive
    own = state.ownership(count=200, seed=1)
    assert own.shape == (9, 9) and own.dtype == np.float32
    assert np.all(own >= -1) and np.all(own <= 1)
    b5 = divmod(state.parse_action("B5"), 9)
    assert own[b5] < -0.9  # white's, nearly always
    assert np.all(own[:, :4] < -0.9)  # white's side and wall are white's
    assert np.all(own[:, 4:] > 0.8)  # black's wall and side are black's
    estimate = state.score_estimate(count=200, seed=1)
    assert abs(estimate - 1.5) < 2.0, estimate
    assert state.score_label() == "score est. B+1.5"
    # The position is unchanged by the playouts.
    assert state.colour_at(state.parse_action("B5")) == 1 and state.moves_played == 25


def test_one_stone_on_an_empty_board_is_not_black_by_73_and_a_half():
    state = GoState.from_moves(9, 7.5, ["E5"])
    assert state.score() == 73.5  # Tromp-Taylor: the whole board is black's
    estimate = state.score_estimate()
    assert abs(estimate) < 15, estimate
    label = state.score_label()
    assert label.startswith("score est. ") and "73.5" not in label


def test_the_estimate_is_repeatable_and_fast():
    state = GoState.from_moves(9, 7.5, ["E5", "C3", "G7"])
    assert np.array_equal(state.ownership(), state.ownership())  # seeded by the position
    assert not np.array_equal(state.ownership(seed=1), state.ownership(seed=2))
    state.ownership()
    t0 = time.perf_counter()
    for _ in range(5):
        state.ownership()
    assert (time.perf_counter() - t0) / 5 < 0.05  # about 3 ms on a quiet core
    with pytest.raises(ValueError, match="count"):
        state.ownership(count=0)


def test_a_finished_game_keeps_the_rules_result():
    state = dead_stone_position()
    state.play(state.pass_action)
    state.play(state.pass_action)
    assert state.is_terminal()
    assert state.score_estimate() == state.score() == 26.5
    assert state.score_label() == "score B+26.5"
    own = state.ownership()
    assert own[divmod(state.parse_action("B5"), 9)] == 1.0  # the board as it stands
    assert own[divmod(state.parse_action("A1"), 9)] == 0.0  # reaches both colours


# -- where it shows -----------------------------------------------------------------------------


def test_the_terminal_app_shows_the_labelled_estimate(config, tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    request = StartRequest("play", "go9", ["random"], person_first=True, seed=3)
    app = ArenaApp(load_settings(), start=request, runs_dir=runs, models_dir=runs / "none")

    async def scenario() -> str:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen

            async def until(condition) -> None:
                deadline = time.monotonic() + 30
                while not condition():
                    assert time.monotonic() < deadline, "timed out waiting for the app"
                    await pilot.pause(0.02)

            await until(lambda: screen.awaiting is not None)
            box = screen.query_one("#move")
            box.value = "E5"
            await box.action_submit()
            await until(lambda: len(screen.panel.moves) >= 1)
            status = screen.panel.query_one("#status")
            rendered = status.render()
            return getattr(rendered, "plain", str(rendered))

    text = asyncio.run(scenario())
    assert "score est. " in text and "(komi 7.5)" in text, text
    assert "B+73.5" not in text


def test_the_window_shows_the_labelled_estimate():
    pygame.display.init()
    pygame.font.init()
    try:
        game = resolve_game("go9")
        env = game.env()
        env.reset(seed=0)
        env.step(env.unwrapped.state.parse_action("E5"))
        view = WindowView(game, mode="watch", names=["a", "b"], surface=pygame.Surface((1000, 700)))
        view.show(env)
        view.draw()
        assert view.layout.note is not None
        text, rect = view.layout.note
        assert text.startswith("score est. ") and text.endswith("(komi 7.5)"), text
        assert "B+73.5" not in text
        # It is painted: text-coloured pixels inside its rectangle, within the HUD.
        assert view.hud_rect.contains(rect)
        pixels = [tuple(view.surface.get_at((x, y)))[:3]
                  for x in range(rect.left, rect.right) for y in range(rect.top, rect.bottom)]
        assert sum(all(abs(a - b) < 60 for a, b in zip(p, theme.TEXT)) for p in pixels) > 20
    finally:
        pygame.display.quit()
