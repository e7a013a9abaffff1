"""The terminal app (arena/tui), driven by Textual's Pilot: keys, clicks, and the store behind it.

Every test runs the real app headless at 120x40 against a fresh data dir
(the `config` fixture), and real games: matches are played by the same loop
as `arena match` and checked in the SQLite store afterwards.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tournament_support import plain, wait_for

from arena.config import load_settings
from tournaments.store import Store
from arena.tui.app import ArenaApp, StartRequest
from arena.tui.live_match import Pacer, downscale
from arena.tui.runs import read_run, read_scalars
from arena.tui.screens.agents import AgentsScreen
from arena.tui.screens.home import HomeScreen
from arena.tui.screens.play import PlayScreen
from arena.tui.screens.training import TrainingScreen
from arena.tui.screens.watch import WatchScreen
from arena.tui.widgets.board import BoardView
from arena.tui.widgets.frame import FrameView
from arena.tui.widgets.insight import InsightPanel, bar
from arena.tui.widgets.match_panel import MatchPanel

SIZE = (120, 40)


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    path = tmp_path / "runs"
    path.mkdir()
    return path


def make_app(runs_dir: Path, start: StartRequest | None = None) -> ArenaApp:
    """The app on the test's config (ARENA_CONFIG is set by the `config` fixture)."""
    return ArenaApp(load_settings(), start=start, runs_dir=runs_dir, models_dir=runs_dir / "none")


def stored(match_id: int):
    store = Store(load_settings().store_path)
    try:
        return store.get_match(match_id)
    finally:
        store.close()


def all_stored():
    path = load_settings().store_path
    if not path.exists():
        return []
    store = Store(path)
    try:
        return [store.get_match(i) for i in reversed(store.match_ids())]
    finally:
        store.close()


def write_run(path: Path, *, algo: str = "ppo", game: str = "cartpole", steps: int = 3000,
              total: int = 10000) -> Path:
    """A run directory as arena train leaves it (logs, run.json, checkpoints), without training."""
    path.mkdir(parents=True)
    (path / "run.json").write_text(json.dumps({"algo": algo, "game": game, "seed": 0,
                                               "total_steps": total, "eval_every": 1000}))
    rows = ["step,return,length,seconds"]
    step = 0
    for i in range(60):
        length = 10 + (i * 7) % 40
        step += length
        rows.append(f"{step},{length},{length},{step / 500:.2f}")
    (path / "episodes.csv").write_text("\n".join(rows) + "\n")
    (path / "evals.csv").write_text("step,mean,ci95,seconds\n1000,21.5,3.2,2.00\n2000,48.25,6.1,4.00\n")
    for name, mean in (("last", None), ("best", 48.25)):
        meta = {"algo": algo, "game": game, "steps": steps if name == "last" else 2000}
        if mean is not None:
            meta["eval_mean"] = mean
        (path / name).mkdir()
        (path / name / "meta.json").write_text(json.dumps(meta))
    return path


# -- pure pieces ---------------------------------------------------------------------------


def test_bar_fills_in_eighths():
    assert bar(0.0, 4) == "    "
    assert bar(1.0, 4) == "████"
    assert bar(0.5, 4) == "██  "
    assert bar(1 / 32, 4) == "▏   "


def test_downscale_keeps_the_aspect_and_fits_the_cells():
    import numpy as np

    frame = np.zeros((400, 600, 3), dtype=np.uint8)
    small = downscale(frame, 60, 40)
    assert small.shape == (40, 60, 3)  # 60 columns; 20 rows of half blocks
    tall = downscale(frame, 200, 10)
    assert tall.shape[0] == 20 and tall.shape[1] <= 200


def test_pacer_pauses_steps_and_stops():
    import threading

    pacer = Pacer(0.0, paused=True)
    passed = []
    worker = threading.Thread(target=lambda: (pacer.wait(), passed.append(1)))
    worker.start()
    time.sleep(0.05)
    assert not passed  # paused: nothing goes through
    pacer.step()
    worker.join(2)
    assert passed == [1]
    pacer.stop()
    with pytest.raises(KeyboardInterrupt):
        pacer.wait()
    assert Pacer(1.0, speed=math.inf).delay == 0


@pytest.mark.parametrize("game", ["tictactoe", "connect4", "go5", "go9", "go13", "go19"])
def test_every_cell_of_a_board_is_clicked_where_it_is_drawn(game):
    from rich.style import Style

    from arena.tui.widgets.board import geometry_for
    from games.registry import resolve_game

    state = resolve_game(game).new_state()
    geometry = geometry_for(state)
    assert geometry.width <= 46 and geometry.height <= 36  # fits the board area at 120x40
    lines = geometry.lines(state, None, None, {name: Style() for name in geometry.classes})
    assert len(lines) == geometry.height and {line.cell_len for line in lines} == {geometry.width}
    for action in range(state.num_actions - (1 if game.startswith("go") else 0)):  # not pass
        assert geometry.action_at(*geometry.anchor(action)) == action


# -- Home and navigation ----------------------------------------------------------------------


def test_home_leads_to_every_screen_by_keys_and_clicks(config, runs_dir):
    async def scenario():
        app = make_app(runs_dir)
        async with app.run_test(size=SIZE) as pilot:
            assert isinstance(app.screen, HomeScreen)
            for key, screen in (("w", WatchScreen), ("p", PlayScreen), ("t", TrainingScreen),
                                ("a", AgentsScreen)):
                await pilot.press(key)
                assert isinstance(app.screen, screen)
                await pilot.press("escape")
                assert isinstance(app.screen, HomeScreen)
            await pilot.press("down", "enter")  # the menu: second entry is Play
            assert isinstance(app.screen, PlayScreen)
            await pilot.press("escape")
            await pilot.click("#menu", offset=(4, 3))  # a click on Training (below a border)
            await pilot.pause()
            assert isinstance(app.screen, TrainingScreen)
            await pilot.press("escape")
            await pilot.press("q")
        assert app.return_code == 0

    asyncio.run(scenario())


def test_home_recent_games_fit_at_120x40_and_enter_opens_the_replay(config, runs_dir):
    from textual.widgets import DataTable

    from agents.registry import make_agent
    from agents.match import play_match
    from arena.tui.screens.tournaments import ReplayScreen
    from games.registry import resolve_game

    names = ["alphazero:assets/models/connect4,sims=400", "mcts:sims=2000,c=1.4"]
    store = Store(load_settings().store_path)
    try:
        for seed in range(3):
            store.record(play_match(resolve_game("connect4"), [make_agent("greedy"),
                                                                make_agent("random")],
                                    seed=seed, names=names))
        store.record(play_match(resolve_game("tictactoe"), [make_agent("random")] * 2, seed=1,
                                max_moves=3))
    finally:
        store.close()

    async def scenario():
        app = make_app(runs_dir)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            table = app.screen.query_one("#recent", DataTable)
            assert table.row_count == 4
            # Every column, the result's included, is on screen: nothing to scroll sideways.
            assert table.virtual_size.width <= table.scrollable_content_region.width
            assert not table.show_horizontal_scrollbar
            rows = [table.get_row_at(i) for i in range(table.row_count)]
            assert rows[0][1:] == ["tictactoe", "random vs random", "½-½ cap"]
            games = {m.id: m for m in all_stored()}
            for ident, _, players, result in rows[1:]:
                match = games[int(ident)]
                assert players.startswith("alphazero:") and players.endswith("…")
                assert result == ("1-0", "0-1")[match.winner] if match.winner is not None \
                    else result == "½-½"
            table.focus()
            await pilot.press("down", "enter")  # the second newest game
            assert isinstance(app.screen, ReplayScreen)
            assert app.screen.match.id == int(rows[1][0])
            await pilot.press("end")
            assert "wins" in plain(app.screen.query_one("#replay-status")) or \
                "draw" in plain(app.screen.query_one("#replay-status"))
            await pilot.press("escape")
            assert isinstance(app.screen, HomeScreen)

    asyncio.run(scenario())


# -- Play -----------------------------------------------------------------------------------


def play_app(runs_dir: Path, game: str = "tictactoe", opponent: str = "random", seed: int = 3,
             first: bool = True) -> ArenaApp:
    return make_app(runs_dir, StartRequest("play", game, [opponent], person_first=first, seed=seed))


async def my_turn(pilot, screen: PlayScreen) -> bool:
    """Wait until it is the person's turn (True) or the game is over (False)."""
    await wait_for(pilot, lambda: screen.awaiting is not None or screen.panel.result is not None)
    return screen.panel.result is None


def pick(screen: PlayScreen) -> int:
    """The person's move: the first legal cell (a fixed, dull strategy)."""
    return int(next(i for i, ok in enumerate(screen.awaiting) if ok))


def test_play_tictactoe_to_the_end_by_keys(config, runs_dir):
    async def scenario():
        app = play_app(runs_dir)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, PlayScreen)
            board = screen.query_one(BoardView)
            while await my_turn(pilot, screen):
                target = pick(screen)
                assert app.focused is board
                column, row = divmod(board.cursor, 3)
                goal_column, goal_row = divmod(target, 3)
                keys = (["right"] * (goal_column - column) + ["left"] * (column - goal_column)
                        + ["down"] * (goal_row - row) + ["up"] * (row - goal_row) + ["enter"])
                await pilot.press(*keys)
            result = screen.panel.result
            assert result.status == "finished"
            assert "You" in screen.panel.note or "draw" in screen.panel.note
        match = stored(result.match_id)
        assert match.game == "tictactoe" and match.agents == ["human", "random"]
        assert match.status == "finished" and match.plies == len(result.moves)
        assert match.outcomes == result.outcomes

    asyncio.run(scenario())


def test_play_tictactoe_to_the_end_by_clicks(config, runs_dir):
    async def scenario():
        app = play_app(runs_dir, seed=11, first=False)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            board = screen.query_one(BoardView)
            clicks = 0
            while await my_turn(pilot, screen):
                x, y = board.cell_of(pick(screen))
                played = len(screen.panel.moves)
                await pilot.click(BoardView, offset=(x + 1, y))  # + the board's left padding
                clicks += 1
                await wait_for(pilot, lambda played=played: len(screen.panel.moves) > played)
            result = screen.panel.result
        assert clicks >= 2
        match = stored(result.match_id)
        assert match.agents == ["random", "human"]  # the person moved second
        assert match.status == "finished"
        assert [m[0] for m in match.moves] == [i % 2 for i in range(match.plies)]

    asyncio.run(scenario())


def test_illegal_and_unreadable_moves_are_refused_with_a_message(config, runs_dir):
    async def scenario():
        app = play_app(runs_dir)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            await my_turn(pilot, screen)
            await pilot.click("#move")
            await pilot.press(*"b2", "enter")
            await my_turn(pilot, screen)
            assert len(screen.panel.moves) == 2
            await pilot.press(*"b2", "enter")  # taken
            assert "Illegal move: b2 (occupied by X)" in screen.panel.note  # and why
            box = screen.query_one("#move")
            assert box.value == ""  # a refused entry leaves the box empty for the next one
            await pilot.press(*"z9", "enter")
            assert "'z9' is not a cell" in screen.panel.note
            assert box.value == ""
            board = screen.query_one(BoardView)
            x, y = board.cell_of(4)
            await pilot.click(BoardView, offset=(x + 1, y))  # b2 again, by mouse
            assert "Illegal move: b2 (occupied by X)" in screen.panel.note
            assert screen.awaiting is not None and len(screen.panel.moves) == 2
            # Tic-tac-toe has no pass: no Pass button, no p in the footer, and p does nothing.
            assert not screen.query_one("#pass").display
            assert screen.query_one("#resign").display
            assert "pass_move" not in {b.binding.action for b in app.active_bindings.values()}
            note = screen.panel.note
            board.focus()
            await pilot.press("p")
            assert screen.panel.note == note and len(screen.panel.moves) == 2

    asyncio.run(scenario())


def test_connect_four_says_a_full_column_is_full():
    from games.connect4 import Connect4State

    state = Connect4State()
    for _ in range(6):
        state.play(3)
    assert state.illegal_reason(3) == "column full"
    assert state.illegal_reason(2) is None


def test_play_go_shows_the_pass_button_and_says_when_the_agent_passes(config, runs_dir,
                                                                      monkeypatch):
    import arena.tui.screens.play as play_screen
    from agents.base import Agent

    class Passer(Agent):
        name = "passer"

        def act(self, observation, action_mask):
            return len(action_mask) - 1  # Go's pass is the last action

    real = play_screen.build_agent
    monkeypatch.setattr(play_screen, "build_agent",
                        lambda ref, settings: Passer() if ref == "passer" else real(ref, settings))

    async def scenario():
        app = play_app(runs_dir, game="go5", opponent="passer", first=False)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert screen.query_one("#pass").display
            assert "pass_move" in {b.binding.action for b in app.active_bindings.values()}
            await my_turn(pilot, screen)
            assert screen.panel.moves[0].label == "pass"
            assert screen.panel.note.startswith("Black passes. Your move")

    asyncio.run(scenario())


def test_resigning_is_stored_as_a_loss_by_resignation_not_a_forfeit(config, runs_dir):
    async def scenario():
        app = play_app(runs_dir)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            await my_turn(pilot, screen)
            await pilot.press("enter")  # one move, from the board's cursor (b2)
            await my_turn(pilot, screen)
            await pilot.press("r")
            assert "again" in screen.panel.note  # a lone r only asks
            await pilot.press("r")
            await wait_for(pilot, lambda: screen.panel.result is not None)
            assert "You resigned" in screen.panel.note
            match_id = screen.panel.result.match_id
        match = stored(match_id)
        assert match.end == "resignation" and match.resign_player == 0
        assert match.forfeit_player is None and match.forfeit_reason is None
        assert match.winner == 1 and match.outcomes == ["loss", "win"]

    asyncio.run(scenario())


def test_leaving_mid_game_stores_it_as_abandoned(config, runs_dir):
    async def scenario():
        app = play_app(runs_dir)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            await my_turn(pilot, screen)
            await pilot.press("enter")
            await my_turn(pilot, screen)
            live = screen.live
            await pilot.press("escape")
            assert isinstance(app.screen, HomeScreen)
            await wait_for(pilot, live.finished.is_set)
        matches = all_stored()
        assert [m.status for m in matches] == ["abandoned"]
        assert matches[0].plies == 2 and matches[0].outcomes == ["abandoned", "abandoned"]

    asyncio.run(scenario())


def test_undo_takes_back_your_move_and_the_reply_then_the_game_goes_on(config, runs_dir):
    async def scenario():
        app = play_app(runs_dir, game="connect4", opponent="greedy")
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            for column in "44":
                await my_turn(pilot, screen)
                await pilot.click("#move")
                await pilot.press(column, "enter")
            await my_turn(pilot, screen)
            before = [m.action for m in screen.panel.moves]
            assert len(before) == 4
            await pilot.press("escape")  # Esc in the move box goes back to the board
            assert app.focused is screen.query_one(BoardView)
            await pilot.press("u")
            await my_turn(pilot, screen)
            await wait_for(pilot, lambda: len(screen.panel.moves) == 2)
            assert [m.action for m in screen.panel.moves] == before[:2]
            await pilot.press("left", "left", "left", "enter")  # column 1 instead of 4
            await wait_for(pilot, lambda: len(screen.panel.moves) >= 4)
            assert screen.panel.moves[2].action == 0
            await pilot.press("r", "r")
            await wait_for(pilot, lambda: screen.panel.result is not None)
        matches = all_stored()
        assert len(matches) == 1  # the undone game was replayed, not stored twice
        assert [a for _, a, _, _ in matches[0].moves][:3] == [*before[:2], 0]

    asyncio.run(scenario())


def test_play_shows_the_agent_thinking_and_undo_keeps_insights_and_think_times(config, runs_dir):
    import re

    async def scenario():
        agent = "mcts:sims=1000000,time=1.5"  # each of its moves takes 1.5 s
        app = play_app(runs_dir, game="connect4", opponent=agent, seed=1)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            insight = screen.query_one(InsightPanel)
            await my_turn(pilot, screen)
            # Played directly: a key press through Pilot waits for the app to be idle, and a
            # thinking line that ticks keeps it busy until the reply.
            assert screen.play(3)
            # While the agent searches, the panel says so and counts the seconds.
            await wait_for(pilot, lambda: "is thinking" in plain(insight), timeout=10)
            assert plain(insight).startswith(f"● {agent} is thinking…")
            await my_turn(pilot, screen)
            assert "is thinking" not in plain(insight)
            first = insight.insight
            text = plain(insight)
            assert first is not None and "move 2" in text and "earlier" not in text
            assert re.search(r"\n\d+ simulations · win rate for Yellow \d+%\n", text)
            assert screen.play(3)
            await wait_for(pilot, lambda: "is thinking" in plain(insight), timeout=10)
            # The analysis on show is the agent's previous move's, and says so.
            assert f"earlier: ● {agent} · move 2" in plain(insight)
            await my_turn(pilot, screen)
            assert len(screen.panel.moves) == 4
            played = [(m.action, m.think_s) for m in screen.panel.moves]
            assert played[1][1] > 0.05  # the agent's search took a while
            await pilot.press("u")
            await wait_for(pilot, lambda: len(screen.panel.moves) == 2
                           and screen.awaiting is not None)
            # The replayed moves keep their think times; the agent's analysis is back on show.
            assert [(m.action, m.think_s) for m in screen.panel.moves] == played[:2]
            assert screen.panel.insights[1] is first and insight.insight is first
            assert "no insight" not in plain(insight) and "move 2" in plain(insight)
            live = screen.live
            await pilot.press("escape")
            await wait_for(pilot, live.finished.is_set)
        [match] = all_stored()  # the game left after the undo, as abandoned
        assert match.status == "abandoned" and match.plies == 2
        assert [ms for _, _, _, ms in match.moves] == pytest.approx(
            [t * 1000.0 for _, t in played[:2]])

    asyncio.run(scenario())


# -- Watch ----------------------------------------------------------------------------------


def test_watch_mcts_against_greedy_at_connect_four_to_the_end(config, runs_dir):
    async def scenario():
        request = StartRequest("watch", "connect4", ["mcts:sims=60", "greedy"], speed=0.25, seed=2)
        app = make_app(runs_dir, request)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, WatchScreen)
            panel = screen.query_one(MatchPanel)
            insight = screen.query_one(InsightPanel)
            # At speed 0.25 a move stays on show for seconds: mcts has moved first.
            await wait_for(pilot, lambda: len(panel.moves) == 1)
            assert insight.insight.kind == "mcts"
            text = insight.render().plain
            assert "visits" in text and "prior" in text and "60 simulations" in text
            assert sum(a.visits for a in insight.insight.actions) == 60
            await pilot.press("space")  # pause: nothing moves
            assert screen.live.pacer.paused
            await pilot.pause(0.3)
            count = len(panel.moves)
            await pilot.press("n")  # one step
            await wait_for(pilot, lambda: len(panel.moves) == count + 1)
            await pilot.pause(0.2)
            assert len(panel.moves) == count + 1
            await pilot.press("space")
            for _ in range(10):
                await pilot.press("plus")
            assert math.isinf(screen.live.pacer.speed)
            await wait_for(pilot, lambda: panel.result is not None, timeout=60)
            result = panel.result
            assert f"stored as match {result.match_id}" in plain(panel.query_one("#status"))
        match = stored(result.match_id)
        assert match.agents == ["mcts:sims=60", "greedy"] and match.status == "finished"
        assert match.plies == len(result.moves)

    asyncio.run(scenario())


CONNECT4_MODEL = Path(__file__).resolve().parent.parent / "assets" / "models" / "connect4"


@pytest.mark.skipif(not (CONNECT4_MODEL / "meta.json").is_file(), reason="no shipped model")
def test_watch_shows_the_search_win_rate_for_the_side_it_describes(config, runs_dir):
    """A real AlphaZero search: the root's win rate is the mover's, on the scale of its moves'."""
    ref = f"alphazero:{CONNECT4_MODEL},sims=60,device=cpu"

    async def scenario():
        request = StartRequest("watch", "connect4", ["greedy", ref], speed=0.25, seed=2)
        app = make_app(runs_dir, request)
        async with app.run_test(size=SIZE) as pilot:
            panel = app.screen.query_one(MatchPanel)
            insight = app.screen.query_one(InsightPanel)
            await wait_for(pilot, lambda: len(panel.moves) == 2, timeout=60)
            seen = insight.insight
            assert seen.kind == "mcts" and panel.moves[1].player == 1
            top = seen.actions[0]
            assert 0.0 <= seen.value <= 1.0
            assert abs(seen.value - top.score) < 0.15  # the root and its best move agree
            text = plain(insight)
            assert f"win rate for Yellow {seen.value:.0%}" in text
            assert f"{top.score:.0%}" in text and "move 2" in text
            await pilot.press("escape")

    asyncio.run(scenario())


def test_watch_says_who_is_thinking_and_for_how_long(config, runs_dir):
    import re

    agent = "mcts:sims=1000000,time=2.5"  # each of its moves takes 2.5 s; greedy's none

    async def scenario():
        request = StartRequest("watch", "connect4", ["greedy", agent], speed=math.inf, seed=0)
        app = make_app(runs_dir, request)
        async with app.run_test(size=SIZE) as pilot:
            panel = app.screen.query_one(MatchPanel)
            insight = app.screen.query_one(InsightPanel)

            def shown() -> tuple[int, float] | None:
                """(moves played, the elapsed time as drawn on the screen now), or None."""
                moves = len(panel.moves)
                svg = app.export_screenshot().replace("&#160;", " ")
                found = re.search(r"thinking….*?(\d+\.\d) s", svg, re.DOTALL)  # may wrap
                return (moves, float(found.group(1))) if found else None

            counted = False
            for _ in range(3):  # a loaded machine may miss one search: try the next
                await wait_for(pilot, lambda: "is thinking" in plain(insight), timeout=20)
                first = shown()
                text = plain(insight)
                await pilot.pause(0.5)
                second = shown()
                if first and second and first[0] == second[0] == len(panel.moves):
                    # The same search, drawn later with more seconds: it counts by itself.
                    assert second[1] > first[1]
                    counted = True
                    break
                await wait_for(pilot, lambda n=len(panel.moves): len(panel.moves) > n, 20)
            assert counted
            assert text.startswith(f"● {agent} is thinking…")
            # Greedy's last move is still on show, marked as the previous move's.
            assert re.search(r"\nearlier: ● greedy · move \d+\n", text)
            await pilot.press("escape")

    asyncio.run(scenario())


def test_watch_cartpole_draws_the_frame_and_stores_the_episode(config, runs_dir):
    async def scenario():
        request = StartRequest("watch", "cartpole", ["random"], speed=math.inf, seed=1)
        app = make_app(runs_dir, request)
        async with app.run_test(size=SIZE) as pilot:
            panel = app.screen.query_one(MatchPanel)
            await wait_for(pilot, lambda: panel.result is not None or panel.error is not None)
            assert panel.error is None
            frame = app.screen.query_one(FrameView).frame
            assert frame is not None and frame.shape[2] == 3 and frame.shape[0] % 2 == 0
            assert f"step {panel.result.plies}" in plain(panel.query_one("#status"))
        match = stored(panel.result.match_id)
        assert match.game == "cartpole" and match.outcomes == ["done"]

    asyncio.run(scenario())


def test_watch_reports_a_bad_agent_in_one_line(config, runs_dir):
    async def scenario():
        app = make_app(runs_dir, StartRequest("watch", "tictactoe", ["nosuchagent", "random"]))
        async with app.run_test(size=SIZE) as pilot:
            panel = app.screen.query_one(MatchPanel)
            await wait_for(pilot, lambda: panel.error is not None)
            assert "unknown agent 'nosuchagent'" in panel.error
        assert all_stored() == []

    asyncio.run(scenario())


# -- Training and Agents ------------------------------------------------------------------


def test_read_run_and_tensorboard_losses(tmp_path):
    run = write_run(tmp_path / "r")
    status = read_run(run)
    assert (status.algo, status.game, status.total_steps) == ("ppo", "cartpole", 10000)
    assert status.episodes == 60 and status.step == 3000 and status.best_eval == 48.25
    assert {c.name for c in status.checkpoints} == {"last", "best"}
    assert status.state == "stopped" and status.losses == []
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(run / "tb"))
    for step, loss in enumerate([3.0, 2.0, 1.5]):
        writer.add_scalar("train/loss", loss, step)
        writer.add_scalar("train/entropy", 0.5, step)
    writer.close()
    assert read_scalars(run / "tb", "train/loss") == [3.0, 2.0, 1.5]


def test_training_screen_follows_a_run_dir(config, runs_dir):
    run = write_run(runs_dir / "ppo-cartpole-test")

    async def scenario():
        app = make_app(runs_dir)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("t")
            screen = app.screen
            assert isinstance(screen, TrainingScreen)
            await pilot.click("#runs", offset=(3, 1))
            await wait_for(pilot, lambda: screen.status is not None)
            assert screen.status.path == run
            stats = plain(screen.query_one("#run-stats"))
            assert "step 3,000 / 10,000" in stats and "best eval 48.2" in stats
            # The run goes on elsewhere: new episodes appear on the next poll.
            with (run / "episodes.csv").open("a") as f:
                f.write("3100,99,99,7.00\n")
            await wait_for(pilot, lambda: screen.status.step == 3100, timeout=5)
            assert len(screen.query_one("#returns").data) == 61

    asyncio.run(scenario())


def test_training_screen_starts_and_stops_a_real_run(config, runs_dir):
    """`arena train` in a subprocess; `s` sends SIGINT and the run saves its last/ checkpoint."""

    async def scenario():
        app = make_app(runs_dir)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("t")
            screen = app.screen
            screen.query_one("#algo").value = "pg"
            screen.query_one("#steps").value = "1000000"
            await pilot.click("#start")
            await wait_for(pilot, lambda: screen.follow is not None)
            run = screen.follow
            await wait_for(pilot, lambda: screen.status is not None and screen.status.episodes > 0,
                           timeout=60)
            assert screen.status.running
            await pilot.press("s")
            process = screen.processes[run]
            await wait_for(pilot, lambda: process.poll() is not None, timeout=60)
            await pilot.press("f5")
            assert not screen.status.running
            assert (run / "last" / "meta.json").is_file()
            assert process.returncode == 0
            assert screen.status.state == "stopped"
            log = (run / "train.log").read_text()
            assert "Traceback" not in log

    asyncio.run(scenario())


def test_agents_screen_lists_builtins_roster_and_runs_and_opens_watch(config, runs_dir):
    write_run(runs_dir / "ppo-cartpole-test")

    async def scenario():
        app = make_app(runs_dir)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("a")
            screen = app.screen
            assert isinstance(screen, AgentsScreen)
            names = [(e.kind, e.name) for e in screen.entries]
            for expected in [("built-in", "random"), ("built-in", "greedy"), ("built-in", "mcts"),
                             ("roster", "quick"), ("run", "ppo-cartpole-test")]:
                assert expected in names
            run = next(e for e in screen.entries if e.kind == "run")
            assert (run.game, run.algo, run.eval_mean) == ("cartpole", "ppo", 48.25)
            table = screen.query_one("#agent-table")
            table.move_cursor(row=[e.name for e in screen.entries].index("greedy"))
            await pilot.press("p")
            assert isinstance(app.screen, PlayScreen)
            assert app.screen.query_one("#opponent").value == "greedy"
            await pilot.press("escape")
            table.move_cursor(row=[e.name for e in screen.entries].index("ppo-cartpole-test"))
            await pilot.press("p")  # a CartPole agent cannot be played against
            assert isinstance(app.screen, AgentsScreen)
            await pilot.press("w")
            assert isinstance(app.screen, WatchScreen)
            assert app.screen.query_one("#game").value == "cartpole"

    asyncio.run(scenario())


# -- snapshots (pytest-textual-snapshot; `pytest --snapshot-update` accepts new ones) -----------


def _finish_game(screen_type: type) -> Callable:
    async def run_before(pilot) -> None:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, screen_type))
        panel = pilot.app.screen.query_one(MatchPanel)
        await wait_for(pilot, lambda: panel.result is not None or panel.error is not None, 60)
        await pilot.pause(0.1)

    return run_before


def test_snapshot_home(config, runs_dir, snap_compare):
    assert snap_compare(make_app(runs_dir), terminal_size=SIZE)


def test_snapshot_watch_connect_four_finished(config, runs_dir, snap_compare):
    request = StartRequest("watch", "connect4", ["mcts:sims=50", "greedy"], speed=math.inf, seed=1)
    assert snap_compare(make_app(runs_dir, request), terminal_size=SIZE,
                        run_before=_finish_game(WatchScreen))


def test_snapshot_watch_go9(config, runs_dir, snap_compare):
    request = StartRequest("watch", "go9", ["mcts:sims=20", "random"], speed=math.inf, seed=1)
    assert snap_compare(make_app(runs_dir, request), terminal_size=SIZE,
                        run_before=_finish_game(WatchScreen))


def test_snapshot_play_tictactoe_mid_game(config, runs_dir, snap_compare):
    async def run_before(pilot) -> None:
        screen = pilot.app.screen
        for _ in range(2):
            await my_turn(pilot, screen)
            played = len(screen.panel.moves)
            app_input = screen.query_one("#move")
            app_input.value = "b2" if not played else "abc"[pick(screen) // 3] + str(pick(screen) % 3 + 1)
            await app_input.action_submit()
            await wait_for(pilot, lambda played=played: len(screen.panel.moves) > played)
        await my_turn(pilot, screen)
        screen.query_one(BoardView).focus()
        await pilot.pause(0.1)

    assert snap_compare(play_app(runs_dir, seed=5), terminal_size=SIZE, run_before=run_before)


def test_snapshot_agents(config, runs_dir, snap_compare):
    write_run(runs_dir / "ppo-cartpole-test")
    assert snap_compare(make_app(runs_dir), press=["a"], terminal_size=SIZE)


def test_snapshot_training(config, runs_dir, snap_compare):
    run = write_run(runs_dir / "ppo-cartpole-test")
    os.utime(run, (0, 0))

    async def run_before(pilot) -> None:
        await pilot.press("t")
        await pilot.click("#runs", offset=(3, 1))
        await wait_for(pilot, lambda: pilot.app.screen.status is not None)
        await pilot.pause(0.1)

    assert snap_compare(make_app(runs_dir), terminal_size=SIZE, run_before=run_before)


# -- the command line: `arena`, `arena watch`, `arena play` ------------------------------------


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> list:
    """Pretend stdin and stdout are a terminal; record what run_app was asked to open."""
    import sys

    import arena.tui

    opened: list = []
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(arena.tui, "run_app",
                        lambda start=None, settings=None: opened.append(start) or 0)
    return opened


def test_arena_with_no_command_opens_the_app_in_a_terminal(config, terminal):
    from arena.cli import main

    assert main([]) == 0
    assert terminal == [None]


def test_arena_watch_and_play_open_the_app_on_their_screen(config, terminal):
    from arena.cli import main

    assert main(["watch", "connect4", "mcts", "greedy", "--speed", "2", "--seed", "7"]) == 0
    assert main(["play", "go9", "--vs", "quick", "--as", "second"]) == 0
    watch, play = terminal
    assert (watch.screen, watch.game, watch.agents, watch.speed, watch.seed) == (
        "watch", "connect4", ["mcts", "greedy"], 2.0, 7)
    assert (play.screen, play.game, play.agents, play.person_first) == ("play", "go9", ["quick"], False)


@pytest.mark.parametrize("argv, message", [
    (["watch", "tictactoe", "random"], "is for 2 player(s)"),
    (["watch", "connect4", "mcts", "nosuch"], "unknown agent 'nosuch'"),
    (["play", "cartpole", "--vs", "random"], "not a two-player board game"),
    (["play", "tictactoe", "--vs", "random", "--as", "middle"], "invalid choice: 'middle'"),
    (["watch", "connect4", "mcts", "greedy", "--speed", "0"], "is not above 0"),
])
def test_bad_watch_and_play_arguments_are_one_line_and_exit_2(config, terminal, capsys, argv, message):
    from arena.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert terminal == []


def test_window_front_end_missing_is_one_line_and_exit_2(config, monkeypatch, capsys):
    import sys

    from arena.cli import main

    import arena

    monkeypatch.setitem(sys.modules, "arena.window", None)  # makes the import fail
    monkeypatch.delattr(arena, "window", raising=False)  # as if never imported
    assert main(["watch", "connect4", "mcts", "greedy", "--ui", "window"]) == 2
    err = capsys.readouterr().err
    assert "--ui window" in err and "not available" in err and err.count("\n") == 1


def test_watch_outside_a_terminal_says_so(config, monkeypatch, capsys):
    import sys

    from arena.cli import main

    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    assert main(["watch", "connect4", "mcts", "greedy"]) == 2
    assert "needs a terminal" in capsys.readouterr().err


def test_play_go_by_click_and_pass(config, runs_dir):
    async def scenario():
        app = play_app(runs_dir, game="go5", opponent="random", seed=1)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            board = screen.query_one(BoardView)
            await my_turn(pilot, screen)
            x, y = board.cell_of(12)  # C3, the centre
            await pilot.click(BoardView, offset=(x + 1, y))
            await wait_for(pilot, lambda: len(screen.panel.moves) >= 2)
            assert screen.panel.moves[0].label == "C3"
            await my_turn(pilot, screen)
            await pilot.click(BoardView, offset=(x + 1, y))  # occupied
            assert "Illegal move: C3" in screen.panel.note
            await pilot.press("p")
            await wait_for(pilot, lambda: len(screen.panel.moves) >= 3)
            assert screen.panel.moves[2].label == "pass"
            assert "captures" in plain(screen.panel.query_one("#status"))

    asyncio.run(scenario())


def test_typing_a_move_with_the_board_focused_goes_to_the_move_box(config, runs_dir):
    # A new user types "E5" and Enter without clicking the move box first.
    async def scenario():
        app = play_app(runs_dir, game="go5", opponent="random", seed=1)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            await my_turn(pilot, screen)
            assert isinstance(screen.focused, BoardView)
            await pilot.press("b", "2", "enter")
            await wait_for(pilot, lambda: len(screen.panel.moves) >= 2)
            assert screen.panel.moves[0].label == "B2"
            assert screen.query_one("#move").value == ""

    asyncio.run(scenario())
