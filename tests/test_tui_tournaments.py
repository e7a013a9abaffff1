"""The Tournaments screen, driven by Textual's Pilot against a real tournament.

A small tic-tac-toe round robin is started from the screen itself (the real
`arena tournament run SPEC` in a subprocess, on the test's own store); the
screen must show it growing, end on exactly what `arena tournament show
--json` prints, and replay its games move by move.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from conftest import run_arena
from tournament_support import spec_folder, wait_for

from arena.config import load_settings
from tournaments.store import Store
from arena.tui.app import ArenaApp
from arena.tui.screens.home import HomeScreen
from arena.tui.screens.tournaments import ReplayScreen, TournamentsScreen
from arena.tui.widgets.standings import standings_rows
from games.registry import resolve_game

SIZE = (120, 40)
NAME = "tui-ttt"


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    """A folder holding one spec: tic-tac-toe, three agents (mcts slow enough, ~0.2 s a game, to be seen playing), 4 games a pairing, one at a time."""
    return spec_folder(tmp_path, name=NAME, game="tictactoe",
                       participants=["random", "greedy",
                                     {"name": "mcts", "agent": "mcts:sims=4000"}],
                       games_per_pairing=4, concurrency=1, seed=0)


def make_app(tmp_path: Path) -> ArenaApp:
    return ArenaApp(load_settings(), runs_dir=tmp_path / "runs", models_dir=tmp_path / "none")


def final_position(match_id: int):
    """The stored game's final position, replayed here independently of the app."""
    store = Store(load_settings().store_path)
    try:
        match = store.get_match(match_id)
    finally:
        store.close()
    state = resolve_game(match.game).new_state()
    for _, action, _, _ in match.moves:
        state.play(int(action))
    return match, state


async def check_replay(pilot, app: ArenaApp) -> None:
    """The replay on screen steps by keys and buttons and ends on the stored final position."""
    replay = app.screen
    assert isinstance(replay, ReplayScreen)
    match, final = final_position(replay.match.id)
    assert replay.ply == 0
    assert replay.board.state.render_text() == resolve_game(match.game).new_state().render_text()
    await pilot.press("end")
    assert replay.ply == len(match.moves)
    assert replay.board.state.render_text() == final.render_text()
    assert replay.board.last_action == int(match.moves[-1][1])
    await pilot.press("home", "right", "n")
    assert replay.ply == 2
    await pilot.click("#replay-next")
    assert replay.ply == 3
    await pilot.press("p", "left")
    assert replay.ply == 1
    await pilot.click("#replay-last")
    assert replay.ply == len(match.moves)
    await pilot.click("#replay-first")
    assert replay.ply == 0
    await pilot.press("escape")


def test_tournaments_screen_follows_a_running_tournament_and_replays_its_games(config, tmp_path,
                                                                                spec_dir):
    async def scenario():
        app = make_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("o")  # Home's key for the screen
            assert isinstance(app.screen, TournamentsScreen)
            await pilot.press("escape")
            assert isinstance(app.screen, HomeScreen)
            screen = TournamentsScreen(spec_dir=spec_dir, poll_s=0.1)
            await app.push_screen(screen)
            await pilot.click("#t-specs", offset=(3, 1))  # the spec: starts the runner
            await wait_for(pilot, lambda: screen.followed == NAME)
            process = screen.processes[NAME]
            seen: list[tuple[int, bool]] = []
            while process.poll() is None:
                await pilot.pause(0.05)
                if screen.snapshot is not None:
                    seen.append((screen.snapshot.done, screen.running()))
            assert process.returncode == 0
            done_while_running = {done for done, running in seen if running}
            assert len(done_while_running) >= 2, seen  # progress grew while we watched
            assert min(done_while_running) < 12
            await pilot.press("f5")
            assert screen.snapshot.done == screen.snapshot.total == 12
            assert screen.snapshot.finished
            progress = screen.query_one("#t-progress")
            assert progress.progress == progress.total == 12
            shown = run_arena("tournament", "show", NAME, "--json")
            assert shown.returncode == 0, shown.stderr
            expected = json.loads(shown.stdout)
            assert json.loads(json.dumps(screen.snapshot.standings)) == expected
            table = screen.query_one("#standings")
            assert [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)] \
                == standings_rows(expected)
            assert "FINISHED" in str(screen.query_one("#t-title").render())

            games = screen.query_one("#t-games")
            assert games.row_count == 12
            games.focus()
            await pilot.press("down", "enter")  # the second newest game, by keyboard
            await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
            assert app.screen.match.id == int(games.get_row_at(1)[0])
            await check_replay(pilot, app)
            assert app.screen is screen
            await pilot.click("#t-games", offset=(2, 3))  # the third row, by mouse
            await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
            assert app.screen.match.id == int(games.get_row_at(2)[0])
            await check_replay(pilot, app)
            await pilot.press("escape")
            assert isinstance(app.screen, HomeScreen)

    asyncio.run(scenario())


def test_snapshot_tournaments_finished(config, tmp_path, spec_dir, snap_compare):
    from tournaments.runner import run_tournament
    from tournaments.spec import load_spec

    run_tournament(load_spec(spec_dir / f"{NAME}.yaml"), load_settings(), concurrency=1)

    async def run_before(pilot) -> None:
        await pilot.app.push_screen(TournamentsScreen(NAME, spec_dir=spec_dir))
        await pilot.pause()

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=run_before)
