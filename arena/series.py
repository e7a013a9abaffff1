"""A series of games between the same agents: what `arena match` runs.

Colours alternate game by game, game i is played with seed + i, and the
summary counts wins, draws, losses and forfeits per entrant (or the mean
return ± 95% CI for single-player games).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.base import Agent
from arena.match import MatchResult, Observer, play_match
from arena.stats import mean_ci95
from games.registry import GameSpec


@dataclass
class EntrantStats:
    agent: str
    games: int = 0
    wins: int = 0
    draws: int = 0
    losses: int = 0
    forfeits: int = 0  # games this entrant lost by forfeit
    returns: list[float] = field(default_factory=list)

    @property
    def score(self) -> float:
        """Points per game: a win is 1, a draw 1/2."""
        return (self.wins + 0.5 * self.draws) / self.games if self.games else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"agent": self.agent, "games": self.games, "wins": self.wins,
                "draws": self.draws, "losses": self.losses, "forfeits": self.forfeits,
                "score": round(self.score, 4)}


@dataclass
class SeriesResult:
    game: str
    seed: int
    entrants: list[EntrantStats]
    results: list[MatchResult]

    @property
    def single_player(self) -> bool:
        return len(self.entrants) == 1

    def forfeits(self) -> list[dict[str, Any]]:
        out = []
        for r in self.results:
            if r.forfeit_player is not None:
                out.append({"match_id": r.match_id, "agent": r.agents[r.forfeit_player],
                            "reason": r.forfeit_reason})
        return out

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"game": self.game, "games": len(self.results), "seed": self.seed,
                                "match_ids": [r.match_id for r in self.results]}
        if self.single_player:
            returns = self.entrants[0].returns
            mean, half = mean_ci95(returns)
            data.update(agent=self.entrants[0].agent, mean_return=mean,
                        ci95=half if half != float("inf") else None, returns=returns,
                        min_return=min(returns), max_return=max(returns))
        else:
            data["agents"] = [e.to_dict() for e in self.entrants]
        data["forfeits"] = self.forfeits()
        return data


def run_series(
    game: GameSpec,
    agents: Sequence[Agent],
    names: Sequence[str],
    *,
    games: int,
    seed: int = 0,
    time_per_move: float | None = None,
    max_moves: int | None = None,
    observers: Sequence[Observer] = (),
    on_game: Callable[[int, MatchResult], None] | None = None,
) -> SeriesResult:
    """Play `games` games; entrant k plays seat (k + i) mod players in game i."""
    entrants = [EntrantStats(name) for name in names]
    results = []
    n = len(agents)
    for i in range(games):
        order = [(k + i) % n for k in range(n)] if n > 1 else [0]
        seated = [0] * n
        for k, seat in enumerate(order):
            seated[seat] = k
        result = play_match(
            game, [agents[k] for k in seated], names=[names[k] for k in seated],
            seed=seed + i, time_per_move=time_per_move, max_moves=max_moves,
            observers=observers,
        )
        for seat, k in enumerate(seated):
            stats = entrants[k]
            stats.games += 1
            stats.returns.append(result.returns[seat])
            outcome = result.outcomes[seat]
            if outcome == "win":
                stats.wins += 1
            elif outcome == "draw":
                stats.draws += 1
            elif outcome == "loss":
                stats.losses += 1
            if result.forfeit_player == seat:
                stats.forfeits += 1
        results.append(result)
        if on_game is not None:
            on_game(i, result)
    return SeriesResult(game.id, seed, entrants, results)
