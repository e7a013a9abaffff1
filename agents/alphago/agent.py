"""`alphago:<run dir>[,sims=N,lambda=L,rollouts=K,time=S]`: AlphaGo's search, on agents/alphazero/puct.py.

The tree search is AlphaZero's PUCT (agents/alphazero/puct.py); what makes
it AlphaGo's is the evaluator it is given, which returns for a batch of leaf
positions

- priors P(s, .) from the SL policy network (the paper found the SL policy,
  trained on varied human moves, a better prior than the sharper RL policy);
- the leaf value V(s) = (1 - lambda) * v(s) + lambda * z, where v is the
  value network and z the result of one fast rollout from s to the end of
  the game, both for the player to move at s.

The rollout policy is compiled with the rules (``GoState.rollout``, in
games/go/_core.c): capture the last stone's group when it is in atari, save
one's own group that the last stone put in atari, capture other groups next
to it in atari, else a random legal move that fills none of one's own eyes
and puts no group of two or more stones into atari. It plays a 9x9 game to
the end in ~30 microseconds, where a policy-network rollout would cost ~100
forward passes; the paper's rollout policy was likewise a small pattern
policy about 1000 times cheaper than its networks. Because eyes are never
filled, the final Tromp-Taylor count of a rollout is a fair score.

lambda = 0 (value network only) is the default: the value network trained
here judges positions far better than one random rollout, and the search
then costs no rollouts at all. The paper's lambda = 0.5 mixes in rollouts,
which pays with a strong rollout policy; set ``lambda=0.5`` to use them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.alphago.nets import POLICY, VALUE, load_net
from agents.alphazero.agent import AlphaZeroAgent
from agents.alphazero.puct import SearchConfig
from agents.base import ThinkingClock
from agents.learner import resolve_device
from games.errors import UserError
from games.go.state import GoState


class AlphaGoEvaluator:
    """(states) -> (SL-policy priors (B, A), (1 - lambda) v + lambda z (B,)), for MCTS."""

    def __init__(self, policy: torch.nn.Module, value: torch.nn.Module, features, lam: float,
                 rng: np.random.Generator, device: torch.device | str = "cpu",
                 rollouts: int = 1) -> None:
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"lambda must be in 0..1, got {lam}")
        if rollouts < 1:
            raise ValueError(f"rollouts must be at least 1, got {rollouts}")
        self.policy = policy.eval()
        self.value = value.eval()
        self.features = features
        self.lam = lam
        self.rng = rng
        self.device = device
        self.rollouts = rollouts  # playouts averaged into each leaf's z
        self.positions = 0

    @torch.inference_mode()
    def __call__(self, states: Sequence[GoState]) -> tuple[np.ndarray, np.ndarray]:
        x = torch.from_numpy(self.features.encode_batch(list(states))).to(self.device)
        logits, _ = self.policy(x)
        priors = torch.softmax(logits.float(), 1).cpu().numpy()
        values = np.zeros(len(states), dtype=np.float32)
        if self.lam < 1.0:
            values += (1.0 - self.lam) * self.value(x)[1].float().cpu().numpy()
        if self.lam > 0.0:
            seeds = self.rng.integers(2**63, size=len(states))
            values += self.lam * np.array(
                [s.rollout(count=self.rollouts, seed=int(seed)) for s, seed in zip(states, seeds)],
                dtype=np.float32)
        self.positions += len(states)
        return priors, values


PLAY_DEFAULTS = {"sims": 100, "lam": 0.0, "rollouts": 1}


def run_play_settings(directory: Path) -> dict[str, Any]:
    """sims, lam and rollouts from the run's last/meta.json config, else PLAY_DEFAULTS."""
    settings = dict(PLAY_DEFAULTS)
    from games.inputs import read_bounded

    try:  # bounded: a meta.json past 16 MB (or endless) is refused, not read whole
        config = json.loads(read_bounded(directory / "last" / "meta.json",
                                         "JSON metadata")).get("config", {})
    except (OSError, ValueError, AttributeError):
        return settings
    for key, default in PLAY_DEFAULTS.items():
        value = config.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            settings[key] = type(default)(value)
    return settings


class AlphaGoAgent(AlphaZeroAgent):
    """MCTS with SL-policy priors and value-network (+ rollout) leaf values, from a run directory.

    `run` is an `arena train alphago` run directory (holding sl/ and value/);
    `lam` (``lambda=`` in references) mixes rollouts into the leaf values.
    The rest (tree reuse, most visited move, explain()) is AlphaZeroAgent's.
    """

    name = "alphago"

    def __init__(self, run: str, sims: int | None = None, lam: float | None = None,
                 rollouts: int | None = None, batch: int = 8, c_init: float = 1.25,
                 seed: int = 0, device: str = "auto", time: float | None = None) -> None:
        directory = Path(run).expanduser()
        if (directory / "meta.json").is_file() and not (directory / "sl").is_dir():
            directory = directory.parent  # a run's last/ checkpoint names its run
        for part in ("sl", "value"):
            if not (directory / part / "meta.json").is_file():
                raise UserError(f"'{run}' is not an AlphaGo run directory with a trained "
                                f"{part}/ network (arena train alphago GAME)")
        # Unset play settings are the run's own (its preset's, or a shipped model's).
        played = run_play_settings(directory)
        sims = played["sims"] if sims is None else sims
        lam = played["lam"] if lam is None else lam
        rollouts = played["rollouts"] if rollouts is None else rollouts
        if sims < 1:
            raise ValueError(f"sims must be at least 1, got {sims}")
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        torch_device = resolve_device(device)
        policy, self.features, self.meta = load_net(directory / "sl", POLICY, torch_device)
        value, value_features, _ = load_net(directory / "value", VALUE, torch_device)
        if value_features.shape != self.features.shape:
            raise UserError(f"'{run}': the value and SL networks see different inputs")
        self.checkpoint = directory
        self.lam = lam
        self.rollouts = rollouts
        self.evaluator = AlphaGoEvaluator(policy, value, self.features, lam,
                                          np.random.default_rng(seed), torch_device, rollouts)
        self.sims = sims
        self.batch = batch
        self.search_config = SearchConfig(sims=sims, c_init=c_init)
        self.clock = ThinkingClock(time)
        self.tree = None
        self._searched = None
