"""The residual policy+value network of AlphaGo Zero, sized per game.

    planes (B, C, H, W)
      -> conv3x3 + BN + ReLU                      (the stem)
      -> `blocks` x [conv3x3 BN ReLU conv3x3 BN, + skip, ReLU]
      -> policy head: conv1x1 (2) BN ReLU, flatten, linear -> num_actions logits
      -> value head:  conv1x1 (1) BN ReLU, flatten, linear -> hidden, ReLU,
                      linear -> 1, tanh           (value in [-1, 1] for the side to move)

The policy head's final linear layer maps the board features to every
action of the game, so Go gets n*n points + pass and connect four its 7
columns from the same code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from agents.checkpoint import (META, MODEL, field_int, field_mapping, load_tensors, read_meta,
                               save_checkpoint)
from games.errors import UserError
from games.features import GameFeatures, game_features


@dataclass(frozen=True)
class NetConfig:
    """The network's size: residual blocks, channels, value head width."""

    blocks: int = 4
    channels: int = 64
    value_hidden: int = 64

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: The default network per game: big enough to learn the game, small enough for a laptop.
DEFAULT_NETS: dict[str, NetConfig] = {
    "tictactoe": NetConfig(blocks=2, channels=32, value_hidden=32),
    "connect4": NetConfig(blocks=5, channels=64, value_hidden=64),
    "go5": NetConfig(blocks=4, channels=64, value_hidden=64),
    "go7": NetConfig(blocks=5, channels=64, value_hidden=64),
    "go9": NetConfig(blocks=6, channels=64, value_hidden=128),
    "go13": NetConfig(blocks=10, channels=128, value_hidden=256),
    "go19": NetConfig(blocks=20, channels=256, value_hidden=256),
}


def net_parameters(shape: tuple[int, ...], num_actions: int, config: NetConfig) -> int:
    """How many parameters PolicyValueNet(shape, num_actions, config) has, without building it."""
    c_in, h, w = (int(d) for d in shape)
    ch, vh = int(config.channels), int(config.value_hidden)
    stem = c_in * ch * 9 + 2 * ch
    tower = int(config.blocks) * 2 * (ch * ch * 9 + 2 * ch)
    policy = ch * 2 + 4 + 2 * h * w * num_actions + num_actions
    value = ch + 2 + h * w * vh + vh + vh + 1
    return stem + tower + policy + value


def check_net_size(shape: tuple[int, ...], num_actions: int, config: NetConfig) -> None:
    """UserError when the network is over agents/nets.py MAX_PARAMETERS."""
    from agents.nets import check_parameters

    check_parameters(net_parameters(shape, num_actions, config),
                     f"net blocks={config.blocks}, channels={config.channels}, "
                     f"value_hidden={config.value_hidden}")


def net_config_from_meta(meta: dict[str, Any], path: Path, features: GameFeatures) -> NetConfig:
    """meta['net'] as a NetConfig, each size a whole number in range and the whole network
    within the parameter limit, checked before anything is built; UserError naming `path`."""
    values = field_mapping(meta, "net", path, default={})
    known = {"blocks", "channels", "value_hidden"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UserError(f"'{path}': field 'net': unknown size {unknown[0]!r:.60} "
                        f"(known: {', '.join(sorted(known))})")
    base = NetConfig()
    config = NetConfig(
        blocks=field_int(values, "blocks", path, minimum=0, maximum=1000, default=base.blocks),
        channels=field_int(values, "channels", path, minimum=1, maximum=1_000_000,
                           default=base.channels),
        value_hidden=field_int(values, "value_hidden", path, minimum=1, maximum=1_000_000,
                               default=base.value_hidden))
    try:
        check_net_size(features.shape, features.num_actions, config)
    except UserError as exc:
        raise UserError(f"'{path}': field 'net': {exc}") from None
    return config


def default_net(game_id: str) -> NetConfig:
    """The default NetConfig for a game (the go9 one for Go sizes not listed)."""
    return DEFAULT_NETS.get(game_id, DEFAULT_NETS["go9"])


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a skip connection."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(x + y)


class PolicyValueNet(nn.Module):
    """planes (B, C, H, W) -> (policy logits (B, num_actions), value (B,) in [-1, 1])."""

    def __init__(self, shape: tuple[int, int, int], num_actions: int,
                 config: NetConfig = NetConfig()) -> None:
        super().__init__()
        check_net_size(shape, num_actions, config)  # before anything is allocated
        c_in, h, w = shape
        ch = config.channels
        self.shape = tuple(shape)
        self.num_actions = num_actions
        self.config = config
        self.stem = nn.Sequential(nn.Conv2d(c_in, ch, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(ch), nn.ReLU())
        self.tower = nn.Sequential(*(ResidualBlock(ch) for _ in range(config.blocks)))
        self.policy_conv = nn.Sequential(nn.Conv2d(ch, 2, 1, bias=False), nn.BatchNorm2d(2), nn.ReLU())
        self.policy_fc = nn.Linear(2 * h * w, num_actions)
        self.value_conv = nn.Sequential(nn.Conv2d(ch, 1, 1, bias=False), nn.BatchNorm2d(1), nn.ReLU())
        self.value_fc = nn.Sequential(nn.Linear(h * w, config.value_hidden), nn.ReLU(),
                                      nn.Linear(config.value_hidden, 1))

    @classmethod
    def for_game(cls, features: GameFeatures, config: NetConfig | None = None) -> PolicyValueNet:
        """A fresh network for a game (its default size unless `config` is given)."""
        return cls(features.shape, features.num_actions, config or default_net(features.game_id))

    def forward(self, planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.tower(self.stem(planes))
        logits = self.policy_fc(self.policy_conv(x).flatten(1))
        value = torch.tanh(self.value_fc(self.value_conv(x).flatten(1))).squeeze(1)
        return logits, value


def save_net(directory: Path, net: PolicyValueNet, game_id: str,
             extra: dict[str, Any] | None = None,
             train_state: tuple[dict[str, torch.Tensor], dict[str, Any]] | None = None) -> None:
    """Write a checkpoint (checkpoint.save_checkpoint): model.safetensors, the training
    state `train_state` (tensors, JSON) when given, then meta.json (algo 'alphazero').

    meta.json records the game, the net config and the input shape; `extra`
    (steps, hyperparameters...) is merged in. Every write is atomic.
    """
    meta: dict[str, Any] = {"algo": "alphazero", "game": game_id, "net": net.config.to_dict(),
                            "input_shape": list(net.shape), "num_actions": net.num_actions}
    meta.update(extra or {})
    tensors, state = train_state or (None, None)
    save_checkpoint(Path(directory), meta, net.state_dict(), tensors, state)


def load_net(directory: Path, device: torch.device | str = "cpu"
             ) -> tuple[PolicyValueNet, GameFeatures, dict[str, Any]]:
    """(network in eval mode, its game's features, meta) from a checkpoint written by save_net.

    UserError for a directory that is not an AlphaZero checkpoint or whose
    weights do not fit the recorded network.
    """
    directory = Path(directory)
    meta = read_meta(directory)
    if meta.get("algo") != "alphazero":
        raise UserError(f"'{directory}' is a '{meta.get('algo')}' checkpoint, not an alphazero one")
    try:
        features = game_features(str(meta.get("game")))
    except UserError as exc:
        raise UserError(f"'{directory / META}': field 'game': {exc}") from None
    config = net_config_from_meta(meta, directory / META, features)
    net = PolicyValueNet(features.shape, features.num_actions, config)
    return load_model(net, directory, device), features, meta


def load_model(net: PolicyValueNet, directory: Path, device: torch.device | str = "cpu"
               ) -> PolicyValueNet:
    """`net` with `directory`'s model.safetensors in it, in eval mode on `device`.

    UserError when those weights do not fit `net` (the network meta.json records).
    """
    try:
        net.load_state_dict(load_tensors(directory / MODEL))
    except RuntimeError as exc:
        raise UserError(f"'{directory / MODEL}' does not fit the network in meta.json: "
                        f"{str(exc).splitlines()[0]}") from None
    return net.to(device).eval()
