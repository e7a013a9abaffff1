"""`arena tournament run | show | export | list`: the command bodies (arena/cli.py parses).

`run` shows live progress on stderr (a rich progress bar on a terminal, else a
plain line every few seconds): games done/total, games/s, ETA and the current
leader. Ctrl-C stops it; every finished game is already stored, and the same
command resumes.

`Verbs` (under "what the tournament and league commands share") holds the
verbs; `arena league` (tournaments/league/commands.py) declares its own parts
for them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from games.errors import UserError

if TYPE_CHECKING:
    from tournaments.store import Store

T = TypeVar("T")
Verb = Callable[[argparse.Namespace, Any], int]

#: Seconds between progress lines when stderr is not a terminal.
PLAIN_PROGRESS_EVERY_S = 5.0


def run_command(args: argparse.Namespace, settings: Any) -> int:
    """Dispatch `arena tournament ACTION`."""
    return TOURNAMENT.dispatch(args.tournament_action, args, settings)


# -- what the tournament and league commands share -------------------------------------------


def lazy(module: str, name: str) -> Callable[..., Any]:
    """`module.name`, imported when called: each verb imports only the modules it needs."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    return call


@dataclass(frozen=True)
class Verbs:
    """`arena WHAT run | show | export | list` for one kind of stored thing.

    A tournament (TOURNAMENT below) and a league (tournaments/league/commands.py)
    differ in their parts; the verbs around them are these. `what` is the word a
    message uses for the thing ("tournament" or "league").
    """

    what: str
    run: Verb  # `arena WHAT run SPEC`
    load: Callable[[str], Any]  # a spec file -> its spec
    require: Callable[[Store, str], Any]  # a name -> its record; a UserError if none
    standings: Callable[[Store, Any], dict[str, Any]]  # a record -> what `show` prints
    show_standings: Callable[[dict[str, Any]], None]
    write: Callable[..., dict[str, Any]]  # (store, record, out, chart=) -> the files written
    show_written: Callable[[dict[str, Any], Path], None]  # (those files, out): its own lines
    rows: Callable[[Store], list[dict[str, Any]]]  # `list`'s rows, one per stored thing
    row_line: Callable[[dict[str, Any], str], str]  # (row, "finished" | "in progress")
    none_yet: str  # what `list` prints when there are none

    def dispatch(self, action: str, args: argparse.Namespace, settings: Any) -> int:
        """Run the verb of `action`; an unknown one is a UserError."""
        verbs: dict[str, Verb] = {"run": self.run, "show": self.show, "export": self.export,
                                  "list": self.listing}
        if action not in verbs:
            raise UserError(f"unknown {self.what} action '{action}'")
        return verbs[action](args, settings)

    def name_of(self, text: str) -> str:
        """A name, or the name inside the spec file given instead."""
        if text.endswith((".yaml", ".yml")) and Path(text).is_file():
            return self.load(text).name
        return text

    def standings_of(self, settings: Any, name: str) -> dict[str, Any]:
        """The standings of the stored one called `name`."""
        return with_store(settings, self.what,
                          lambda store: self.standings(store, self.require(store, name)))

    def show(self, args: argparse.Namespace, settings: Any) -> int:
        """`arena WHAT show NAME [--json]`."""
        data = self.standings_of(settings, self.name_of(args.name))
        return print_or_json(data, args.json, self.show_standings)

    def export(self, args: argparse.Namespace, settings: Any) -> int:
        """`arena WHAT export NAME --out DIR [--no-chart] [--json]`."""
        out = Path(args.out)
        written = with_store(settings, self.what, lambda store: self.write(
            store, self.require(store, self.name_of(args.name)), out, chart=not args.no_chart))

        def show(written: dict[str, Any]) -> None:
            print(f"standings: {written['standings_csv']}, {written['standings_json']}")
            self.show_written(written, out)
            if written["chart"]:
                print(f"chart: {written['chart']}")

        return print_or_json(written, args.json, show)

    def listing(self, args: argparse.Namespace, settings: Any) -> int:
        """`arena WHAT list [--json]`: none before anything made the store."""
        rows = with_store(settings, self.what, self.rows) if settings.store_path.exists() else []
        if args.json:
            print(json.dumps(rows))
            return 0
        if not rows:
            print(self.none_yet)
        for r in rows:
            print(self.row_line(r, "finished" if r["finished"] else "in progress"))
        return 0


def open_store(settings: Any, what: str) -> Store:
    """The store named in `settings`; a UserError if nothing has made it yet."""
    if not settings.store_path.exists():
        raise UserError(f"no store at {settings.store_path}: no {what} has been run yet")
    from tournaments.store import Store

    return Store(settings.store_path)


def with_store(settings: Any, what: str, read: Callable[[Store], T]) -> T:
    """`read(store)` on the store opened by `open_store`, closed afterwards."""
    store = open_store(settings, what)
    try:
        return read(store)
    finally:
        store.close()


def print_or_json(data: Any, as_json: bool, show: Callable[[Any], None]) -> int:
    """`data` as one JSON line, or shown by `show`; exit code 0."""
    if as_json:
        print(json.dumps(data))
    else:
        show(data)
    return 0


def fmt(value: Any, spec: str = "", none: str = "-") -> str:
    """`value` formatted by `spec`, or `none` when it is None."""
    return none if value is None else format(value, spec)


def interrupted(stored: str, command: str) -> int:
    """Exit code 130 after Ctrl-C, saying what is `stored` and that `command` resumes."""
    print(f"\narena: interrupted; {stored}; `{command}` resumes", file=sys.stderr)
    return 130


# -- progress --------------------------------------------------------------------------------


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class PlainProgress:
    """Progress as a line on stderr every few seconds (logs, pipes, tests)."""

    def __init__(self, every_s: float = PLAIN_PROGRESS_EVERY_S):
        self.every_s = every_s
        self._last = 0.0
        self._line = ""

    def begin(self, name: str, total: int, done: int, backend: str, slots: int) -> None:
        resumed = f", resuming at {done}/{total}" if done else ""
        print(f"tournament {name}: {total} games on {backend} ({slots} at a time){resumed}",
              file=sys.stderr, flush=True)

    def update(self, done: int, total: int, rate: float, eta: float | None,
               leader: str | None) -> None:
        self._line = (f"{done}/{total} games  {rate:.1f} games/s  ETA {_duration(eta)}  "
                      f"leader: {leader or '-'}")
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            print(self._line, file=sys.stderr, flush=True)

    def message(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def end(self) -> None:
        if self._line:
            print(self._line, file=sys.stderr, flush=True)


class RichProgress:
    """A rich progress bar on the terminal, with messages printed above it."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.console = Console(stderr=True)
        self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                            TextColumn("ETA {task.fields[eta]}"),
                            TextColumn("leader: {task.fields[leader]}"),
                            console=self.console, transient=False)
        self.task: Any = None

    def begin(self, name: str, total: int, done: int, backend: str, slots: int) -> None:
        self.console.print(f"tournament {name}: {total} games on {backend} ({slots} at a time)")
        self.bar.start()
        self.task = self.bar.add_task(name, total=total, completed=done, rate="", eta="?",
                                      leader="-")

    def update(self, done: int, total: int, rate: float, eta: float | None,
               leader: str | None) -> None:
        self.bar.update(self.task, completed=done, total=total, rate=f"{rate:.1f} games/s",
                        eta=_duration(eta), leader=leader or "-")

    def message(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)

    def end(self) -> None:
        self.bar.stop()


# -- run -------------------------------------------------------------------------------------


def _run(args: argparse.Namespace, settings: Any) -> int:
    from tournaments.runner import run_tournament

    spec = TOURNAMENT.load(args.spec)
    progress = RichProgress() if sys.stderr.isatty() else PlainProgress()
    try:
        report = run_tournament(spec, settings, source=args.spec, backend=args.backend,
                                address=args.address, concurrency=args.concurrency,
                                progress=progress)
    except KeyboardInterrupt:
        return interrupted("every finished game is stored", f"arena tournament run {args.spec}")
    data = TOURNAMENT.standings_of(settings, spec.name)
    if args.json:
        print(json.dumps({"run": report.to_dict(), "standings": data}))
        return 0
    print(f"played {report.played_now} game(s) in {report.elapsed_s:.1f}s on {report.backend}"
          + (f"; {report.voided_now} voided attempt(s) replayed" if report.voided_now else ""))
    _print_standings(data)
    return 0


# -- show / list / export --------------------------------------------------------------------


def _rows(store: Store) -> list[dict[str, Any]]:
    from tournaments.records import list_tournaments, status_counts
    from tournaments.schedule import total_games

    rows = []
    for t in list_tournaments(store):
        counts = status_counts(store, t.id)
        rows.append({"name": t.name, "game": t.game, "format": t.format,
                     "done": counts.get("done", 0), "total": total_games(t.spec),
                     "finished": t.finished_at is not None})
    return rows


def _row_line(r: dict[str, Any], state: str) -> str:
    return f"{r['name']}  {r['game']} {r['format']}  {r['done']}/{r['total']} games  {state}"


def _print_written(written: dict[str, Any], out: Path) -> None:
    print(f"games: {len(written['games'])} file(s) in {out / 'games'}")


# -- printing --------------------------------------------------------------------------------


def _print_standings(data: dict[str, Any]) -> None:
    g = data["games"]
    extra = ", ".join(f"{g[k]} {k}" for k in ("skipped", "void", "byes") if g[k])
    print(f"{data['name']}: {data['game']}, {data['format']}, {data['status']}; "
          f"{g['done']}/{g['total']} games" + (f" ({extra})" if extra else ""))
    if data.get("note"):
        print(data["note"])
    rows = data["standings"]
    width = max([len(r["name"]) for r in rows] + [4])
    if data["format"] == "leaderboard":
        print(f"{'rank':>4}  {'name':<{width}}  episodes  mean return  ± 95% CI       min       max")
        for r in rows:
            print(f"{r['rank']:>4}  {r['name']:<{width}}  {r['episodes']:>8}  "
                  f"{fmt(r['mean_return'], '11.2f'):>11}  {fmt(r['ci95'], '8.2f'):>8}  "
                  f"{fmt(r['min_return'], '8.1f'):>8}  {fmt(r['max_return'], '8.1f'):>8}"
                  + ("  withdrawn" if r["status"] == "withdrawn" else ""))
    else:
        print(f"{'rank':>4}  {'name':<{width}}  games  wins  draws  losses  forf  resigned  "
              f"points     Elo  ± 95%  LOS>next")
        for r in rows:
            los = f"{100 * r['los_next']:.1f}%" if r.get("los_next") is not None else "-"
            print(f"{r['rank']:>4}  {r['name']:<{width}}  {r['games']:>5}  {r['wins']:>4}  "
                  f"{r['draws']:>5}  {r['losses']:>6}  {r['forfeits']:>4}  {r['resigned']:>8}  "
                  f"{r['points']:>6g}  "
                  f"{fmt(r['elo'], '6.0f'):>6}  {fmt(r['ci95'], '5.0f'):>5}  {los:>8}"
                  + ("  withdrawn" if r["status"] == "withdrawn" else ""))
        print(f"Elo: {data['rating_method']}; anchored to {data['anchor']}.")
        if "sprt" in data:
            print(data["sprt"]["text"])
    for r in rows:
        if r["status"] == "withdrawn":
            print(f"{r['name']} {r['withdrawn_because']}")
    for f in data["forfeits"][:10]:
        print(f"forfeit in match {f['match_id']}: {f['name']} {f['reason']}")
    if len(data["forfeits"]) > 10:
        print(f"... and {len(data['forfeits']) - 10} more forfeits (--json lists them all)")
    for v in data["void_games"]:
        print(f"void game {v['key']} after {v['attempts']} attempts: {v['reason']}")


TOURNAMENT = Verbs(
    what="tournament", run=_run, load=lazy("tournaments.spec", "load_spec"),
    require=lazy("tournaments.records", "require_tournament"),
    standings=lazy("tournaments.standings", "compute_standings"),
    show_standings=_print_standings, write=lazy("tournaments.export", "export_tournament"),
    show_written=_print_written, rows=_rows, row_line=_row_line,
    none_yet="no tournaments yet (arena tournament run tournaments/quickstart.yaml)")
