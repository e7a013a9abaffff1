"""Tournaments: follow a stored tournament live, start one from a spec, replay its games.

The left side lists the store's tournaments and the spec files under
tournaments/. Picking a spec starts `arena tournament run SPEC` in its own
process (it survives the app; `s` sends it SIGINT and picking the spec again
resumes it). The followed tournament is read from the store once a second,
read-only: standings (Elo with its 95% interval and the likelihood of
superiority over the next one down; single-player leaderboards: mean return
with its 95% interval), progress, and the newest games. Enter or a click on a
game opens ReplayScreen, which steps through it move by move.

Stored leagues are listed beside the tournaments; picking one opens its
league view (arena/tui/screens/league.py). A league spec (one with
`learners`) among the specs starts `arena league run SPEC` instead.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widgets import Button, DataTable, Footer, Header, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from games.errors import UserError
from agents.match import Move
from tournaments.store import StoredMatch
from arena.tui.league_view import is_league_spec, list_league_names, start_league_runner
from arena.tui.screens.base import BackScreen
from arena.tui.tournament_view import (
    TournamentSnapshot,
    list_tournament_names,
    read_match,
    read_tournament,
    replay_positions,
    runner_pid,
    spec_files,
    start_runner,
    stop_runner,
)
from arena.tui.widgets.board import BoardView
from arena.tui.widgets.match_panel import describe_result
from arena.tui.widgets.move_list import MoveList
from arena.tui.widgets.standings import RecentGamesTable, StandingsTable

SPEC_DIR = Path("tournaments")



def runner_title(name: str, kind: str, running: bool, finished: bool) -> Text:
    """A screen's title line: the name, what it is, and RUNNING, FINISHED or STOPPED."""
    title = Text()
    title.append(name, style="bold")
    title.append(f"  {kind}  ", style="dim")
    state = "RUNNING" if running else "FINISHED" if finished else "STOPPED"
    title.append(f" {state} ", style="bold reverse" if running else "bold")
    return title


class TournamentsScreen(BackScreen):
    """Stored tournaments and specs on the left; the followed one's standings and games on the right.

    Promises: every `poll_s` seconds (and on F5) `snapshot` is re-read from
    the store and the tables, progress bar and title show it; nothing is
    ever written to the store from here.
    """

    DEFAULT_CSS = """
    #l-list {
        height: auto;
        max-height: 8;
    }
    """

    BINDINGS = [
        Binding("s", "stop", "Stop runner"),
        Binding("f5", "poll", "Refresh"),
    ]

    followed: reactive[str | None] = reactive(None)

    def __init__(self, tournament: str | None = None, *, spec_dir: Path | str = SPEC_DIR,
                 poll_s: float = 1.0):
        super().__init__()
        self.spec_dir = Path(spec_dir)
        self.poll_s = poll_s
        self.processes: dict[str, subprocess.Popen] = {}  # runners started from this screen
        self.snapshot: TournamentSnapshot | None = None
        self.set_reactive(TournamentsScreen.followed, tournament)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with VerticalScroll(id="t-setup", classes="sidebar"):
                yield Static("[b]Tournaments[/b] (pick one to follow)", classes="heading")
                yield OptionList(id="t-list")
                yield Static("[b]Leagues[/b] (pick one to open)", classes="heading")
                yield OptionList(id="l-list")
                yield Static("[b]Start or resume[/b] a spec", classes="heading")
                yield OptionList(id="t-specs")
            with Vertical(id="tournament"):
                yield Static("No tournament followed: pick one, or start one from a spec.",
                             id="t-title")
                yield ProgressBar(total=1, show_eta=False, id="t-progress")
                yield Static(id="t-stats")
                yield StandingsTable(id="standings")
                yield Static("[b]Recent games[/b] [dim](Enter or a click replays one)[/dim]",
                             classes="heading")
                yield RecentGamesTable(id="t-games")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Tournaments"
        specs = self.query_one("#t-specs", OptionList)
        for path in spec_files(self.spec_dir):
            specs.add_option(Option(path.stem, id=str(path)))
        if not specs.option_count:
            specs.add_option(Option(Text(f"no specs in {self.spec_dir}/", style="dim"),
                                    disabled=True))
        self.reload_list()
        self.query_one("#t-list", OptionList).focus()
        self.poll()
        self.set_interval(self.poll_s, self.poll)

    def on_screen_resume(self) -> None:
        self.poll()

    # -- picking -----------------------------------------------------------------------------
    def reload_list(self) -> None:
        """List the stored tournaments and leagues (keeping the highlights)."""
        self._fill(self.query_one("#t-list", OptionList),
                   list_tournament_names(self.app.settings.store_path))
        self._fill(self.query_one("#l-list", OptionList),
                   list_league_names(self.app.settings.store_path))

    @staticmethod
    def _fill(listing: OptionList, names: list[str]) -> None:
        shown = [listing.get_option_at_index(i).id for i in range(listing.option_count)]
        if shown == names and names or not names and shown == [None]:
            return  # unchanged (the placeholder's id is None)
        highlighted = listing.highlighted
        listing.clear_options()
        for name in names:
            listing.add_option(Option(name, id=name))
        if not names:
            listing.add_option(Option(Text("none stored yet", style="dim"), disabled=True))
        if highlighted is not None and highlighted < len(names):
            listing.highlighted = highlighted

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "t-list" and event.option.id:
            self.followed = event.option.id
        elif event.option_list.id == "l-list" and event.option.id:
            self.open_league(event.option.id)
        elif event.option_list.id == "t-specs" and event.option.id:
            self.start(Path(event.option.id))

    def open_league(self, name: str) -> None:
        """Push the league view of stored league `name`."""
        from arena.tui.screens.league import LeagueScreen

        self.app.push_screen(LeagueScreen(name, poll_s=self.poll_s))

    def start_league(self, spec: Path) -> str | None:
        """Start (or resume) the league in `spec` as a subprocess and open its view; its name."""
        from arena.tui.league_view import league_runner_pid
        from tournaments.league.spec import load_league_spec

        name = self._launch(spec, load_league_spec, league_runner_pid, start_league_runner,
                            key="league:{name}", folder="leagues",
                            already="league '{name}' is already running; opening it")
        if name is not None:
            self.open_league(name)
        return name

    def start(self, spec: Path) -> str | None:
        """Start (or resume) the tournament in `spec` as a subprocess and follow it; its name.

        A league spec starts its league instead (see `start_league`).
        """
        from tournaments.spec import load_spec

        if is_league_spec(spec):
            return self.start_league(spec)
        name = self._launch(spec, load_spec, runner_pid, start_runner, key="{name}",
                            folder="tournaments",
                            already="'{name}' is already running; following it")
        if name is not None:
            self.followed = name
        return name

    def _launch(self, spec: Path, load: Callable[[Path], Any],
                pid_of: Callable[[Path, str], int | None],
                start: Callable[[Path, Path, str], subprocess.Popen], *, key: str, folder: str,
                already: str) -> str | None:
        """Read `spec`'s name (`load`) and start its runner (`start`) unless one runs (`pid_of`).

        Its process is kept under `key`, its log is ``<data_dir>/<folder>/NAME.log``.
        Returns the name, or None (and an error shown) if the spec is bad.
        """
        try:
            name = load(spec).name
        except UserError as exc:
            self.notify(str(exc), severity="error", timeout=6)
            return None
        settings = self.app.settings
        if pid_of(settings.data_dir, name) is not None:
            self.notify(already.format(name=name), timeout=3)
        else:
            self.processes[key.format(name=name)] = start(spec, settings.data_dir, name)
            self.notify(f"running {spec} (log: {settings.data_dir}/{folder}/{name}.log)",
                        timeout=3)
        return name

    def watch_followed(self, name: str | None) -> None:
        self.snapshot = None
        self.query_one("#t-games", RecentGamesTable).clear()
        if self.is_mounted:
            self.poll()

    def action_stop(self) -> None:
        """SIGINT to the followed tournament's runner: it stops, keeping every finished game."""
        if self.followed is None:
            return
        if stop_runner(self.app.settings.data_dir, self.followed):
            self.notify("stopping: finished games stay stored; pick the spec again to resume",
                        timeout=4)
        else:
            self.notify(f"'{self.followed}' is not running", severity="warning", timeout=3)

    def action_poll(self) -> None:
        self.poll()

    # -- the followed tournament ------------------------------------------------------------
    def running(self) -> bool:
        """True while a runner plays the followed tournament."""
        return (self.followed is not None
                and runner_pid(self.app.settings.data_dir, self.followed) is not None)

    def poll(self) -> None:
        """Read the followed tournament again and redraw everything it shows."""
        for process in self.processes.values():
            process.poll()  # reap runners that ended
        self.reload_list()
        if self.followed is None:
            return
        snapshot = read_tournament(self.app.settings.store_path, self.followed)
        self.snapshot = snapshot
        title = self.query_one("#t-title", Static)
        if snapshot is None:
            title.update(Text(f"{self.followed}: starting…", style="bold"))
            return
        self.show(snapshot, self.running())

    def show(self, snapshot: TournamentSnapshot, running: bool) -> None:
        """Draw `snapshot`; `running` says whether a runner plays it now."""
        data = snapshot.standings
        self.query_one("#t-title", Static).update(
            runner_title(snapshot.name, f"{snapshot.game} · {snapshot.format}", running,
                         snapshot.finished))
        self.query_one("#t-progress", ProgressBar).update(total=max(snapshot.total, 1),
                                                          progress=snapshot.done)
        games = data["games"]
        stats = [f"{snapshot.done} / {snapshot.total} games"]
        for key in ("skipped", "void", "byes"):
            if games[key]:
                stats.append(f"{games[key]} {key}")
        stats.append(f"ranked by {data['ranked_by']}")
        if data.get("sprt"):
            stats.append(data["sprt"]["text"])
        if data.get("note"):
            stats.append(str(data["note"]))
        self.query_one("#t-stats", Static).update(" · ".join(stats))
        self.query_one("#standings", StandingsTable).show(data)
        self.query_one("#t-games", RecentGamesTable).show(snapshot.recent)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "t-games" and event.row_key.value is not None:
            self.open_game(int(event.row_key.value))

    def open_game(self, match_id: int) -> None:
        """Push the replay of stored game `match_id`."""
        open_replay(self.app, match_id)


class ReplayScreen(BackScreen):
    """A stored game, move by move: the board at `ply` and the moves up to it.

    Promises: `ply` runs from 0 (before any move) to len(match.moves); the
    board shows `positions[ply]` with move `ply` marked; ←/→ (or p/n) step,
    Home/End jump, and the buttons do the same by mouse.
    """

    BINDINGS = [
        Binding("left,p", "step(-1)", "Previous"),
        Binding("right,n", "step(1)", "Next"),
        Binding("home", "jump(0)", "Start"),
        Binding("end", "jump(-1)", "End"),
    ]

    ply: reactive[int] = reactive(0)

    def __init__(self, match: StoredMatch):
        super().__init__()
        self.match = match
        self.positions = replay_positions(match)
        self.moves = [Move(i, player, action, label, ms / 1000.0)
                      for i, (player, action, label, ms) in enumerate(match.moves)]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="replay"):
            with Vertical(id="board-area"), Center():
                yield BoardView(id="replay-board")
            with Vertical(id="side"):
                yield Static(id="replay-status")
                with Horizontal(id="replay-buttons"):
                    yield Button("|◀", id="replay-first")
                    yield Button("◀", id="replay-prev")
                    yield Button("▶", id="replay-next")
                    yield Button("▶|", id="replay-last")
                yield MoveList(id="replay-moves")
        yield Footer()

    @property
    def board(self) -> BoardView:
        return self.query_one("#replay-board", BoardView)

    def on_mount(self) -> None:
        self.sub_title = f"Replay of game {self.match.id}"
        self.query_one("#board-area").display = self.positions is not None
        self.draw()

    def watch_ply(self) -> None:
        if self.is_mounted:
            self.draw()

    def validate_ply(self, ply: int) -> int:
        return max(0, min(len(self.moves), ply))

    def action_step(self, delta: int) -> None:
        self.ply += delta

    def action_jump(self, where: int) -> None:
        self.ply = len(self.moves) if where < 0 else where

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {"replay-first": lambda: self.action_jump(0),
                   "replay-prev": lambda: self.action_step(-1),
                   "replay-next": lambda: self.action_step(1),
                   "replay-last": lambda: self.action_jump(-1)}
        if event.button.id in actions:
            actions[event.button.id]()

    def draw(self) -> None:
        """Show the position after `ply` moves, the moves so far and where the replay stands."""
        match, ply = self.match, self.ply
        last = self.moves[ply - 1].action if ply else None
        if self.positions is not None:
            self.board.show(self.positions[ply], int(last) if last is not None else None)
        move_list = self.query_one("#replay-moves", MoveList)
        if self.positions is not None:
            move_list.piece = self.board.piece
        move_list.set_moves(self.moves[:ply], len(match.agents))
        text = Text()
        text.append(f"game {match.id} · {match.game} · seed {match.seed}\n", style="bold")
        for i, agent in enumerate(match.agents):
            if i:
                text.append("  vs  ")
            if self.positions is not None:
                text.append_text(self.board.piece(i))
                text.append(" ")
            text.append(agent, style="bold")
        text.append(f"\nmove {ply} / {len(self.moves)}")
        if ply:
            text.append(f" · last {self.moves[ply - 1].label}")
        if ply == len(self.moves):
            text.append(f"\n{describe_result(match, match.agents)}", style="bold")
        self.query_one("#replay-status", Static).update(text)


def open_replay(app: Any, match_id: int) -> None:
    """Push the replay of stored game `match_id` on `app`, or say it is not in the store."""
    match = read_match(app.settings.store_path, match_id)
    if match is None:
        app.notify(f"no game {match_id} in the store", severity="error")
        return
    app.push_screen(ReplayScreen(match))
