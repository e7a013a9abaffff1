"""Evaluators: positions -> (priors over all actions, value for the side to move).

- `TorchEvaluator` runs the network on a whole batch of positions in one
  forward pass (on the GPU when there is one) and keeps time: how long
  encoding took and how long the network itself took.
- `UniformEvaluator` is free: uniform priors, value 0. With it, a search
  costs only the search, which is how the search's own speed is measured.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch

from agents.alphazero.network import PolicyValueNet
from games.features import GameFeatures
from games.state import GameState


class UniformEvaluator:
    """Uniform priors and value 0 for every position (no network)."""

    def __init__(self, num_actions: int) -> None:
        self.num_actions = num_actions
        self.positions = 0

    def __call__(self, states: Sequence[GameState]) -> tuple[np.ndarray, np.ndarray]:
        self.positions += len(states)
        n = len(states)
        return np.ones((n, self.num_actions), dtype=np.float32), np.zeros(n, dtype=np.float32)


class TorchEvaluator:
    """The network on a batch of positions: one forward pass per call, in eval mode.

    Priors are the softmax over all actions (the search keeps the legal ones
    and renormalises, which equals a softmax over the legal moves). The
    timers `encode_s` and `net_s` add up the wall time of each part;
    on CUDA the result's copy back to the host waits for the GPU, so net_s
    includes the GPU's work.
    """

    def __init__(self, net: PolicyValueNet, features: GameFeatures,
                 device: torch.device | str = "cpu") -> None:
        self.net = net.to(device).eval()
        self.features = features
        self.device = torch.device(device)
        self.calls = 0
        self.positions = 0
        self.encode_s = 0.0
        self.net_s = 0.0

    def __call__(self, states: Sequence[GameState]) -> tuple[np.ndarray, np.ndarray]:
        t0 = time.perf_counter()
        planes = self.features.encode_batch(list(states))
        t1 = time.perf_counter()
        priors, values = self.evaluate_planes(planes)
        self.encode_s += t1 - t0
        self.net_s += time.perf_counter() - t1
        self.calls += 1
        self.positions += len(states)
        return priors, values

    @torch.inference_mode()
    def evaluate_planes(self, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(priors (B, A) float32, values (B,) float32) for encoded planes (B, C, H, W)."""
        x = torch.from_numpy(planes).to(self.device, non_blocking=True)
        logits, values = self.net(x)
        priors = torch.softmax(logits.float(), dim=1)
        return priors.cpu().numpy(), values.float().cpu().numpy()

    def reset_timers(self) -> None:
        self.calls = self.positions = 0
        self.encode_s = self.net_s = 0.0
