"""Screenshots of the window for the docs: ``python -m arena.window.screenshots [OUT_DIR]``.

Runs the real watch() and play() on an off-screen surface (no display
needed), with games stored in a throw-away data dir, and saves
window-watch-go.png, window-watch-cartpole.png, window-play-connect4.png and
window-play-tictactoe.png (default OUT_DIR: docs/screenshots).
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from agents.base import ActionInsight, Agent, Insight


class BalanceAgent(Agent):
    """CartPole: a hand-tuned linear policy with action probabilities (the demo's agent).

    It leans the cart under the pole; explain() gives the probabilities of
    pushing left and right, so the HUD has something to show without a
    trained network.
    """

    name = "balance"

    def act(self, observation: Any, action_mask: Any) -> int:
        x, x_dot, theta, theta_dot = (float(v) for v in observation)
        push_right = 0.05 * x + 0.3 * x_dot + 8.0 * theta + 1.6 * theta_dot
        p_right = 1.0 / (1.0 + math.exp(-6.0 * push_right))
        self._probs = (1.0 - p_right, p_right)
        return int(p_right > 0.5)

    def explain(self) -> Insight | None:
        probs = getattr(self, "_probs", None)
        if probs is None:
            return None
        order = sorted((0, 1), key=lambda a: -probs[a])
        return Insight("probs", [ActionInsight(a, str(a), probs[a]) for a in order],
                       note="linear policy")


def _settings(data_dir: Path) -> Any:
    from arena.config import Settings

    return Settings(data_dir=data_dir, time_per_move=60.0)


def main(out_dir: str = "docs/screenshots") -> int:
    """Write the screenshots into `out_dir`; 0 on success."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import pygame

    from agents.match import MatchEnded, MovePlayed
    from arena.window import play, watch
    from arena.window.view import DEFAULT_SIZE, WindowView, init_pygame
    from games.registry import resolve_game

    init_pygame(window=False)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="arena-shots-"))

    class Shoot:
        """Saves the view after move `ply` (played by `player`), then presses Esc."""

        wants_insight = False

        def __init__(self, view: WindowView, ply: int, path: Path):
            self.view, self.ply, self.path = view, ply, path

        def on_event(self, event: Any) -> None:
            if isinstance(event, MovePlayed) and event.move.ply == self.ply:
                self.view.scene.speed = 1.0  # show the normal speed, not the fast replay's
                self.view.screenshot(str(self.path))
                self.ply = -1
                pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE))
            elif isinstance(event, MatchEnded) and self.ply >= 0:
                # Ended before the shot: one Esc closes the lingering window.
                pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE))

    # Go 9x9: UCT against random, mid-game, just after UCT's move.
    view = WindowView(resolve_game("go9"), surface=pygame.Surface(DEFAULT_SIZE))
    watch("go9", ["mcts:sims=4000", "random"], speed=1000, seed=7, settings=_settings(data),
          view=view, observers=[Shoot(view, 22, out / "window-watch-go.png")])

    # CartPole: the demo policy balancing, with its probabilities.
    view = WindowView(resolve_game("cartpole"), surface=pygame.Surface(DEFAULT_SIZE))
    watch("cartpole", [f"{Path(__file__).resolve()}:BalanceAgent"], speed=1000, seed=3,
          settings=_settings(data), view=view,
          observers=[Shoot(view, 140, out / "window-watch-cartpole.png")])

    # Connect four and tic-tac-toe: a person's turn against UCT, the mouse over the board.
    def play_shot(game_id: str, opening: tuple[int, ...], shot_turn: int, path: Path,
                  show_heat: bool) -> None:
        view = WindowView(resolve_game(game_id), mode="play", surface=pygame.Surface(DEFAULT_SIZE))
        turns = [0]
        original = view.await_move

        def await_move(seat: int | None, legal: Any = None) -> None:
            original(seat, legal)
            if seat is None:
                return
            turns[0] += 1
            state = view.env.unwrapped.state
            subject = view.painter.subject(view.env)
            legal_now = [a for a in opening if state.legal_mask()[a]]
            if turns[0] < shot_turn:
                # Build a position, the way a person might open.
                wanted = opening[turns[0] - 1]
                choice = wanted if wanted in legal_now else legal_now[0]
                centre = view.painter.centre(view.board_rect, subject, choice)
                pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=centre, button=1))
                return
            view.scene.show_heat = show_heat  # as if the person had pressed H
            view.mouse = view.painter.centre(view.board_rect, subject, legal_now[-1])
            view._update_hover()
            view.screenshot(str(path))
            pygame.event.post(pygame.event.Event(pygame.QUIT))

        view.await_move = await_move  # type: ignore[method-assign]
        play(game_id, "mcts:sims=3000", human_first=True, seed=11, settings=_settings(data),
             view=view, speed=1000)

    play_shot("connect4", (3, 2, 4, 3, 1, 5, 0, 6), 5, out / "window-play-connect4.png", False)
    play_shot("tictactoe", (0, 2, 6, 8, 1, 3, 5, 7), 2, out / "window-play-tictactoe.png", True)
    for name in ("window-watch-go.png", "window-watch-cartpole.png", "window-play-connect4.png",
                 "window-play-tictactoe.png"):
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
