"""Evaluating agents: returns over fixed seeds (single-player games), scores against
fixed opponents (board games). The trainer (arena/train.py) runs both and keeps the
run's best/; a learner never evaluates itself unless it has a gate of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from agents.base import Agent
from agents.match import play_match
from agents.series import run_series
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


#: The figures a board-game evaluation keeps of each opponent, in board_evals.csv's order.
OUTCOMES = ("wins", "draws", "losses")


class BoardEvaluation:
    """A learner's agent on a board game against fixed opponents, every `every` steps.

    `games` games against each of `opponents` (agent references, colours alternating);
    the score is (wins + draws / 2) / games, averaged over the opponents. `run` plays
    them and says whether the score beats every one before (`row["best"]`); what to do
    with that (best/, board_evals.csv) is the trainer's.
    """

    def __init__(self, game_id: str, opponents: str, games: int, every: int):
        self.game_id = game_id
        self.opponents = [o.strip() for o in opponents.split(",") if o.strip()]
        self.games, self.every = games, max(1, every)
        self.next_step = self.every
        self.best_score = float("-inf")
        self.best_step: int | None = None
        self.history: list[dict[str, Any]] = []

    @classmethod
    def for_run(cls, game_id: str, config: Any) -> BoardEvaluation:
        """The evaluation a learner's config asks for: eval_games against each of
        eval_opponents every board_eval_every steps (0: a tenth of total_steps)."""
        every = config.board_eval_every or max(1, config.total_steps // 10)
        return cls(game_id, config.eval_opponents, config.eval_games, every)

    @property
    def enabled(self) -> bool:
        """False with eval_games 0 or no opponents."""
        return self.games > 0 and bool(self.opponents)

    def due(self, steps: int) -> bool:
        """A periodic evaluation is due at `steps`."""
        return self.enabled and steps >= self.next_step

    def final_due(self, steps: int) -> bool:
        """The evaluation at the end of a run is due (none at `steps` yet)."""
        return self.enabled and (not self.history or self.history[-1]["step"] != steps)

    def resume(self, steps: int, history: list[dict[str, Any]], best_score: float | None,
               best_step: int | None) -> None:
        """Carry on a resumed run's record: its earlier rows and best, the next one due
        after `steps`."""
        self.history = list(history)
        self.best_score = float("-inf") if best_score is None else float(best_score)
        self.best_step = best_step
        self.next_step = (steps // self.every + 1) * self.every

    def run(self, agent: Agent, steps: int) -> dict[str, Any]:
        """Play the evaluation games; the row (step, per-opponent figures, score, best)."""
        from agents.registry import make_agent

        game = resolve_game(self.game_id)
        row: dict[str, Any] = {"step": steps}
        scores = []
        for k, ref in enumerate(self.opponents):
            opponent = make_agent(ref)
            try:
                series = run_series(game, [agent, opponent], [agent.name, ref], games=self.games,
                                    seed=steps * 7 + k * 100_003)
            finally:
                opponent.close()
            me = series.entrants[0]
            row[ref] = {"wins": me.wins, "draws": me.draws, "losses": me.losses,
                        "forfeits": me.forfeits, "score": round(me.score, 4)}
            scores.append(me.score)
        row["score"] = round(float(np.mean(scores)), 4)
        self.history.append(row)
        self.next_step = (steps // self.every + 1) * self.every
        better = row["score"] > self.best_score
        if better:
            self.best_score, self.best_step = row["score"], steps
        row["best"] = better
        return row

    def csv_header(self) -> list[str]:
        return ["step", "score"] + [f"{ref}:{k}" for ref in self.opponents for k in OUTCOMES]

    def csv_row(self, row: dict[str, Any]) -> list[Any]:
        return [row["step"], row["score"]] + [row[ref][k] for ref in self.opponents
                                              for k in OUTCOMES]

    def from_csv(self, record: dict[str, str]) -> dict[str, Any]:
        """A row of board_evals.csv (csv.DictReader) as `run` returned it (less forfeits)."""
        row: dict[str, Any] = {"step": int(record["step"]), "score": float(record["score"])}
        for ref in self.opponents:
            row[ref] = {k: int(record[f"{ref}:{k}"]) for k in OUTCOMES}
        return row

    def summary(self) -> dict[str, Any]:
        """What `arena train` reports for a board-game run."""
        last = self.history[-1] if self.history else None
        return {"opponents": self.opponents, "games_per_opponent": self.games,
                "best_score": None if self.best_step is None else self.best_score,
                "best_step": self.best_step, "last": last, "evals": self.history}
