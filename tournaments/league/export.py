"""A league's standings as data, and its files: standings CSV/JSON, ratings history CSV, chart.

`league_standings` is what `arena league show` prints (and `--json` emits) and
what the app's league view shows: every player's latest Elo with its 95%
interval, the games behind it, and the PFSP probabilities with which each
learner's next snapshot would draw its opponents.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from games.fileio import replacing
from tournaments.league import records
from tournaments.league.records import LeagueRecord
from tournaments.store import Store

RATING_METHOD = "Bradley-Terry maximum a posteriori, 95% Laplace intervals"


def league_standings(store: Store, record: LeagueRecord) -> dict[str, Any]:
    """The league's players with their latest ratings, best first, and where it stands."""
    from tournaments.league.runner import pfsp_distribution

    spec = record.spec
    players = records.players(store, record.id)
    latest = records.latest_ratings(store, record.id)
    rated = records.rated_rounds(store, record.id)
    counts = records.status_counts(store, record.id)
    rows = []
    for p in players:
        r = latest.get(p.name)
        rows.append({"name": p.name, "kind": p.kind, "learner": p.learner,
                     "round": None if p.round is None else p.round + 1, "steps": p.steps,
                     "elo": None if r is None else round(r.elo, 1),
                     "ci95": None if r is None else round(r.ci95, 1),
                     "games": 0 if r is None else r.games, "agent": p.agent})
    rows.sort(key=lambda row: -(row["elo"] if row["elo"] is not None else -1e9))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    # The PFSP draw of each learner's next snapshot: the references and the newest snapshots.
    snaps = [p for p in players if p.kind == "snapshot"]
    pool = [p for p in players if p.kind == "reference"] + snaps[-spec.pool_size:]
    weights: dict[str, dict[str, float]] = {}
    for learner in spec.learners:
        own = [p for p in snaps if p.learner == learner.name]
        rating = latest[own[-1].name].elo if own and own[-1].name in latest else 0.0
        opponents = {p.name: latest[p.name].elo if p.name in latest else 0.0 for p in pool}
        weights[learner.name] = {k: round(v, 4) for k, v in
                                 pfsp_distribution(rating, opponents, spec.pfsp,
                                                   spec.pfsp_exponent).items()}
    rounds_done = len([r for r in rated if r < spec.rounds])
    return {
        "name": record.name, "game": record.game,
        "status": "finished" if record.finished_at else "in progress",
        "rounds": spec.rounds, "rounds_done": rounds_done,
        "games": {"done": counts.get("done", 0), "planned": counts.get("planned", 0),
                  "void": counts.get("void", 0)},
        "learners": [{"name": s.name, "algo": s.algo} for s in spec.learners],
        "anchor": spec.anchor_name, "rating_method": RATING_METHOD,
        "pfsp": spec.pfsp, "pfsp_weights": weights,
        "standings": rows,
        "history": [{"round": h.round + 1, "player": h.player, "elo": round(h.elo, 1),
                     "ci95": round(h.ci95, 1), "games": h.games}
                    for h in records.ratings_history(store, record.id)],
    }


def snapshot_series(data: dict[str, Any]) -> dict[str, list[tuple[int, float, float]]]:
    """Per learner: its snapshots' latest ratings by the round that froze each,
    [(round, elo, ci95)], the curve a league is judged by (it should rise)."""
    out: dict[str, list[tuple[int, float, float]]] = {}
    for row in data["standings"]:
        if row["kind"] == "snapshot" and row["elo"] is not None:
            out.setdefault(row["learner"], []).append((row["round"], row["elo"], row["ci95"]))
    return {k: sorted(v) for k, v in out.items()}


def player_series(data: dict[str, Any]) -> dict[str, list[tuple[int, float]]]:
    """Each player's rating after every round since it joined: [(round, elo)]."""
    out: dict[str, list[tuple[int, float]]] = {}
    for h in data["history"]:
        out.setdefault(h["player"], []).append((h["round"], h["elo"]))
    return out


def _atomic_text(path: Path, write: Any) -> None:
    with replacing(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        write(f)


def export_league(store: Store, record: LeagueRecord, out: Path,
                  chart: bool = True) -> dict[str, Any]:
    """standings.csv/json, ratings_history.csv and ratings_over_time.png in `out`; their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = league_standings(store, record)
    written: dict[str, Any] = {}
    path = out / "standings.json"
    _atomic_text(path, lambda f: json.dump(data, f, indent=2))
    written["standings_json"] = str(path)
    columns = ["rank", "name", "kind", "learner", "round", "steps", "elo", "ci95", "games"]

    def standings_csv(f: Any) -> None:
        w = csv.writer(f)
        w.writerow(columns)
        for row in data["standings"]:
            w.writerow(["" if row[c] is None else row[c] for c in columns])

    path = out / "standings.csv"
    _atomic_text(path, standings_csv)
    written["standings_csv"] = str(path)

    def history_csv(f: Any) -> None:
        w = csv.writer(f)
        w.writerow(["round", "player", "elo", "ci95", "games"])
        for h in data["history"]:
            w.writerow([h["round"], h["player"], h["elo"], h["ci95"], h["games"]])

    path = out / "ratings_history.csv"
    _atomic_text(path, history_csv)
    written["ratings_history_csv"] = str(path)
    written["chart"] = None
    if chart:
        path = out / "ratings_over_time.png"
        ratings_chart(data, path)
        written["chart"] = str(path)
    return written


def ratings_chart(data: dict[str, Any], path: Path) -> None:
    """Two panels: each learner's snapshots' current Elo (± 95%) by the round that froze
    them, and every player's Elo after each round (references dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    for learner, points in snapshot_series(data).items():
        rounds = [p[0] for p in points]
        elo = [p[1] for p in points]
        ci = [p[2] for p in points]
        left.errorbar(rounds, elo, yerr=ci, marker="o", capsize=3, label=learner)
    refs = {row["name"]: row["elo"] for row in data["standings"] if row["kind"] == "reference"}
    for name, elo in refs.items():
        if elo is not None:
            left.axhline(elo, linestyle=":", linewidth=1, color="grey")
            left.annotate(name, (left.get_xlim()[0], elo), fontsize=8, color="grey",
                          va="bottom")
    left.set_xlabel("round the snapshot was frozen")
    left.set_ylabel(f"Elo ({data['anchor']} = 0)")
    left.set_title("snapshots' ratings (latest fit, ± 95%)")
    left.legend(loc="best", fontsize=8)
    snapshots = [row["name"] for row in data["standings"] if row["kind"] == "snapshot"]
    rounds = {row["name"]: row["round"] or 0 for row in data["standings"]}
    last = max([rounds[n] for n in snapshots] + [1])
    cmap = plt.get_cmap("viridis")
    greys = ("black", "dimgray", "gray", "darkgray", "silver")
    for name, points in sorted(player_series(data).items(), key=lambda kv: rounds.get(kv[0], 0)):
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        if name in refs:
            k = list(refs).index(name)
            right.plot(xs, ys, linestyle="--", linewidth=1, color=greys[k % len(greys)],
                       label=name)
        else:
            right.plot(xs, ys, marker=".", linewidth=1.2,
                       color=cmap(0.9 * (rounds.get(name, 1) - 1) / max(last - 1, 1)), label=name)
    right.set_xlabel("round")
    right.set_ylabel("Elo after the round's games")
    right.set_title("ratings over time")
    right.legend(loc="upper left", fontsize=7, ncol=2)
    fig.suptitle(f"league {data['name']} ({data['game']}): {data['rounds_done']}/"
                 f"{data['rounds']} rounds, {data['games']['done']} games")
    fig.tight_layout()
    with replacing(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
