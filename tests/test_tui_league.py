"""The league view, driven by Textual's Pilot against a real league.

A tiny tic-tac-toe league (AlphaZero with a tiny net) runs its first round;
the Tournaments screen lists it and opens its view, which must follow the
second round as it is played and then show exactly what `arena league show
--json` prints, as a table with intervals and as a chart of ratings by round.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from conftest import run_arena
from rich.text import Text
from textual.widgets import DataTable, OptionList
from tournament_support import spec_folder, wait_for

from arena.config import load_settings
from arena.tui.app import ArenaApp
from arena.tui.league_view import chart_series, list_league_names
from arena.tui.screens.league import LeagueScreen, league_rows
from arena.tui.screens.tournaments import TournamentsScreen
from arena.tui.widgets.ratings_chart import RatingsChart

SIZE = (120, 40)
NAME = "tui-league"


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    return spec_folder(
        tmp_path, name=NAME, game="tictactoe",
        learners=[{"name": "az", "algo": "alphazero", "preset": "tictactoe",
                   "set": {"blocks": 1, "channels": 8, "value_hidden": 8, "sims": 8,
                           "parallel": 8, "games_per_generation": 8, "train_steps": 10,
                           "batch_size": 32, "window": 2000, "play_sims": 8}}],
        references=["random", "greedy"], rounds=2, steps_per_round=40, games_per_round=4,
        seed=5, device="cpu", concurrency=1, threads=1)


def test_league_view_shows_a_real_league_and_the_tournaments_screen_lists_it(config, tmp_path,
                                                                           spec_dir):
    from tournaments.league.runner import run_league
    from tournaments.league.spec import load_league_spec

    spec = load_league_spec(spec_dir / f"{NAME}.yaml")
    run_league(spec, load_settings(), rounds=1, stream=None)  # the league so far: one round

    async def scenario() -> dict:
        app = ArenaApp(load_settings(), runs_dir=tmp_path / "runs",
                       models_dir=tmp_path / "none")
        async with app.run_test(size=SIZE) as pilot:
            await app.push_screen(TournamentsScreen(spec_dir=spec_dir, poll_s=0.2))
            await pilot.pause()
            leagues = app.screen.query_one("#l-list", OptionList)
            assert [leagues.get_option_at_index(i).id
                    for i in range(leagues.option_count)] == [NAME]
            leagues.focus()
            leagues.highlighted = 0
            await pilot.press("enter")
            assert isinstance(app.screen, LeagueScreen)
            view = app.screen
            assert view.league == NAME
            await wait_for(pilot, lambda: view.snapshot is not None, timeout=120.0, step=0.05)
            assert view.snapshot.rounds_done == view.snapshot.rounds == 1
            # The league goes on to the spec's 2 rounds while the view is open: it follows.
            await asyncio.to_thread(run_league, spec, load_settings(), stream=None)
            await wait_for(pilot, lambda: view.snapshot.rounds_done == 2, timeout=120.0,
                           step=0.05)
            assert view.snapshot.finished
            data = view.snapshot.standings
            table = view.query_one("#l-table", DataTable)
            shown = [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]
            assert shown == league_rows(data)
            chart = view.query_one("#l-chart", RatingsChart)
            assert chart.series == chart_series(data, "snapshots")[0]
            assert [x for x, _ in chart.series["az"]] == [1.0, 2.0]
            drawn = chart.render()
            assert isinstance(drawn, Text)
            assert any(0x2800 < ord(ch) <= 0x28FF for ch in drawn.plain)  # braille dots
            assert "az" in drawn.plain and "random +0" in drawn.plain and "round 2" in drawn.plain
            await pilot.press("t")
            assert view.mode == "history"
            assert set(chart.series) == {"az-r1", "az-r2"}
            assert chart.series["az-r1"] == [(1.0, chart.series["az-r1"][0][1]),
                                             (2.0, chart.series["az-r1"][1][1])]
            title = str(view.query_one("#l-title").render())
            assert NAME in title and "FINISHED" in title
            await pilot.press("escape")
            assert isinstance(app.screen, TournamentsScreen)
            return {"data": data}

    result = asyncio.run(scenario())
    data = result["data"]
    shown = run_arena("league", "show", NAME, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(json.dumps(data)) == json.loads(shown.stdout)
    snaps = {r["name"]: r for r in data["standings"] if r["kind"] == "snapshot"}
    assert set(snaps) == {"az-r1", "az-r2"}
    for row in league_rows(data):
        if row[1] in snaps:
            assert "±" in row[6]  # Elo with its interval
    assert list_league_names(load_settings().store_path) == [NAME]


def test_ratings_chart_scales_series_and_levels():
    chart = RatingsChart()
    chart.plot({"a": [(1, 0.0), (2, 100.0), (3, 200.0)]}, {"ref": 50.0})
    text = chart.draw(60, 12).plain
    lines = text.splitlines()
    assert lines[0].strip().startswith("+") and "┤" in lines[0]
    plot = [line[8:] for line in lines[:9]]
    # Rising series: its dots reach the top row at the right and the bottom row at the left.
    top = [i for i, ch in enumerate(plot[0]) if ch != " "]
    bottom = [i for i, ch in enumerate(plot[-1]) if ch != " "]
    assert top and bottom and min(top) > max(bottom)
    assert "round 1" in text and "round 3" in text and "━ a" in text and "ref +50" in text
    empty = RatingsChart()
    assert empty.draw(60, 12).plain == "no ratings yet"
