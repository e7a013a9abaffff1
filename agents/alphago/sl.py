"""Stage 2: the supervised-learning (SL) policy network.

The SL policy learns to predict the expert's move: each position of every
GnuGo game in the dataset (after the game's random opening moves, which are
not GnuGo's) paired with the move GnuGo played there. The loss is the
cross-entropy of the softmax over the legal moves,

    L = -log p(a_expert | s),

minimised by Adam on minibatches, each under one random board symmetry of
the eight (the expert's move rotates with the board). Games, not positions,
are split between training and held-out (every `holdout_every`-th game), so
held-out positions come from games the network never saw. The figure is the
top-1 accuracy on held-out positions: how often the most probable legal move
is GnuGo's, next to two trivial predictors: a uniformly random legal move,
and the legal move GnuGo plays most often on the training games.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from agents.alphago.data import opening_length
from agents.alphago.nets import POLICY, action_maps, save_net, symmetric_batch
from agents.alphago.stage_state import (
    NetFitter,
    has_train_state,
    restore_train_state,
    train_state,
)
from agents.alphazero.network import NetConfig, PolicyValueNet
from games.errors import UserError
from games.features import GameFeatures
from games.go.sgf import read_sgf


@dataclass
class Positions:
    """Expert positions: planes (uint8), the expert's action, the legal mask, the game number."""

    planes: np.ndarray  # (N, C, n, n) uint8
    actions: np.ndarray  # (N,) int64
    legal: np.ndarray  # (N, A) bool
    games: np.ndarray  # (N,) int32

    def __len__(self) -> int:
        return len(self.actions)

    def subset(self, keep: np.ndarray) -> Positions:
        return Positions(self.planes[keep], self.actions[keep], self.legal[keep], self.games[keep])


def load_positions(dataset: Path, features: GameFeatures, max_games: int | None = None
                   ) -> Positions:
    """Every expert position of the SGF files in `dataset` (sorted by name; the first `max_games`)."""
    files = sorted(Path(dataset).glob("game-*.sgf"))
    if max_games is not None:
        files = files[:max_games]
    if not files:
        raise UserError(f"dataset '{dataset}' holds no game-*.sgf files "
                        f"(make one with: arena data gnugo)")
    n = features.shape[1]
    planes, actions, legal, games = [], [], [], []
    for number, path in enumerate(files):
        game = read_sgf(path)
        if game.size != n:
            raise UserError(f"{path}: a {game.size}x{game.size} game in a dataset for "
                            f"{features.game_id}")
        skip = opening_length(path)
        state = game.initial_state()
        for ply, (colour, action) in enumerate(game.moves):
            if state.is_terminal():
                break
            if ply >= skip and state.to_play == colour:
                planes.append(features.encode(state).astype(np.uint8))
                actions.append(action)
                legal.append(state.legal_mask().astype(bool))
                games.append(number)
            state.play_as(action, colour)
    if not actions:
        raise UserError(f"dataset '{dataset}' holds no expert moves")
    return Positions(np.stack(planes), np.asarray(actions, dtype=np.int64), np.stack(legal),
                     np.asarray(games, dtype=np.int32))


def split(positions: Positions, holdout_every: int) -> tuple[Positions, Positions]:
    """(training, held-out): game g is held out when g % holdout_every == holdout_every - 1."""
    held = positions.games % holdout_every == holdout_every - 1
    return positions.subset(~held), positions.subset(held)


@torch.inference_mode()
def policy_accuracy(net: PolicyValueNet, positions: Positions, device: torch.device | str = "cpu",
                    batch: int = 512) -> float:
    """Top-1 accuracy: the share of positions whose most probable legal move is the expert's."""
    net.eval()
    hits = 0
    for start in range(0, len(positions), batch):
        x = torch.from_numpy(positions.planes[start:start + batch].astype(np.float32)).to(device)
        logits, _ = net(x)
        legal = torch.from_numpy(positions.legal[start:start + batch]).to(device)
        guess = logits.masked_fill(~legal, float("-inf")).argmax(1).cpu().numpy()
        hits += int((guess == positions.actions[start:start + batch]).sum())
    return hits / max(len(positions), 1)


def baselines(train: Positions, held: Positions) -> dict[str, float]:
    """Held-out accuracy of the trivial predictors: a uniform legal move; the most frequent one."""
    uniform = float(np.mean(1.0 / held.legal.sum(1)))
    counts = np.bincount(train.actions, minlength=train.legal.shape[1]).astype(np.float64)
    scores = np.where(held.legal, counts[None, :] + 1e-9 * np.arange(len(counts))[None, :], -1.0)
    frequent = float(np.mean(scores.argmax(1) == held.actions))
    return {"uniform_legal": uniform, "most_frequent": frequent}


@dataclass
class SLSettings:
    steps: int
    batch: int
    lr: float
    weight_decay: float
    net: NetConfig
    history: int


class SLTrainer(NetFitter):
    """The SL policy's training: resumable from its directory (sl/)."""

    settings: SLSettings

    def __init__(self, directory: Path, game_id: str, features: GameFeatures,
                 settings: SLSettings, device: torch.device, seed: int) -> None:
        super().__init__(directory, game_id, features, settings, device, seed, stream=2)
        self.maps = action_maps(features.shape[1])
        self.losses: list[float] = []
        if has_train_state(self.directory):
            self._restore()

    def _restore(self) -> None:
        state = restore_train_state(self.directory, self.net, self.optimizer, self.rng)
        self.step = int(state["step"])

    def save(self, extra: dict[str, Any] | None = None) -> None:
        """The playable policy (model + meta.json) and the training state, atomically each."""
        save_net(self.directory, self.net, POLICY, self.game_id, self.settings.history,
                 dict(extra or {}, stage="sl", steps=self.step),
                 train_state(self.net, self.optimizer, lambda opt: {
                     "step": self.step, "optimizer": opt, "rng": self.rng.bit_generator.state}))

    def train(self, data: Positions, until: int, tick: Callable[[int, float], bool]) -> None:
        """Gradient steps until `until`; `tick(step, loss)` after each, False stops."""
        s = self.settings
        self.net.train()
        while self.step < until:
            idx = self.rng.integers(0, len(data), s.batch)
            k = int(self.rng.integers(8))
            planes, actions = symmetric_batch(data.planes[idx], data.actions[idx], k, self.maps)
            legal = self._transform_mask(data.legal[idx], k)
            x = torch.from_numpy(planes.astype(np.float32)).to(self.device)
            logits, _ = self.net(x)
            logits = logits.masked_fill(~torch.from_numpy(legal).to(self.device), -1e9)
            loss = F.cross_entropy(logits, torch.from_numpy(actions).to(self.device))
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.step += 1
            value = float(loss.detach())
            self.losses.append(value)
            if not tick(self.step, value):
                break
        self.net.eval()

    def _transform_mask(self, legal: np.ndarray, k: int) -> np.ndarray:
        """Legal masks (B, A) under symmetry k: mask'[map[a]] = mask[a]."""
        out = np.empty_like(legal)
        out[:, self.maps[k]] = legal
        return out
