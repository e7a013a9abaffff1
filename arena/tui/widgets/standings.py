"""StandingsTable and RecentGamesTable: a tournament's live tables, redrawn from each poll."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual import events
from textual.widgets import DataTable

from arena.tui.tournament_view import RecentGame

TWO_PLAYER_COLUMNS = ("#", "agent", "games", "W/D/L", "forf/res", "score", "Elo (95%)",
                      "LOS next")
LEADERBOARD_COLUMNS = ("#", "agent", "episodes", "mean return (95%)", "min", "max")


def _number(value: float | None, spec: str = "g") -> str:
    return "-" if value is None else format(value, spec)


def refill_rows(table: DataTable, rows: Iterable[tuple[str, ...]]) -> None:
    """Put `rows` in `table` in place of its rows, the cursor kept on its row number."""
    cursor = table.cursor_row
    table.clear()
    for values in rows:
        table.add_row(*values)
    if table.row_count:
        table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)


def standings_rows(data: dict[str, Any]) -> list[tuple[str, ...]]:
    """The table's rows for standings `data` (compute_standings' output), best first."""
    rows = []
    for row in data["standings"]:
        name = row["name"] + (" (withdrawn)" if row.get("status") == "withdrawn" else "")
        if data["format"] == "leaderboard":
            mean, ci = row["mean_return"], row["ci95"]
            shown = "-" if mean is None else f"{mean:.2f}" + (f" ± {ci:.2f}" if ci is not None else "")
            rows.append((str(row["rank"]), name, str(row["episodes"]), shown,
                         _number(row["min_return"]), _number(row["max_return"])))
        else:
            elo, ci = row["elo"], row["ci95"]
            shown = "-" if elo is None else f"{elo:+.0f} ± {ci:.0f}"
            score = "-" if row["score_pct"] is None else f"{row['points']:g} ({row['score_pct']:.0f}%)"
            los = row.get("los_next")
            rows.append((str(row["rank"]), name, str(row["games"]),
                         f"{row['wins']}/{row['draws']}/{row['losses']}",
                         f"{row.get('forfeits', 0)}/{row.get('resigned', 0)}", score, shown,
                         "-" if los is None else f"{100 * los:.0f}%"))
    return rows


class StandingsTable(DataTable):
    """Rank, agent, games, W/D/L, losses by forfeit/resignation, score, Elo ± 95% and LOS.

    A single-player leaderboard shows episodes and mean return ± 95% instead.
    Promises: after `show(data)` the rows are `standings_rows(data)`, in order.
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.leaderboard: bool | None = None

    def show(self, data: dict[str, Any]) -> None:
        """Redraw from standings `data`, keeping the cursor row."""
        leaderboard = data["format"] == "leaderboard"
        if leaderboard != self.leaderboard:
            self.clear(columns=True)
            self.add_columns(*(LEADERBOARD_COLUMNS if leaderboard else TWO_PLAYER_COLUMNS))
            self.leaderboard = leaderboard
        refill_rows(self, standings_rows(data))


class RecentGamesTable(DataTable):
    """The newest games first: id, players, result and how it ended; rows keyed by match id.

    Promises: Enter, or a single click on any row, posts DataTable.RowSelected whose
    row_key.value is the match id as a string.
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.add_columns("id", "players", "result", "reason")

    async def _on_click(self, event: events.Click) -> None:
        # Runs before DataTable's own handler: with the cursor already on the clicked
        # row, that handler selects it, so one click opens a game (not highlight, then open).
        row = event.style.meta.get("row")
        if isinstance(row, int) and 0 <= row < self.row_count:
            self.move_cursor(row=row, animate=False)

    def show(self, games: list[RecentGame]) -> None:
        """Redraw with `games`. A cursor on the newest row stays on the newest; elsewhere it
        stays on its game while that is still listed."""
        keys = [str(g.match_id) for g in games]
        if keys == [str(k.value) for k in self.rows]:
            return  # nothing new: leave the table (and its cursor) alone
        current = None
        if self.row_count and self.cursor_row > 0:  # on the newest row: stay on the newest
            current = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        self.clear()
        for g in games:
            self.add_row(str(g.match_id), " vs ".join(g.seats), g.result,
                         Text(g.reason, style="dim"), key=str(g.match_id))
        if current in keys:
            self.move_cursor(row=keys.index(current), animate=False)
