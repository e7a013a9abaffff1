"""`arena tournament run | show | export | list`: the command bodies (arena/cli.py parses).

`run` shows live progress on stderr (a rich progress bar on a terminal, else a
plain line every few seconds): games done/total, games/s, ETA and the current
leader. Ctrl-C stops it; every finished game is already stored, and the same
command resumes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from tournaments.store import Store
from tournaments.common import dispatch, fmt, name_of, print_or_json, with_store

#: Seconds between progress lines when stderr is not a terminal.
PLAIN_PROGRESS_EVERY_S = 5.0


def run_command(args: argparse.Namespace, settings: Any) -> int:
    """Dispatch `arena tournament ACTION`."""
    return dispatch(args.tournament_action, "tournament", {
        "run": lambda: _run(args, settings),
        "show": lambda: _show(args, settings),
        "export": lambda: _export(args, settings),
        "list": lambda: _list(args, settings),
    })


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
    from tournaments.spec import load_spec

    spec = load_spec(args.spec)
    progress = RichProgress() if sys.stderr.isatty() else PlainProgress()
    try:
        report = run_tournament(spec, settings, source=args.spec, backend=args.backend,
                                address=args.address, concurrency=args.concurrency,
                                progress=progress)
    except KeyboardInterrupt:
        print(f"\narena: interrupted; every finished game is stored; "
              f"`arena tournament run {args.spec}` resumes", file=sys.stderr)
        return 130
    data = _standings(settings, spec.name)
    if args.json:
        print(json.dumps({"run": report.to_dict(), "standings": data}))
        return 0
    print(f"played {report.played_now} game(s) in {report.elapsed_s:.1f}s on {report.backend}"
          + (f"; {report.voided_now} voided attempt(s) replayed" if report.voided_now else ""))
    _print_standings(data)
    return 0


# -- show / list / export --------------------------------------------------------------------


def _name_of(text: str) -> str:
    """A tournament name, or the name inside a spec file given instead."""
    from tournaments.spec import load_spec

    return name_of(text, load_spec)


def _standings(settings: Any, name: str) -> dict[str, Any]:
    from tournaments.records import require_tournament
    from tournaments.standings import compute_standings

    return with_store(settings, "tournament",
                      lambda store: compute_standings(store, require_tournament(store, name)))


def _show(args: argparse.Namespace, settings: Any) -> int:
    return print_or_json(_standings(settings, _name_of(args.name)), args.json, _print_standings)


def _list(args: argparse.Namespace, settings: Any) -> int:
    from tournaments.records import list_tournaments, status_counts
    from tournaments.schedule import total_games

    if not settings.store_path.exists():
        rows: list[dict[str, Any]] = []
    else:
        store = Store(settings.store_path)
        try:
            rows = []
            for t in list_tournaments(store):
                counts = status_counts(store, t.id)
                rows.append({"name": t.name, "game": t.game, "format": t.format,
                             "done": counts.get("done", 0), "total": total_games(t.spec),
                             "finished": t.finished_at is not None})
        finally:
            store.close()
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("no tournaments yet (arena tournament run tournaments/quickstart.yaml)")
    for r in rows:
        state = "finished" if r["finished"] else "in progress"
        print(f"{r['name']}  {r['game']} {r['format']}  {r['done']}/{r['total']} games  {state}")
    return 0


def _export(args: argparse.Namespace, settings: Any) -> int:
    from tournaments.export import export_tournament
    from tournaments.records import require_tournament

    out = Path(args.out)
    written = with_store(settings, "tournament", lambda store: export_tournament(
        store, require_tournament(store, _name_of(args.name)), out, chart=not args.no_chart))

    def show(written: dict[str, Any]) -> None:
        print(f"standings: {written['standings_csv']}, {written['standings_json']}")
        print(f"games: {len(written['games'])} file(s) in {out / 'games'}")
        if written["chart"]:
            print(f"chart: {written['chart']}")

    return print_or_json(written, args.json, show)


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
