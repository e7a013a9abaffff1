"""`arena league run | show | export | list`: the command bodies (arena/cli.py parses).

`run` reports on stderr as it goes: training steps, each snapshot and the
opponents PFSP drew for it, games played, the ratings after each round. Ctrl-C
stops it; every finished game and round is stored, and the same command resumes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tournaments.store import Store
from tournaments.common import dispatch, fmt, name_of, print_or_json, with_store


def run_command(args: argparse.Namespace, settings: Any) -> int:
    """Dispatch `arena league ACTION`."""
    return dispatch(args.league_action, "league", {
        "run": lambda: _run(args, settings),
        "show": lambda: _show(args, settings),
        "export": lambda: _export(args, settings),
        "list": lambda: _list(args, settings),
    })


def _name_of(text: str) -> str:
    """A league name, or the name inside a spec file given instead."""
    from tournaments.league_spec import load_league_spec

    return name_of(text, load_league_spec)


def _standings(settings: Any, name: str) -> dict[str, Any]:
    from tournaments.league_export import league_standings
    from tournaments.league_records import require_league

    return with_store(settings, "league",
                      lambda store: league_standings(store, require_league(store, name)))


def _run(args: argparse.Namespace, settings: Any) -> int:
    from tournaments.league import run_league
    from tournaments.league_spec import load_league_spec

    spec = load_league_spec(args.spec)
    try:
        report = run_league(spec, settings, source=args.spec, rounds=args.rounds,
                            concurrency=args.concurrency)
    except KeyboardInterrupt:
        print(f"\narena: interrupted; finished games and rounds are stored; "
              f"`arena league run {args.spec}` resumes", file=sys.stderr)
        return 130
    data = _standings(settings, spec.name)
    if args.json:
        print(json.dumps({"run": report.to_dict(), "standings": data}))
        return 0
    print(f"played {report.games_played_now} game(s) in {report.elapsed_s:.1f}s; "
          f"{report.rounds_done}/{report.rounds} rounds done")
    _print(data)
    return 0


def _show(args: argparse.Namespace, settings: Any) -> int:
    return print_or_json(_standings(settings, _name_of(args.name)), args.json, _print)


def _list(args: argparse.Namespace, settings: Any) -> int:
    from tournaments.league_records import list_leagues, rated_rounds, status_counts

    rows: list[dict[str, Any]] = []
    if settings.store_path.exists():
        store = Store(settings.store_path)
        try:
            for lg in list_leagues(store):
                rows.append({"name": lg.name, "game": lg.game,
                             "rounds_done": len(rated_rounds(store, lg.id)),
                             "rounds": lg.spec.rounds,
                             "games": status_counts(store, lg.id).get("done", 0),
                             "finished": lg.finished_at is not None})
        finally:
            store.close()
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("no leagues yet (arena league run tournaments/league-tictactoe.yaml)")
    for r in rows:
        state = "finished" if r["finished"] else "in progress"
        print(f"{r['name']}  {r['game']}  {r['rounds_done']}/{r['rounds']} rounds  "
              f"{r['games']} games  {state}")
    return 0


def _export(args: argparse.Namespace, settings: Any) -> int:
    from tournaments.league_export import export_league
    from tournaments.league_records import require_league

    written = with_store(settings, "league", lambda store: export_league(
        store, require_league(store, _name_of(args.name)), Path(args.out),
        chart=not args.no_chart))
    return print_or_json(written, args.json, _print_written)


def _print_written(written: dict[str, Any]) -> None:
    print(f"standings: {written['standings_csv']}, {written['standings_json']}")
    print(f"ratings history: {written['ratings_history_csv']}")
    if written["chart"]:
        print(f"chart: {written['chart']}")


def _print(data: dict[str, Any]) -> None:
    g = data["games"]
    print(f"{data['name']}: {data['game']}, {data['status']}; {data['rounds_done']}/"
          f"{data['rounds']} rounds, {g['done']} games"
          + (f" ({g['planned']} planned)" if g["planned"] else "")
          + (f" ({g['void']} void)" if g["void"] else ""))
    rows = data["standings"]
    width = max([len(r["name"]) for r in rows] + [4])
    print(f"{'rank':>4}  {'name':<{width}}  {'kind':<9}  round   steps  games     Elo  ± 95%")
    for r in rows:
        print(f"{r['rank']:>4}  {r['name']:<{width}}  {r['kind']:<9}  {fmt(r['round']):>5}  "
              f"{fmt(r['steps']):>6}  {r['games']:>5}  {fmt(r['elo'], '6.0f'):>6}  "
              f"{fmt(r['ci95'], '5.0f'):>5}")
    print(f"Elo: {data['rating_method']}; anchored to {data['anchor']} = 0.")
    for learner, weights in data["pfsp_weights"].items():
        shown = sorted(weights.items(), key=lambda kv: -kv[1])
        print(f"next {learner} snapshot draws opponents by PFSP ({data['pfsp']}): "
              + ", ".join(f"{k} {100 * v:.0f}%" for k, v in shown))
