"""Exports of a tournament: standings as CSV and JSON, every game, a ratings chart.

``arena tournament export NAME --out DIR`` writes into DIR:

- ``standings.json`` (what ``show --json`` prints) and ``standings.csv``;
- ``games/NNNNN-matchID.sgf`` for Go, ``games/NNNNN-matchID.json`` (a move list) otherwise,
  NNNNN being the game's place in the schedule;
- ``ratings.png``: two-player games, each participant's Elo refitted after
  every stretch of games; single-player games, each one's running mean return.

The chart needs matplotlib (the ``plots`` extra); without it the export
stops before writing anything, with one line saying so (``--no-chart`` skips it).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from games.errors import UserError
from games.fileio import replacing
from agents.match import MatchResult, Move
from tournaments.store import Store, StoredMatch
from tournaments import records
from tournaments.ratings import fit_elo
from tournaments.records import TournamentRecord
from tournaments.standings import compute_standings, elo_games

#: Most points along the x axis of the chart (each a refit of the ratings).
CHART_POINTS = 40

TWO_PLAYER_COLUMNS = ["rank", "name", "agent", "status", "games", "wins", "draws", "losses",
                      "forfeits", "resigned", "points", "score_pct", "elo", "ci95", "los_next",
                      "openskill_mu", "openskill_sigma"]
SINGLE_PLAYER_COLUMNS = ["rank", "name", "agent", "status", "episodes", "mean_return", "ci95",
                         "min_return", "max_return", "forfeits", "resigned"]


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise UserError("the ratings chart needs matplotlib: pip install 'arena[plots]' "
                        "(or pass --no-chart)") from None
    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def export_tournament(store: Store, record: TournamentRecord, out: Path,
                      chart: bool = True) -> dict[str, Any]:
    """Write the exports of `record` into `out`; what was written, as paths."""
    plt = _pyplot() if chart else None
    out = Path(out)
    games_dir = out / "games"
    games_dir.mkdir(parents=True, exist_ok=True)
    data = compute_standings(store, record)
    (out / "standings.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    _write_csv(out / "standings.csv", data)
    written = [_write_game(store, record, row, games_dir)
               for row in records.games(store, record.id, "done")]
    chart_path = None
    if plt is not None:
        chart_path = out / "ratings.png"
        _write_chart(plt, store, record, chart_path)
    return {"standings_json": str(out / "standings.json"),
            "standings_csv": str(out / "standings.csv"),
            "games": [str(p) for p in written],
            "chart": str(chart_path) if chart_path else None}


def _write_csv(path: Path, data: dict[str, Any]) -> None:
    single = data["format"] == "leaderboard"
    columns = SINGLE_PLAYER_COLUMNS if single else TWO_PLAYER_COLUMNS
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in data["standings"]:
            flat = dict(row)
            if not single:
                flat["openskill_mu"] = row["openskill"]["mu"]
                flat["openskill_sigma"] = row["openskill"]["sigma"]
            writer.writerow({k: "" if flat.get(k) is None else flat.get(k) for k in columns})


def stored_as_result(match: StoredMatch) -> MatchResult:
    """A stored match as a MatchResult (agent seeds are not kept; they read as 0)."""
    return MatchResult(
        uid=match.uid, game=match.game, agents=match.agents, seed=match.seed,
        agent_seeds=[0] * len(match.agents), returns=match.returns, outcomes=match.outcomes,
        moves=[Move(i, p, a, label, ms / 1000.0) for i, (p, a, label, ms) in
               enumerate(match.moves)],
        started_at=match.started_at, duration_s=match.duration_s, status=match.status,
        winner=match.winner, forfeit_player=match.forfeit_player,
        forfeit_reason=match.forfeit_reason, truncated=match.truncated, tag=match.tag,
        match_id=match.id, end=match.end, resign_player=match.resign_player,
        resign_reason=match.resign_reason)


def _write_game(store: Store, record: TournamentRecord, row: records.GameRow,
                directory: Path) -> Path:
    from games.registry import go_size, resolve_game
    from tournaments.recording import match_sgf

    match = store.get_match(row.match_id)
    assert match is not None  # the transaction that marked it done stored it
    stem = f"{row.ordinal + 1:05d}-match{match.id}"
    if go_size(match.game) is not None:
        game = resolve_game(match.game)
        if game.new_state is not None:
            path = directory / f"{stem}.sgf"
            path.write_bytes(match_sgf(stored_as_result(match), game.new_state()))
            return path
    path = directory / f"{stem}.json"
    path.write_text(json.dumps({
        "tournament": record.name, "key": row.key, "match_id": match.id, "game": match.game,
        "seats": match.agents, "seed": match.seed, "returns": match.returns,
        "outcomes": match.outcomes, "winner": match.winner, "truncated": match.truncated,
        "forfeit": ({"seat": match.forfeit_player, "reason": match.forfeit_reason}
                    if match.forfeit_player is not None else None),
        "end": match.end,
        "resignation": ({"seat": match.resign_player, "reason": match.resign_reason}
                        if match.resign_player is not None else None),
        "moves": [{"ply": i, "player": p, "action": a, "label": label}
                  for i, (p, a, label, _ms) in enumerate(match.moves)],
    }, indent=1) + "\n", encoding="utf-8")
    return path


def _write_chart(plt: Any, store: Store, record: TournamentRecord, path: Path) -> None:
    played = records.played_games(store, record.id)
    names = record.spec.names
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    if record.spec.format == "leaderboard":
        for name in names:
            returns = [g.returns[0] for g in played if g.seats[0] == name]
            running = [sum(returns[:k + 1]) / (k + 1) for k in range(len(returns))]
            ax.plot(range(1, len(running) + 1), running, label=name)
        ax.set_xlabel("episodes")
        ax.set_ylabel("mean return so far")
    else:
        games = elo_games(played)
        steps = sorted({max(1, round(len(games) * k / CHART_POINTS))
                        for k in range(1, CHART_POINTS + 1)}) if games else []
        series: dict[str, list[float]] = {n: [] for n in names}
        anchor = record.spec.anchor
        for k in steps:
            prefix = games[:k]
            seen = {a for a, _, _ in prefix} | {b for _, b, _ in prefix}
            fit = fit_elo(names, prefix, anchor=anchor if anchor in seen else None)
            for n in names:
                series[n].append(fit.rating(n) if n in seen else float("nan"))
        for n in names:
            ax.plot(steps, series[n], label=n)
        ax.set_xlabel("games played")
        ax.set_ylabel(f"Elo ({'anchor ' + anchor if anchor else 'mean 0'})")
    ax.set_title(f"{record.name}: {record.game}, {record.spec.format}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="best")
    fig.tight_layout()
    with replacing(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
