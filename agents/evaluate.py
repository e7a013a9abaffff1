"""Evaluating an agent on a single-player game: returns over fixed seeds."""

from __future__ import annotations

from collections.abc import Callable

from agents.base import Agent
from agents.match import play_match
from agents.stats import mean_ci95
from games.registry import GameSpec, resolve_game


def episode_returns(agent: Agent, game: GameSpec | str, episodes: int, seed: int = 10_000,
                    max_moves: int | None = None,
                    on_episode: Callable[[int, float], None] | None = None) -> list[float]:
    """The agent's return in `episodes` episodes seeded seed, seed+1, ... (through the match loop).

    `on_episode(done, episode_return)` is called after each episode (for progress).
    """
    spec = resolve_game(game) if isinstance(game, str) else game
    returns: list[float] = []
    for i in range(episodes):
        returns.append(play_match(spec, [agent], seed=seed + i, max_moves=max_moves).returns[0])
        if on_episode is not None:
            on_episode(i + 1, returns[-1])
    return returns


def evaluate(agent: Agent, game: GameSpec | str, episodes: int, seed: int = 10_000,
             max_moves: int | None = None) -> tuple[float, float]:
    """(mean return, 95% CI half-width) over `episodes` seeded episodes."""
    return mean_ci95(episode_returns(agent, game, episodes, seed, max_moves))
