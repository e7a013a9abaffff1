"""The league view: a league's snapshots and references with Elo ± 95%, and ratings over time.

Opened from the Tournaments screen's list of leagues. It reads the store once a
second, read-only, so a running league (`arena league run SPEC`, or started
from the Tournaments screen) updates live: the table of ratings, the PFSP
weights of each learner's next snapshot, and a chart of the ratings by round,
either each learner's snapshots by the round that froze them (`t` switches) or
every snapshot's rating after each round.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import DataTable, Footer, Header, Static

from arena.tui.league_view import (
    LeagueSnapshot,
    chart_series,
    league_runner_pid,
    read_league,
    stop_league_runner,
)
from arena.tui.screens.base import BackScreen
from arena.tui.screens.tournaments import runner_title
from arena.tui.widgets.ratings_chart import RatingsChart
from arena.tui.widgets.standings import refill_rows

COLUMNS = ("#", "player", "kind", "round", "steps", "games", "Elo (95%)", "PFSP next")
CHART_MODES = ("snapshots", "history")
CHART_TITLES = {"snapshots": "Snapshots' Elo by the round that froze them (t: history)",
                "history": "Each snapshot's Elo after every round (t: by snapshot)"}


def league_rows(data: dict[str, Any]) -> list[tuple[str, ...]]:
    """The table's rows for `data` (league_standings' output), best first."""
    weights: dict[str, float] = {}
    for per_learner in data["pfsp_weights"].values():
        for name, w in per_learner.items():
            weights[name] = weights.get(name, 0.0) + w / max(len(data["pfsp_weights"]), 1)
    rows = []
    for row in data["standings"]:
        elo, ci = row["elo"], row["ci95"]
        shown = "-" if elo is None else f"{elo:+.0f} ± {ci:.0f}"
        weight = weights.get(row["name"])
        rows.append((str(row["rank"]), row["name"], row["kind"],
                     "-" if row["round"] is None else str(row["round"]),
                     "-" if row["steps"] is None else str(row["steps"]), str(row["games"]),
                     shown, "-" if weight is None else f"{100 * weight:.0f}%"))
    return rows


class LeagueScreen(BackScreen):
    """One league, followed live.

    Promises: every `poll_s` seconds (and on F5) `snapshot` is re-read from the
    store; the table shows `league_rows(snapshot.standings)` and the chart the
    series of `chart_series(snapshot.standings, mode)`; nothing is written to
    the store from here.
    """

    DEFAULT_CSS = """
    #league {
        padding: 0 2;
    }
    #l-title, #l-stats {
        height: auto;
        margin-top: 1;
    }
    #l-table {
        height: auto;
        max-height: 16;
        margin-top: 1;
    }
    #l-chart {
        height: 1fr;
        min-height: 10;
        margin-top: 1;
    }
    """

    BINDINGS = [
        Binding("t", "toggle_chart", "Chart mode"),
        Binding("s", "stop", "Stop runner"),
        Binding("f5", "poll", "Refresh"),
    ]

    mode: reactive[str] = reactive("snapshots")

    def __init__(self, name: str, *, poll_s: float = 1.0):
        super().__init__()
        self.league = name
        self.poll_s = poll_s
        self.snapshot: LeagueSnapshot | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="league"):
            yield Static(Text(f"{self.league}: not stored yet", style="bold"), id="l-title")
            yield Static(id="l-stats")
            table = DataTable(id="l-table", cursor_type="row", zebra_stripes=True)
            table.add_columns(*COLUMNS)
            yield table
            yield RatingsChart(id="l-chart")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"League {self.league}"
        self.poll()
        self.set_interval(self.poll_s, self.poll)

    def action_poll(self) -> None:
        self.poll()

    def action_toggle_chart(self) -> None:
        self.mode = CHART_MODES[(CHART_MODES.index(self.mode) + 1) % len(CHART_MODES)]

    def watch_mode(self) -> None:
        if self.is_mounted and self.snapshot is not None:
            self.draw_chart(self.snapshot)

    def action_stop(self) -> None:
        if stop_league_runner(self.app.settings.data_dir, self.league):
            self.notify("stopping: finished games and rounds stay stored; run the spec again "
                        "to resume", timeout=4)
        else:
            self.notify(f"'{self.league}' is not running", severity="warning", timeout=3)

    def poll(self) -> None:
        """Read the league again and redraw everything."""
        snapshot = read_league(self.app.settings.store_path, self.league)
        self.snapshot = snapshot
        if snapshot is None:
            return
        running = league_runner_pid(self.app.settings.data_dir, self.league) is not None
        data = snapshot.standings
        self.query_one("#l-title", Static).update(
            runner_title(snapshot.name, f"{snapshot.game} · league", running, snapshot.finished))
        games = data["games"]
        learners = ", ".join(f"{x['name']} ({x['algo']})" for x in data["learners"])
        self.query_one("#l-stats", Static).update(
            f"{data['rounds_done']} / {data['rounds']} rounds · {games['done']} games · "
            f"learners: {learners} · Elo anchored to {data['anchor']} = 0 · "
            f"opponents by PFSP ({data['pfsp']})")
        refill_rows(self.query_one("#l-table", DataTable), league_rows(data))
        self.draw_chart(snapshot)

    def draw_chart(self, snapshot: LeagueSnapshot) -> None:
        series, levels = chart_series(snapshot.standings, self.mode)
        self.query_one("#l-chart", RatingsChart).plot(series, levels, CHART_TITLES[self.mode])
