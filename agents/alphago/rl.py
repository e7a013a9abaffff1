"""Stage 3: the reinforcement-learning (RL) policy network, by REINFORCE self-play.

The RL policy starts as a copy of the SL policy and plays whole games
against opponents drawn at random from a pool of its own earlier snapshots
(the SL policy is the first; a snapshot joins every `snapshot_every`
iterations). Drawing from a pool rather than always playing the latest
policy keeps it from overfitting to one opponent.

One iteration plays `games` games in lockstep against one opponent, the
learner black in half of them and white in the other half, both sides
sampling their moves from their policies. At the end each game gives the
learner z = +1 (win) or -1 (loss), from the mover's view at every one of its
moves, and the policy follows the REINFORCE gradient

    delta rho  ~  1/n  sum_games  sum_t  z * grad log p_rho(a_t | s_t),

i.e. minimises  L = -1/n sum z log p(a_t|s_t) over the learner's moves: the
moves of won games become more likely, those of lost games less. Batch norm
stays in eval mode (its statistics are the SL policy's), so the policy that
plays is exactly the one whose log-probabilities are differentiated.

The figure is the RL policy's win rate against the SL policy (both
sampling, colours alternating), with a 95% interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.alphago.nets import POLICY, masked_logits, play_lockstep, sample_moves, save_net
from agents.alphago.stage_state import has_train_state, restore_train_state, train_state
from agents.alphazero.network import PolicyValueNet
from agents.checkpoint import atomic_save_tensors, load_tensors
from agents.stats import mean_ci95
from games.features import GameFeatures
from games.go.state import GoState

POOL = "pool"


@dataclass
class RLSettings:
    iterations: int
    games: int  # per iteration, against one opponent
    lr: float
    snapshot_every: int
    max_moves: int  # move cap of a self-play game (plies); 0 is the engine's default
    history: int


@dataclass
class Trajectories:
    """The learner's moves of a batch of games and each game's outcome for the learner."""

    planes: np.ndarray  # (M, C, n, n) float32
    actions: np.ndarray  # (M,) int64
    legal: np.ndarray  # (M, A) bool
    game: np.ndarray  # (M,) int64: which game each move belongs to
    z: np.ndarray  # (G,) float32: +1 learner won, -1 lost, 0 draw


def new_games(size: int, count: int, max_moves: int) -> list[GoState]:
    return [GoState(size, 7.5, False, max_moves or None) for _ in range(count)]


def play_games(nets: tuple[PolicyValueNet, PolicyValueNet], features: GameFeatures,
               learner_colour: list[int], rng: np.random.Generator, max_moves: int,
               record: bool = True, device: torch.device | str = "cpu"
               ) -> tuple[list[GoState], Trajectories | None]:
    """Games between nets[0] (the learner) and nets[1], the learner playing learner_colour[g].

    Both sample their moves. With `record`, returns the learner's moves too.
    """
    size = features.shape[1]
    states = new_games(size, len(learner_colour), max_moves)
    planes: list[np.ndarray] = []
    actions: list[int] = []
    legal: list[np.ndarray] = []
    game: list[int] = []

    def choose(idx: list[int], batch: list[GoState], colour: int) -> list[int]:
        moves = [0] * len(idx)
        for who in (0, 1):
            mine = [k for k, i in enumerate(idx) if (learner_colour[i] == colour) == (who == 0)]
            if not mine:
                continue
            picked = sample_moves(nets[who], features, [batch[k] for k in mine], rng,
                                  device=device)
            for k, a in zip(mine, picked, strict=True):
                moves[k] = a
                if who == 0 and record:
                    planes.append(features.encode(batch[k]))
                    actions.append(a)
                    legal.append(batch[k].legal_mask().astype(bool))
                    game.append(idx[k])
        return moves

    play_lockstep(states, choose)
    if not record:
        return states, None
    z = np.array([s.returns()[c] for s, c in zip(states, learner_colour, strict=True)],
                 dtype=np.float32)
    traj = Trajectories(np.stack(planes), np.asarray(actions, dtype=np.int64), np.stack(legal),
                        np.asarray(game, dtype=np.int64), z)
    return states, traj


def reinforce_loss(net: PolicyValueNet, traj: Trajectories, device: torch.device | str = "cpu",
                   chunk: int = 1024) -> float:
    """Back-propagate L = -1/G sum_moves z_game log p(a|s) through `net`; returns L's value.

    Done in chunks of moves so that memory stays flat; gradients accumulate.
    """
    games = max(len(traj.z), 1)
    total = 0.0
    weights = traj.z[traj.game] / games
    for start in range(0, len(traj.actions), chunk):
        sl = slice(start, start + chunk)
        logits = masked_logits(net, traj.planes[sl], traj.legal[sl], device)
        logp = torch.log_softmax(logits, 1)
        chosen = logp.gather(1, torch.from_numpy(traj.actions[sl]).to(device)[:, None]).squeeze(1)
        loss = -(torch.from_numpy(weights[sl]).to(device) * chosen).sum()
        loss.backward()
        total += float(loss.detach())
    return total


def win_rate(a: PolicyValueNet, b: PolicyValueNet, features: GameFeatures, games: int,
             rng: np.random.Generator, max_moves: int, device: torch.device | str = "cpu",
             batch: int = 64) -> dict[str, float]:
    """Policy a against policy b over `games` games (a black in the even ones), both sampling.

    Returns a's win rate, its 95% interval half-width, and the counts.
    """
    outcomes: list[float] = []
    for start in range(0, games, batch):
        colours = [g % 2 for g in range(start, min(start + batch, games))]
        states, _ = play_games((a, b), features, colours, rng, max_moves, record=False,
                               device=device)
        outcomes += [1.0 if s.returns()[c] > 0 else 0.0 for s, c in zip(states, colours,
                                                                         strict=True)]
    mean, ci = mean_ci95(outcomes)
    return {"win_rate": mean, "ci95": ci, "games": games, "wins": int(sum(outcomes))}


class RLTrainer:
    """REINFORCE against a pool of snapshots; resumable from its directory (rl/)."""

    def __init__(self, directory: Path, game_id: str, features: GameFeatures,
                 sl_net: PolicyValueNet, settings: RLSettings, device: torch.device,
                 seed: int) -> None:
        self.directory = Path(directory)
        self.game_id = game_id
        self.features = features
        self.settings = settings
        self.device = device
        self.net = _copy(sl_net, device)
        self.opponent = _copy(sl_net, device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=settings.lr)
        self.iteration = 0
        self.pool: list[str] = []
        self.rng = np.random.default_rng([seed, 3])
        self.history: list[dict[str, float]] = []
        if has_train_state(self.directory):
            self._restore()
        else:
            self._snapshot()  # the SL policy is the pool's first member

    def _snapshot(self) -> None:
        name = f"snap-{self.iteration:06d}.safetensors"
        atomic_save_tensors(self.directory / POOL / name, _weights(self.net))
        if name not in self.pool:
            self.pool.append(name)

    def _restore(self) -> None:
        state = restore_train_state(self.directory, self.net, self.optimizer, self.rng)
        self.iteration = int(state["iteration"])
        self.pool = list(state["pool"])
        self.history = list(state.get("history", []))

    def save(self, extra: dict[str, Any] | None = None) -> None:
        """The playable policy (model + meta.json) with the training state."""
        save_net(self.directory, self.net, POLICY, self.game_id, self.settings.history,
                 dict(extra or {}, stage="rl", iterations=self.iteration, pool=len(self.pool)),
                 train_state(self.net, self.optimizer, lambda opt: {
                     "iteration": self.iteration, "pool": self.pool, "optimizer": opt,
                     "rng": self.rng.bit_generator.state, "history": self.history[-1000:]}))

    def iterate(self) -> dict[str, float]:
        """One iteration: a batch of games against a random pool member, one policy step."""
        s = self.settings
        name = self.pool[int(self.rng.integers(len(self.pool)))]
        self.opponent.load_state_dict(load_tensors(self.directory / POOL / name))
        self.opponent.eval()
        self.net.eval()  # batch norm frozen: see the module's docstring
        colours = [g % 2 for g in range(s.games)]
        _, traj = play_games((self.net, self.opponent), self.features, colours, self.rng,
                             s.max_moves, device=self.device)
        assert traj is not None
        self.optimizer.zero_grad(set_to_none=True)
        loss = reinforce_loss(self.net, traj, self.device)
        self.optimizer.step()
        self.iteration += 1
        if self.iteration % s.snapshot_every == 0:
            self._snapshot()
        row = {"iteration": self.iteration, "loss": loss, "win_rate": float(np.mean(traj.z > 0)),
               "moves": float(len(traj.actions)), "opponent": float(self.pool.index(name))}
        self.history.append(row)
        return row

    def train(self, until: int, tick: Callable[[int, dict[str, float]], bool]) -> None:
        """Iterations until `until` (saving after each); `tick(iteration, row)` False stops."""
        while self.iteration < until:
            row = self.iterate()
            self.save()
            if not tick(self.iteration, row):
                break


def _weights(net: PolicyValueNet) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous().clone() for k, v in net.state_dict().items()}


def _copy(net: PolicyValueNet, device: torch.device | str) -> PolicyValueNet:
    twin = PolicyValueNet(net.shape, net.num_actions, net.config)
    twin.load_state_dict(_weights(net))
    return twin.to(device).eval()
