"""The training state the AlphaGo stages (SL policy, RL policy, value network) keep in their
directories so that a killed run resumes where it stopped.

train_state.safetensors holds the network's weights under "net.<name>" and the optimizer's
tensors; train_state.json holds the optimizer's scalars under "optimizer", the numpy
generator's state under "rng", and whatever counters the stage adds. A stage writes them
with its network (nets.save_net, through checkpoint.save_checkpoint: every file atomic,
meta.json last) and reads them back with checkpoint.read_train_state.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.alphago.nets import new_net
from agents.checkpoint import (
    TRAIN_STATE_JSON,
    optimizer_from_tensors,
    optimizer_to_tensors,
    read_train_state,
)


def has_train_state(directory: Path) -> bool:
    """Whether `directory` holds a stage's training state to resume from."""
    return (Path(directory) / TRAIN_STATE_JSON).is_file()


def train_state(net: nn.Module, optimizer: torch.optim.Optimizer,
                fields: Callable[[dict[str, Any]], dict[str, Any]]
                ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, JSON) of a stage's training state, for nets.save_net: the net's weights
    and the optimizer; `fields(optimizer_json)` gives the JSON (the stage places
    "optimizer" and "rng" among its own counters)."""
    opt_tensors, opt_rest = optimizer_to_tensors(optimizer)
    tensors = {f"net.{k}": v for k, v in net.state_dict().items()}
    tensors.update(opt_tensors)
    return tensors, fields(opt_rest)


def restore_train_state(directory: Path, net: nn.Module, optimizer: torch.optim.Optimizer,
                        rng: np.random.Generator) -> dict[str, Any]:
    """Load what `train_state` saved into net, optimizer and rng; the JSON, for the
    stage's own counters."""
    tensors, state = read_train_state(Path(directory), counters=())
    net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
    optimizer_from_tensors(optimizer, tensors, state["optimizer"])
    rng.bit_generator.state = state["rng"]
    return state


class NetFitter:
    """What the SL policy's and the value network's trainers share: their directory, a fresh
    network of `settings.net` on `device` with Adam (settings.lr, settings.weight_decay), the
    gradient-step counter and a numpy generator of the stream (seed, stream)."""

    def __init__(self, directory: Path, game_id: str, features: Any, settings: Any,
                 device: torch.device, seed: int, stream: int) -> None:
        self.directory = Path(directory)
        self.game_id = game_id
        self.features = features
        self.settings = settings
        self.device = device
        with torch.random.fork_rng(devices=[]):  # the initial weights follow (seed, stream)
            torch.manual_seed(int(np.random.default_rng([seed, stream, 0]).integers(2**62)))
            self.net = new_net(features, settings.net).to(device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=settings.lr,
                                          weight_decay=settings.weight_decay)
        self.step = 0
        self.rng = np.random.default_rng([seed, stream])
