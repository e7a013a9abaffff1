"""Network building blocks shared by the learners.

- `mlp(in_dim, hidden, out_dim)`: a plain ReLU MLP for vector observations;
- `NatureCNN(in_channels)`: the Nature-DQN trunk (Mnih et al. 2015) for stacks
  of 84x84 uint8 frames, returning 512 features; it scales pixels by 1/255
  itself, so callers feed the raw uint8 tensor;
- `board_trunk(shape, conv, hidden)`: for board-game planes (C, H, W): a few
  same-padded 3x3 conv layers (none: a plain MLP over the flattened planes),
  then an MLP;
- `QNetwork`: a trunk plus a Q head, plain or dueling
  (Q = V + A - mean(A), Wang et al. 2016).

Nothing here knows about an algorithm: PPO, A2C or REINFORCE can put their
own heads on `mlp_trunk` / `NatureCNN` features.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from games.errors import UserError

#: The most parameters (and input elements) a network may have. Checkpoints and
#: hyperparameters are checked against it before anything is built, so an edited
#: ``hidden: [1e12]`` is refused in one line instead of asking for terabytes.
MAX_PARAMETERS = 200_000_000


def mlp(in_dim: int, hidden: Sequence[int], out_dim: int | None,
        activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """Linear layers through `hidden` sizes with `activation` between them.

    With `out_dim` a final linear layer maps to `out_dim` outputs with no
    activation after it; with `out_dim=None` the net ends on the activation of
    the last hidden layer (a feature trunk of width `hidden[-1]`).
    """
    layers: list[nn.Module] = []
    width = in_dim
    for size in hidden:
        layers += [nn.Linear(width, int(size)), activation()]
        width = int(size)
    if out_dim is not None:
        layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def mlp_trunk(in_dim: int, hidden: Sequence[int]) -> tuple[nn.Module, int]:
    """(feature trunk, feature width): flattens its input, then `mlp(in_dim, hidden, None)`."""
    if not hidden:
        return nn.Flatten(), in_dim
    # One flat Sequential (not nested): each module call costs a few microseconds.
    return nn.Sequential(nn.Flatten(), *mlp(in_dim, hidden, None)), int(hidden[-1])


def board_trunk(shape: Sequence[int], conv: Sequence[int], hidden: Sequence[int]
                ) -> tuple[nn.Module, int]:
    """(feature trunk, feature width) for float board planes (N, C, H, W).

    `conv` channel counts give same-padded 3x3 conv layers (ReLU), which keep the
    board's geometry, so a pattern learned in one place is known everywhere; then
    the flattened maps go through a ReLU MLP of widths `hidden`. With no `conv`
    it is an MLP over the flattened planes (enough for tic-tac-toe).
    """
    channels, height, width = (int(d) for d in shape)
    layers: list[nn.Module] = []
    for out in conv:
        layers += [nn.Conv2d(channels, int(out), kernel_size=3, padding=1), nn.ReLU()]
        channels = int(out)
    layers.append(nn.Flatten())
    flat = channels * height * width
    layers += list(mlp(flat, hidden, None))
    return nn.Sequential(*layers), int(hidden[-1]) if len(hidden) else flat


class NatureCNN(nn.Module):
    """The Nature-DQN convolutional trunk: (N, C, H, W) uint8 pixels -> (N, 512) features.

    Three conv layers (32 8x8/4, 64 4x4/2, 64 3x3/1) and a 512-unit linear
    layer, all ReLU. Inputs are divided by 255 here, so replay buffers and
    agents can keep frames as uint8 (4x less memory and copying).
    """

    features = 512

    def __init__(self, in_channels: int, height: int = 84, width: int = 84):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, 32, kernel_size=8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, stride=1), nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():  # 3136 for 84x84, but other frame sizes work too
            flat = self.conv(torch.zeros(1, in_channels, height, width)).shape[1]
        self.fc = nn.Sequential(nn.Linear(flat, self.features), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x.float() / 255.0))


def is_pixel_obs(obs_shape: Sequence[int], obs_dtype: str) -> bool:
    """True for (C, H, W) uint8 observations, the input NatureCNN expects."""
    return len(obs_shape) == 3 and obs_dtype == "uint8"


class DuelingHead(nn.Module):
    """Q(s, a) = V(s) + A(s, a) - mean_a A(s, a).

    Subtracting the mean advantage makes V and A identifiable (otherwise a
    constant could move freely between them).
    """

    def __init__(self, features: int, n_actions: int):
        super().__init__()
        self.value = nn.Linear(features, 1)
        self.advantage = nn.Linear(features, n_actions)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        advantage = self.advantage(x)
        return self.value(x) + advantage - advantage.mean(dim=1, keepdim=True)


class QNetwork(nn.Module):
    """Observation -> one Q-value per action.

    Pixel observations ((C, H, W) uint8) go through NatureCNN; with `conv`
    channels, board planes go through `board_trunk`; anything else is flattened
    into an MLP with `hidden` sizes; `dueling` picks the head.
    """

    def __init__(self, obs_shape: Sequence[int], obs_dtype: str, n_actions: int,
                 hidden: Sequence[int] = (64, 64), dueling: bool = False,
                 conv: Sequence[int] = ()):
        super().__init__()
        self.trunk: nn.Module
        self.pixels = is_pixel_obs(obs_shape, obs_dtype)
        if conv and not self.pixels:
            self.trunk, features = board_trunk(obs_shape, conv, hidden)
        elif self.pixels:
            channels, height, width = (int(d) for d in obs_shape)
            self.trunk = NatureCNN(channels, height, width)
            features = NatureCNN.features
        else:
            in_dim = 1
            for d in obs_shape:
                in_dim *= int(d)
            self.trunk, features = mlp_trunk(in_dim, hidden)
        self.head = DuelingHead(features, n_actions) if dueling else nn.Linear(features, n_actions)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if not self.pixels:
            obs = obs.float()  # a no-op for float32; vector envs may hand out float64 or ints
        return self.head(self.trunk(obs))


# --- sizes, computed before anything is built ---------------------------------------------


def mlp_parameters(in_dim: int, hidden: Sequence[int], out_dim: int | None = None) -> int:
    """The parameters of `mlp(in_dim, hidden, out_dim)`."""
    total, width = 0, int(in_dim)
    for size in list(hidden) + ([out_dim] if out_dim is not None else []):
        total += width * int(size) + int(size)
        width = int(size)
    return total


def _nature_cnn_parameters(channels: int, height: int, width: int) -> int:
    """NatureCNN's parameters plus its probe input (C*H*W zeros), for a C x H x W frame."""
    h, w = height, width
    for kernel, stride in ((8, 4), (4, 2), (3, 1)):
        h, w = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    if h < 1 or w < 1:
        raise UserError(f"frames of {height}x{width} are too small for the Nature CNN "
                        "(36x36 at least)")
    convs = channels * 32 * 64 + 32 + 32 * 64 * 16 + 64 + 64 * 64 * 9 + 64
    return channels * height * width + convs + 64 * h * w * NatureCNN.features + NatureCNN.features


def trunk_parameters(obs_shape: Sequence[int], obs_dtype: str, hidden: Sequence[int],
                     conv: Sequence[int] = ()) -> tuple[int, int]:
    """(parameters, feature width) of the trunk the learners build for these observations
    (as QNetwork picks it: board_trunk with `conv`, NatureCNN for pixels, else an MLP),
    computed from the sizes alone."""
    shape = [int(d) for d in obs_shape]
    if is_pixel_obs(shape, obs_dtype):
        return _nature_cnn_parameters(*shape), NatureCNN.features
    flat = 1
    for d in shape:
        flat *= d
    total = 0
    if conv:
        if len(shape) != 3:
            raise UserError(f"conv layers need (channels, height, width) planes, not {shape}")
        channels = shape[0]
        for out in conv:
            total += channels * int(out) * 9 + int(out)
            channels = int(out)
        flat = channels * shape[1] * shape[2]
    total += flat + mlp_parameters(flat, hidden)
    return total, int(hidden[-1]) if len(hidden) else flat


def check_parameters(count: int, what: str) -> None:
    """UserError when a network of `count` parameters is over MAX_PARAMETERS; `what`
    names the sizes that made it (e.g. "ppo: hidden=[1000000000000]")."""
    if count > MAX_PARAMETERS:
        raise UserError(f"{what} makes a network of {count:.3g} parameters, over the "
                        f"limit of {MAX_PARAMETERS:.3g}")
