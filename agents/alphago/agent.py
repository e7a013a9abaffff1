"""`alphago:<run dir>[,sims=N,lambda=L]`: AlphaGo's search, on agents/alphazero/mcts.py.

The tree search is AlphaZero's PUCT (agents/alphazero/mcts.py); what makes
it AlphaGo's is the evaluator it is given, which returns for a batch of leaf
positions

- priors P(s, .) from the SL policy network (the paper found the SL policy,
  trained on varied human moves, a better prior than the sharper RL policy);
- the leaf value V(s) = (1 - lambda) * v(s) + lambda * z, where v is the
  value network and z the result of one fast rollout from s to the end of
  the game, both for the player to move at s.

The rollout policy: uniformly random legal moves that do not fill one's own
eye (an empty point whose neighbours on the board are all one's own stones),
passing when no other move is left. It plays a 9x9 game to the end in a few
milliseconds, where a policy-network rollout would cost ~100 forward passes
per leaf; the paper's rollout policy was likewise a tiny pattern-based
policy ~1000 times cheaper than its networks. Because eyes are never filled,
the final Tromp-Taylor count of a rollout is a fair score.

lambda = 0 (value network only) is the default: the value network trained
here judges positions far better than one random rollout, and the search
then costs no rollouts at all. The paper's lambda = 0.5 mixes in rollouts,
which pays with a strong rollout policy; set ``lambda=0.5`` to use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from agents.alphago.nets import POLICY, VALUE, load_net
from agents.alphazero.agent import AlphaZeroAgent
from agents.alphazero.mcts import SearchConfig
from agents.learner import resolve_device
from arena.errors import UserError
from games.go.state import GoState


class EyeAvoidingRollout:
    """Plays a position to the end with random moves that do not fill the mover's own eyes."""

    def __init__(self, size: int) -> None:
        self.size = size
        n = size
        neighbours = np.full((n * n, 4), n * n, dtype=np.int64)  # n*n: a virtual off-board point
        for a in range(n * n):
            r, c = divmod(a, n)
            for j, (dr, dc) in enumerate(((-1, 0), (1, 0), (0, -1), (0, 1))):
                if 0 <= r + dr < n and 0 <= c + dc < n:
                    neighbours[a, j] = (r + dr) * n + c + dc
        self.neighbours = neighbours

    def play_out(self, state: GoState, rng: np.random.Generator) -> GoState:
        """A copy of `state` played to its end."""
        s = state.copy()
        n2 = self.size * self.size
        padded = np.empty(n2 + 1, dtype=np.int8)
        while not s.is_terminal():
            padded[:n2] = s.board().reshape(-1)
            me = s.to_play + 1
            padded[n2] = me  # off the board counts as one's own for the eye test
            eye = (padded[self.neighbours] == me).all(1)
            candidates = np.flatnonzero(s.legal_mask()[:n2].astype(bool) & ~eye)
            s.play(int(candidates[rng.integers(len(candidates))]) if len(candidates) else n2)
        return s

    def __call__(self, state: GoState, rng: np.random.Generator) -> float:
        """The rollout's result (+1 win, -1 loss, 0 draw) for the player to move at `state`."""
        return float(self.play_out(state, rng).returns()[state.to_play])


class AlphaGoEvaluator:
    """(states) -> (SL-policy priors (B, A), (1 - lambda) v + lambda z (B,)), for MCTS."""

    def __init__(self, policy: torch.nn.Module, value: torch.nn.Module, features, lam: float,
                 rng: np.random.Generator, device: torch.device | str = "cpu") -> None:
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"lambda must be in 0..1, got {lam}")
        self.policy = policy.eval()
        self.value = value.eval()
        self.features = features
        self.lam = lam
        self.rng = rng
        self.device = device
        self.rollout = EyeAvoidingRollout(features.shape[1])
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
            values += self.lam * np.array([self.rollout(s, self.rng) for s in states],
                                          dtype=np.float32)
        self.positions += len(states)
        return priors, values


class AlphaGoAgent(AlphaZeroAgent):
    """MCTS with SL-policy priors and value-network (+ rollout) leaf values, from a run directory.

    `run` is an `arena train alphago` run directory (holding sl/ and value/);
    `lam` (``lambda=`` in references) mixes rollouts into the leaf values.
    The rest (tree reuse, most visited move, explain()) is AlphaZeroAgent's.
    """

    name = "alphago"

    def __init__(self, run: str, sims: int = 100, lam: float = 0.0, batch: int = 8,
                 c_init: float = 1.25, seed: int = 0, device: str = "auto") -> None:
        if sims < 1:
            raise ValueError(f"sims must be at least 1, got {sims}")
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"lambda must be in 0..1, got {lam}")
        directory = Path(run).expanduser()
        if (directory / "meta.json").is_file() and not (directory / "sl").is_dir():
            directory = directory.parent  # a run's last/ checkpoint names its run
        for part in ("sl", "value"):
            if not (directory / part / "meta.json").is_file():
                raise UserError(f"'{run}' is not an AlphaGo run directory with a trained "
                                f"{part}/ network (arena train alphago GAME)")
        torch_device = resolve_device(device)
        policy, self.features, self.meta = load_net(directory / "sl", POLICY, torch_device)
        value, value_features, _ = load_net(directory / "value", VALUE, torch_device)
        if value_features.shape != self.features.shape:
            raise UserError(f"'{run}': the value and SL networks see different inputs")
        self.checkpoint = directory
        self.lam = lam
        self.evaluator = AlphaGoEvaluator(policy, value, self.features, lam,
                                          np.random.default_rng(seed), torch_device)
        self.sims = sims
        self.batch = batch
        self.search_config = SearchConfig(sims=sims, c_init=c_init)
        self.tree = None
        self._searched = None
