"""A series of games between the same agents: what `arena match` runs.

Colours alternate game by game, game i is played with seed + i, and the
summary counts wins, draws, losses, forfeits and resignations per entrant (or
the mean return ± 95% CI for single-player games). A resignation is a loss,
counted apart from forfeits (faults: a crash, an illegal move, a timeout).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.base import Agent
from games.errors import UserError
from agents.match import HarnessFault, MatchResult, Observer, play_match
from agents.stats import mean_ci95
from games.registry import GameSpec


#: Times a game voided by the harness is tried before the series gives up.
VOID_ATTEMPTS = 3


@dataclass
class EntrantStats:
    agent: str
    games: int = 0
    wins: int = 0
    draws: int = 0
    losses: int = 0
    forfeits: int = 0  # games this entrant lost by forfeit
    resigned: int = 0  # games this entrant lost by resigning
    returns: list[float] = field(default_factory=list)

    @property
    def score(self) -> float:
        """Points per game: a win is 1, a draw 1/2."""
        return (self.wins + 0.5 * self.draws) / self.games if self.games else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"agent": self.agent, "games": self.games, "wins": self.wins,
                "draws": self.draws, "losses": self.losses, "forfeits": self.forfeits,
                "resigned": self.resigned, "score": round(self.score, 4)}


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

    def resignations(self) -> list[dict[str, Any]]:
        return [{"match_id": r.match_id, "agent": r.agents[r.resign_player],
                 "reason": r.resign_reason}
                for r in self.results if r.resign_player is not None]

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
        data["resignations"] = self.resignations()
        data["capped"] = self.capped()
        return data

    def capped(self) -> list[dict[str, Any]]:
        """Games the move cap stopped, and how each was counted: adjudicated by score or drawn."""
        out = []
        for r in self.results:
            if r.truncated and not self.single_player:
                out.append({"match_id": r.match_id, "plies": r.plies,
                            "counted": "adjudicated" if r.winner is not None else "draw",
                            "winner": None if r.winner is None else r.agents[r.winner]})
        return out


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
    on_void: Callable[[int, str], None] | None = None,
) -> SeriesResult:
    """Play `games` games; entrant k plays seat (k + i) mod players in game i.

    A game the harness voids (agents.match.HarnessFault: a seat was starved of
    CPU) is played again, up to VOID_ATTEMPTS times; `on_void` hears each.
    """
    entrants = [EntrantStats(name) for name in names]
    results = []
    n = len(agents)
    for i in range(games):
        order = [(k + i) % n for k in range(n)] if n > 1 else [0]
        seated = [0] * n
        for k, seat in enumerate(order):
            seated[seat] = k
        for attempt in range(1, VOID_ATTEMPTS + 1):
            try:
                result = play_match(
                    game, [agents[k] for k in seated], names=[names[k] for k in seated],
                    seed=seed + i, time_per_move=time_per_move, max_moves=max_moves,
                    observers=observers,
                )
                break
            except HarnessFault as fault:  # the machine starved a seat: play the game again
                if on_void is not None:
                    on_void(i, str(fault))
                if attempt == VOID_ATTEMPTS:
                    raise UserError(f"game {i + 1} was void {VOID_ATTEMPTS} times: {fault}; "
                                    "free some cores or raise --time-per-move") from None
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
            if result.resign_player == seat:
                stats.resigned += 1
        results.append(result)
        if on_game is not None:
            on_game(i, result)
    return SeriesResult(game.id, seed, entrants, results)
