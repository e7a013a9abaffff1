"""Regenerate the PNG screenshots of the terminal app in this folder.

    .venv/bin/python docs/screenshots/make_screenshots.py [--run RUN_DIR]

Runs the real app headless at 120x40 (Textual's Pilot), drives it to the
position shown, saves Textual's SVG screenshot and converts it with
`rsvg-convert` (Debian: librsvg2-bin). Games are stored in a temporary data
dir, never in yours. `--run` names a trained CartPole run to watch (the
random agent otherwise). Arena itself never needs any of this.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZE = (120, 40)


async def _until(pilot, condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out driving the app")
        await pilot.pause(0.05)


def _png(app, name: str) -> Path:
    """Save the app's screen as docs/screenshots/<name>.png (through an SVG)."""
    svg = Path(app.save_screenshot(f"{name}.svg", tempfile.gettempdir()))
    # librsvg collapses the leading no-break spaces of Textual's text runs without this.
    text = svg.read_text().replace("<svg ", '<svg xml:space="preserve" ', 1)
    svg.write_text(text)
    out = HERE / f"{name}.png"
    subprocess.run(["rsvg-convert", str(svg), "-o", str(out)], check=True)
    svg.unlink()
    return out


async def watch(name: str, game: str, agents: list[str], moves: int, seed: int = 1) -> None:
    """Watch a game, pause it, step it to `moves` moves played, and take the picture."""
    from arena.tui.app import ArenaApp, StartRequest
    from arena.tui.widgets.match_panel import MatchPanel

    app = ArenaApp(start=StartRequest("watch", game, agents, speed=math.inf, seed=seed))
    async with app.run_test(size=SIZE) as pilot:
        panel = app.screen.query_one(MatchPanel)
        await _until(pilot, lambda: len(panel.moves) >= 1 or panel.result is not None)
        await pilot.press("space")
        await pilot.pause(0.3)
        while len(panel.moves) < moves and panel.result is None:
            count = len(panel.moves)
            await pilot.press("n")
            await _until(pilot, lambda count=count: len(panel.moves) > count or panel.result is not None)
        await pilot.pause(0.3)
        print(_png(app, name))


async def watch_to_end(name: str, game: str, agents: list[str], seed: int = 1) -> None:
    from arena.tui.app import ArenaApp, StartRequest
    from arena.tui.widgets.match_panel import MatchPanel

    app = ArenaApp(start=StartRequest("watch", game, agents, speed=math.inf, seed=seed))
    async with app.run_test(size=SIZE) as pilot:
        panel = app.screen.query_one(MatchPanel)
        await _until(pilot, lambda: panel.result is not None or panel.error is not None)
        await pilot.pause(0.3)
        print(_png(app, name))


async def play_tictactoe(name: str) -> None:
    """Two moves of yours against random, then the picture on your third turn."""
    from arena.tui.app import ArenaApp, StartRequest
    from arena.tui.widgets.board import BoardView

    app = ArenaApp(start=StartRequest("play", "tictactoe", ["random"], seed=5))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        for cell in ("b2", None):
            await _until(pilot, lambda: screen.awaiting is not None)
            played = len(screen.panel.moves)
            if cell is None:  # the first free corner
                cell = next(c for c in ("a1", "c1", "a3", "c3")
                            if screen.awaiting[screen._state().parse_action(c)])
            field = screen.query_one("#move")
            field.value = cell
            await field.action_submit()
            await _until(pilot, lambda played=played: len(screen.panel.moves) > played + 1)
        await _until(pilot, lambda: screen.awaiting is not None)
        screen.query_one(BoardView).focus()
        await pilot.pause(0.3)
        print(_png(app, name))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a trained CartPole run directory to watch")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        os.environ["ARENA_DATA_DIR"] = data
        asyncio.run(watch("watch-connect4", "connect4", ["mcts:sims=1000", "greedy"], moves=13))
        asyncio.run(watch("watch-go9", "go9", ["mcts:sims=300", "random"], moves=41))
        asyncio.run(watch_to_end("watch-go19", "go19", ["random", "random"]))
        asyncio.run(watch("watch-cartpole", "cartpole", [args.run or "random"], moves=60))
        asyncio.run(play_tictactoe("play-tictactoe"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
