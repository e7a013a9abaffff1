"""`arena league run | show | export | list`: the command bodies (arena/cli.py parses).

`run` reports on stderr as it goes: training steps, each snapshot and the
opponents PFSP drew for it, games played, the ratings after each round. Ctrl-C
stops it; every finished game and round is stored, and the same command resumes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tournaments.commands import Verbs, fmt, interrupted, lazy

if TYPE_CHECKING:
    from tournaments.store import Store


def run_command(args: argparse.Namespace, settings: Any) -> int:
    """Dispatch `arena league ACTION`."""
    return LEAGUE.dispatch(args.league_action, args, settings)


def _run(args: argparse.Namespace, settings: Any) -> int:
    from tournaments.league.runner import run_league

    spec = LEAGUE.load(args.spec)
    try:
        report = run_league(spec, settings, source=args.spec, rounds=args.rounds,
                            concurrency=args.concurrency)
    except KeyboardInterrupt:
        return interrupted("finished games and rounds are stored",
                           f"arena league run {args.spec}")
    data = LEAGUE.standings_of(settings, spec.name)
    if args.json:
        print(json.dumps({"run": report.to_dict(), "standings": data}))
        return 0
    print(f"played {report.games_played_now} game(s) in {report.elapsed_s:.1f}s; "
          f"{report.rounds_done}/{report.rounds} rounds done")
    _print(data)
    return 0


def _rows(store: Store) -> list[dict[str, Any]]:
    from tournaments.league.records import list_leagues, rated_rounds, status_counts

    return [{"name": lg.name, "game": lg.game, "rounds_done": len(rated_rounds(store, lg.id)),
             "rounds": lg.spec.rounds, "games": status_counts(store, lg.id).get("done", 0),
             "finished": lg.finished_at is not None} for lg in list_leagues(store)]


def _row_line(r: dict[str, Any], state: str) -> str:
    return (f"{r['name']}  {r['game']}  {r['rounds_done']}/{r['rounds']} rounds  "
            f"{r['games']} games  {state}")


def _print_written(written: dict[str, Any], out: Path) -> None:
    print(f"ratings history: {written['ratings_history_csv']}")


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


LEAGUE = Verbs(
    what="league", run=_run, load=lazy("tournaments.league.spec", "load_league_spec"),
    require=lazy("tournaments.league.records", "require_league"),
    standings=lazy("tournaments.league.export", "league_standings"), show_standings=_print,
    write=lazy("tournaments.league.export", "export_league"), show_written=_print_written,
    rows=_rows, row_line=_row_line,
    none_yet="no leagues yet (arena league run tournaments/league-tictactoe.yaml)")
