"""Evaluating an agent on a single-player game: returns over fixed seeds."""

from __future__ import annotations

from agents.base import Agent
from arena.match import play_match
from arena.stats import mean_ci95
from games.registry import GameSpec, resolve_game


def episode_returns(agent: Agent, game: GameSpec | str, episodes: int, seed: int = 10_000,
                    max_moves: int | None = None) -> list[float]:
    """The agent's return in `episodes` episodes seeded seed, seed+1, ... (through the match loop)."""
    spec = resolve_game(game) if isinstance(game, str) else game
    return [play_match(spec, [agent], seed=seed + i, max_moves=max_moves).returns[0]
            for i in range(episodes)]


def evaluate(agent: Agent, game: GameSpec | str, episodes: int, seed: int = 10_000,
             max_moves: int | None = None) -> tuple[float, float]:
    """(mean return, 95% CI half-width) over `episodes` seeded episodes."""
    return mean_ci95(episode_returns(agent, game, episodes, seed, max_moves))
