"""A tournament's standings, from the store: what `arena tournament show` prints.

Two-player games: games, wins, draws, losses, forfeits (faults: a crash, an
illegal move, a timeout), resignations (losses too, but no fault), points and the
Bradley-Terry Elo with its 95% interval and the likelihood of superiority over
the next player down (see tournaments/ratings.py), plus the OpenSkill mu and
sigma. Round robins and gauntlets are ranked by Elo, swiss tournaments by
points (a bye scores a won pairing) then Elo. Single-player leaderboards are
ranked by mean return, with its 95% interval.
"""

from __future__ import annotations

import itertools
from typing import Any

from agents.stats import mean_ci95
from tournaments.store import Store
from tournaments import records
from tournaments.ratings import LiveTable, fit_elo, sprt
from tournaments.records import PlayedGame, TournamentRecord
from tournaments.schedule import total_games

RATING_METHOD = ("Bradley-Terry, draws as half wins; maximum a posteriori with one virtual draw "
                 "per pair that met and a N(0, 1000^2) prior; 95% intervals from the Hessian")


def elo_games(played: list[PlayedGame]) -> list[tuple[str, str, float]]:
    """Two-player games as (first seat, second seat, score of the first)."""
    return [(g.seats[0], g.seats[1], g.score(0)) for g in played if len(g.seats) == 2]


def compute_standings(store: Store, record: TournamentRecord) -> dict[str, Any]:
    """The standings of `record` as plain JSON-ready data."""
    spec = record.spec
    parts = records.participants(store, record.id)
    played = records.played_games(store, record.id)
    # In schedule order, not the order games finished: OpenSkill, updated game by game,
    # then gives a resumed tournament the same table as one played straight through.
    planned = {g.key: g.ordinal for g in records.games(store, record.id)}
    played.sort(key=lambda g: planned.get(g.key, len(planned)))
    counts = records.status_counts(store, record.id)
    total = total_games(spec)
    settled = counts.get("done", 0) + counts.get("skipped", 0) + counts.get("void", 0)
    data: dict[str, Any] = {
        "name": record.name, "game": record.game, "format": spec.format,
        "status": "finished" if record.finished_at else ("in progress" if settled else "not started"),
        "note": record.note,
        "games": {"total": total, "done": counts.get("done", 0),
                  "skipped": counts.get("skipped", 0), "void": counts.get("void", 0),
                  "byes": counts.get("bye", 0), "remaining": max(0, total - settled)},
        "spec": spec.model_dump(mode="json"),
    }
    forfeits = [{"match_id": g.match_id, "name": g.seats[g.forfeit_player],
                 "reason": g.forfeit_reason} for g in played if g.forfeit_player is not None]
    resignations = [{"match_id": g.match_id, "name": g.seats[g.resign_player]}
                    for g in played if g.resign_player is not None]
    base = {p.name: {"name": p.name, "agent": p.agent, "status": p.status,
                     "withdrawn_because": p.note} for p in parts}
    if spec.format == "leaderboard":
        rows = _leaderboard_rows(base, played)
        data["ranked_by"] = "mean return (95% CI)"
    else:
        byes = [g.seats[0] for g in records.games(store, record.id, "bye")]
        rows = _two_player_rows(base, played, byes, spec.games_per_pairing, spec.anchor,
                                swiss=spec.format == "swiss")
        data["ranked_by"] = "points, then Elo" if spec.format == "swiss" else "Elo"
        data["rating_method"] = RATING_METHOD
        data["anchor"] = spec.anchor or "mean 0"
        if spec.sprt is not None:
            a, b = spec.names
            w = d = losses = 0
            for g in played:
                s = g.score(g.seats.index(a))
                w, d, losses = w + (s == 1.0), d + (s == 0.5), losses + (s == 0.0)
            state = sprt(w, d, losses, spec.sprt.elo0, spec.sprt.elo1, spec.sprt.alpha,
                         spec.sprt.beta)
            data["sprt"] = {"first": a, "second": b, "wins": w, "draws": d, "losses": losses,
                            "llr": state.llr, "lower": state.lower, "upper": state.upper,
                            "decision": state.decision,
                            "text": state.describe(spec.sprt.elo0, spec.sprt.elo1)}
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    data["standings"] = rows
    data["forfeits"] = forfeits
    data["resignations"] = resignations
    data["void_games"] = [{"key": g.key, "attempts": g.attempts, "reason": g.note}
                          for g in records.games(store, record.id, "void")]
    data["replayed_games"] = [{"key": g.key, "voided_attempts": g.attempts, "last_reason": g.note}
                              for g in records.games(store, record.id, "done") if g.attempts]
    return data


def _leaderboard_rows(base: dict[str, dict[str, Any]], played: list[PlayedGame]) -> list[dict]:
    returns: dict[str, list[float]] = {name: [] for name in base}
    forfeits = dict.fromkeys(base, 0)
    resigned = dict.fromkeys(base, 0)
    for g in played:
        returns[g.seats[0]].append(g.returns[0])
        forfeits[g.seats[0]] += g.forfeit_player is not None
        resigned[g.seats[0]] += g.resign_player is not None
    rows = []
    for name, row in base.items():
        values = returns[name]
        mean, half = mean_ci95(values) if values else (None, None)
        rows.append({**row, "episodes": len(values), "mean_return": mean,
                     "ci95": half if half not in (None, float("inf")) else None,
                     "min_return": min(values) if values else None,
                     "max_return": max(values) if values else None,
                     "forfeits": forfeits[name], "resigned": resigned[name]})
    rows.sort(key=lambda r: (r["mean_return"] is None, -(r["mean_return"] or 0.0)))
    return rows


def _two_player_rows(base: dict[str, dict[str, Any]], played: list[PlayedGame], byes: list[str],
                     games_per_pairing: int, anchor: str | None, swiss: bool) -> list[dict]:
    names = list(base)
    stats = {n: {"games": 0, "wins": 0, "draws": 0, "losses": 0, "forfeits": 0, "resigned": 0,
                 "points": 0.0} for n in names}
    live = LiveTable(names)
    for g in played:
        for seat, name in enumerate(g.seats):
            s = stats[name]
            s["games"] += 1
            score = g.score(seat)
            s["points"] += score
            key = "wins" if score == 1.0 else "draws" if score == 0.5 else "losses"
            s[key] += 1
            s["forfeits"] += g.forfeit_player == seat
            s["resigned"] += g.resign_player == seat
        live.record(g.seats, g.returns)
    for name in byes:
        stats[name]["points"] += games_per_pairing
        stats[name]["byes"] = stats[name].get("byes", 0) + 1
    anchor_ok = anchor if anchor is not None and stats.get(anchor, {}).get("games") else None
    fit = fit_elo(names, elo_games(played), anchor=anchor_ok)
    skill = {row["name"]: row for row in live.table()}
    rows = []
    for name in names:
        s = stats[name]
        rated = s["games"] > 0
        rows.append({**base[name], **s,
                     "score_pct": round(100.0 * (s["wins"] + 0.5 * s["draws"]) / s["games"], 2)
                     if s["games"] else None,
                     "elo": round(fit.rating(name), 1) if rated else None,
                     "ci95": round(float(fit.ci95[fit.index(name)]), 1) if rated else None,
                     "openskill": {"mu": round(skill[name]["mu"], 3),
                                   "sigma": round(skill[name]["sigma"], 3)}})

    def order(row: dict[str, Any]) -> tuple:
        elo = row["elo"] if row["elo"] is not None else float("-inf")
        return (-row["points"], -elo) if swiss else (row["elo"] is None, -elo)

    rows.sort(key=order)
    for upper, lower in itertools.pairwise(rows):
        both = upper["elo"] is not None and lower["elo"] is not None
        upper["los_next"] = round(fit.los(upper["name"], lower["name"]), 4) if both else None
    if rows:
        rows[-1]["los_next"] = None
    return rows
