"""Stage 4: the value network v(s), trained on ONE position per self-play game.

Successive positions of one game are strongly correlated and share one
outcome, so a value network trained on whole games memorises outcomes
instead of judging positions. AlphaGo therefore took a single position from
each of millions of games, and so does this stage:

1. draw U uniformly from 0..`max_u`-1;
2. play the RL policy against itself for U moves;
3. play one uniformly random legal move (position s_{U+1} is off the
   policy's own track, which widens what the network sees);
4. keep s_{U+1}, then let the RL policy play on to the end;
5. the target is the final result z (+1/-1) for the player to move at s_{U+1}.

A game that ends before its U is dropped. Positions are made in lockstep
batches and appended to value/data-*.safetensors, so the stage resumes.
The network minimises the mean squared error (v(s) - z)^2 under random
board symmetries (v does not change with them); the figure is the held-out
MSE next to the trivial predictor's: always the training targets' mean.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from agents.alphago.nets import VALUE, play_lockstep, sample_moves, save_net
from agents.alphago.rl import new_games
from agents.alphago.stage_state import (
    NetFitter,
    has_train_state,
    restore_train_state,
    train_state,
)
from agents.alphazero.network import NetConfig, PolicyValueNet
from agents.checkpoint import atomic_save_tensors, load_tensors
from games.features import GameFeatures
from games.go.state import GoState
from games.symmetry import transform_planes


@dataclass
class ValueSettings:
    games: int  # self-play games, each giving at most one position
    batch_games: int  # games played in lockstep at once
    max_u: int  # U is drawn from 0..max_u-1
    steps: int  # gradient steps
    batch: int
    lr: float
    weight_decay: float
    holdout_every: int
    max_moves: int
    net: NetConfig
    history: int


def value_positions(policy: PolicyValueNet, features: GameFeatures, games: int, max_u: int,
                    rng: np.random.Generator, max_moves: int,
                    device: torch.device | str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """(planes uint8 (K, C, n, n), z float32 (K,)): one position per game that reaches its U."""
    size = features.shape[1]
    states = new_games(size, games, max_moves)
    u = rng.integers(0, max_u, games)
    kept: dict[int, tuple[np.ndarray, int]] = {}  # game -> (planes of s_{U+1}, its mover)

    def choose(idx: list[int], batch: list[GoState], colour: int) -> list[int]:
        moves = sample_moves(policy, features, batch, rng, device=device)
        for k, i in enumerate(idx):
            if batch[k].moves_played == u[i]:
                legal = batch[k].legal_actions()
                moves[k] = int(legal[rng.integers(len(legal))])
        return moves

    def on_move(i: int, state: GoState, action: int) -> None:
        if state.moves_played == u[i]:
            after = state.copy()
            after.play(action)
            if not after.is_terminal():
                kept[i] = (features.encode(after).astype(np.uint8), after.to_play)

    play_lockstep(states, choose, on_move)
    order = sorted(kept)
    if not order:
        c, h, w = features.shape
        return np.zeros((0, c, h, w), np.uint8), np.zeros(0, np.float32)
    planes = np.stack([kept[i][0] for i in order])
    z = np.array([states[i].returns()[kept[i][1]] for i in order], dtype=np.float32)
    return planes, z


class ValueTrainer(NetFitter):
    """Makes the positions, then fits the value network; resumable from its directory (value/)."""

    settings: ValueSettings

    def __init__(self, directory: Path, game_id: str, features: GameFeatures,
                 settings: ValueSettings, device: torch.device, seed: int) -> None:
        super().__init__(directory, game_id, features, settings, device, seed, stream=4)
        self.games_played = 0
        self.chunks: list[str] = []
        self._data: tuple[np.ndarray, np.ndarray] | None = None
        if has_train_state(self.directory):
            self._restore()

    # -- positions ------------------------------------------------------------------------

    def generate(self, policy: PolicyValueNet, until_games: int,
                 tick: Callable[[int], bool]) -> None:
        """Play games (in lockstep batches) until `until_games`; each batch is a data file."""
        s = self.settings
        while self.games_played < until_games:
            count = min(s.batch_games, until_games - self.games_played)
            planes, z = value_positions(policy, self.features, count, s.max_u, self.rng,
                                        s.max_moves, self.device)
            name = f"data-{len(self.chunks):05d}.safetensors"
            atomic_save_tensors(self.directory / name, {"planes": torch.from_numpy(planes),
                                                        "z": torch.from_numpy(z)})
            self.chunks.append(name)
            self.games_played += count
            self._data = None
            self.save()
            if not tick(self.games_played):
                return

    def data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(planes, z, held-out mask) of every position made so far."""
        if self._data is None:
            parts = [load_tensors(self.directory / name) for name in self.chunks]
            c, h, w = self.features.shape
            planes = (np.concatenate([p["planes"].numpy() for p in parts])
                      if parts else np.zeros((0, c, h, w), np.uint8))
            z = np.concatenate([p["z"].numpy() for p in parts]) if parts else np.zeros(0)
            self._data = (planes, z.astype(np.float32))
        planes, z = self._data
        held = np.arange(len(z)) % self.settings.holdout_every == self.settings.holdout_every - 1
        return planes, z, held

    # -- fitting --------------------------------------------------------------------------

    def train(self, until: int, tick: Callable[[int, float], bool]) -> None:
        """MSE gradient steps on the training positions until `until`; tick False stops."""
        s = self.settings
        planes, z, held = self.data()
        train_idx = np.flatnonzero(~held)
        if len(train_idx) == 0:
            self.step = until
            return
        self.net.train()
        while self.step < until:
            idx = train_idx[self.rng.integers(0, len(train_idx), s.batch)]
            k = int(self.rng.integers(8))
            x = torch.from_numpy(np.ascontiguousarray(
                transform_planes(planes[idx], k)).astype(np.float32)).to(self.device)
            _, v = self.net(x)
            loss = F.mse_loss(v, torch.from_numpy(z[idx]).to(self.device))
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.step += 1
            if not tick(self.step, float(loss.detach())):
                break
        self.net.eval()

    @torch.inference_mode()
    def evaluate(self) -> dict[str, float]:
        """Held-out MSE of the network and of the trivial predictor (the training mean)."""
        planes, z, held = self.data()
        self.net.eval()
        if held.sum() == 0 or (~held).sum() == 0:
            return {"mse": float("nan"), "trivial_mse": float("nan"), "positions": len(z)}
        preds = []
        for start in range(0, int(held.sum()), 512):
            x = planes[held][start:start + 512].astype(np.float32)
            preds.append(self.net(torch.from_numpy(x).to(self.device))[1].cpu().numpy())
        pred = np.concatenate(preds)
        mean = float(z[~held].mean())
        return {"mse": float(np.mean((pred - z[held]) ** 2)),
                "trivial_mse": float(np.mean((mean - z[held]) ** 2)),
                "train_positions": int((~held).sum()), "held_out_positions": int(held.sum())}

    # -- checkpoint -----------------------------------------------------------------------

    def _restore(self) -> None:
        state = restore_train_state(self.directory, self.net, self.optimizer, self.rng)
        self.games_played = int(state["games_played"])
        self.chunks = list(state["chunks"])
        self.step = int(state["step"])

    def save(self, extra: dict[str, Any] | None = None) -> None:
        save_net(self.directory, self.net, VALUE, self.game_id, self.settings.history,
                 dict(extra or {}, stage="value", steps=self.step, games=self.games_played),
                 train_state(self.net, self.optimizer, lambda opt: {
                     "games_played": self.games_played, "chunks": self.chunks,
                     "step": self.step, "optimizer": opt, "rng": self.rng.bit_generator.state}))
