"""What the policy-gradient learners (pg.py, a2c.py, ppo.py) share: small pieces, no loop.

- `EnvInfo`: what a network and an agent need to know about a game (observation
  shape and dtype, actions and their labels), kept in meta.json;
- the networks: `make_trunk` (an MLP, or agents/nets.py's NatureCNN for Atari
  frames), `board_policy_trunk` (board planes: conv layers, then an MLP),
  `ActorCritic` (a trunk, or two, with a policy and a value head), `layer_init`;
- `PolicyAgent`: the Agent that plays a policy network;
- `seeded`, `make_generator`, `adam`, `annealed`, `explained_variance`,
  `check_envs`, `check_net_size`;
- the checkpoint layout they share (`save_policy`, `load_policy`): meta.json
  (algo, game, config, steps, seed, updates, the learner's extra fields, the
  EnvInfo), model.safetensors (the net) and, with the training state, the
  optimizer and the action-sampling generator (``rng.sampling``) plus the
  learner's extra tensors in train_state.safetensors, and the optimizer's
  scalars, steps, updates and the learner's extra fields in train_state.json
  (agents/checkpoint.py `save_checkpoint`, `read_train_state`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.base import ActionInsight, Agent, Insight
from agents.checkpoint import (
    MAX_ACTIONS,
    META,
    MODEL,
    TRAIN_STATE_JSON,
    field_dtype,
    field_game,
    field_int,
    field_mapping,
    field_shape,
    load_weights,
    optimizer_from_tensors,
    optimizer_to_tensors,
    read_meta,
    read_train_state,
    refusing,
    save_checkpoint,
    short,
)
from agents.learner import config_from_dict
from agents.nets import (
    NatureCNN,
    board_trunk,
    check_parameters,
    is_pixel_obs,
    mlp,
    trunk_parameters,
)
from agents.sources import make_train_env
from games.errors import UserError


@dataclass(frozen=True)
class EnvInfo:
    """What a network and an agent need to know about a game, without its env."""

    obs_shape: tuple[int, ...]
    obs_dtype: str
    n_actions: int
    action_labels: tuple[str, ...]

    @classmethod
    def probe(cls, game_id: str) -> EnvInfo:
        env = make_train_env(game_id)
        try:
            meanings = getattr(env.unwrapped, "get_action_meanings", None)
            n = int(env.action_space.n)
            labels = tuple(str(m).lower() for m in meanings()) if callable(meanings) else ()
            if len(labels) != n:
                labels = tuple(str(a) for a in range(n))
            return cls(tuple(int(d) for d in env.observation_space.shape),
                       str(env.observation_space.dtype), n, labels)
        finally:
            env.close()

    def to_meta(self) -> dict[str, Any]:
        return {"obs_shape": list(self.obs_shape), "obs_dtype": self.obs_dtype,
                "n_actions": self.n_actions, "action_labels": list(self.action_labels)}

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> EnvInfo:
        return cls(tuple(meta["obs_shape"]), meta["obs_dtype"], int(meta["n_actions"]),
                   tuple(meta["action_labels"]))


def layer_init(layer: nn.Module, gain: float = math.sqrt(2), bias: float = 0.0) -> nn.Module:
    """Orthogonal weights with `gain`, constant bias: the init PPO's results were reported with."""
    if isinstance(layer, nn.Linear | nn.Conv2d):
        nn.init.orthogonal_(layer.weight, gain)
        nn.init.constant_(layer.bias, bias)
    return layer


class ToFloat(nn.Module):
    """Casts observations to float32 (vector envs may hand out float64 or ints)."""

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return obs.float()


def make_trunk(info: EnvInfo, hidden: Sequence[int]) -> tuple[nn.Module, int]:
    """(feature trunk, its width): agents/nets.py's NatureCNN for (C, 84, 84) uint8 stacks,
    else a tanh MLP of widths `hidden` (tanh: bounded features suit small policy nets).
    Weights are orthogonal with gain sqrt(2), the init PPO's published results used."""
    if is_pixel_obs(info.obs_shape, info.obs_dtype):
        channels, height, width = info.obs_shape
        trunk: nn.Module = NatureCNN(channels, height, width)
        features = NatureCNN.features
    else:
        in_dim = int(np.prod(info.obs_shape))
        trunk = nn.Sequential(ToFloat(), nn.Flatten(), mlp(in_dim, hidden, None, nn.Tanh))
        features = int(hidden[-1]) if len(hidden) else in_dim
    trunk.apply(layer_init)
    return trunk, features


class PolicyAgent(Agent):
    """Plays a policy network: the most likely legal action, or a sample with `sample=True`.

    `net(obs_batch)` must return (logits, value or None). explain() gives the
    probabilities of the legal actions, best first (they sum to 1), and the
    critic's value of the position when the network has one.
    """

    def __init__(self, net: nn.Module, device: torch.device, name: str,
                 labels: Sequence[str], sample: bool = False):
        self.net = net.eval()
        self.device = device
        self.name = name
        self.labels = list(labels)
        self.sample = sample
        self._probs: np.ndarray | None = None
        self._legal: np.ndarray | None = None
        self._value: float | None = None

    def reset(self) -> None:
        self._probs = self._legal = self._value = None

    @torch.no_grad()
    def act(self, observation: Any, action_mask: np.ndarray | None) -> int:
        obs = torch.as_tensor(np.asarray(observation), device=self.device).unsqueeze(0)
        logits, value = self.net(obs)
        logits = logits[0].double()
        legal = (np.ones(logits.shape[0], dtype=bool) if action_mask is None
                 else np.asarray(action_mask).astype(bool))
        logits = logits.masked_fill(~torch.as_tensor(legal, device=logits.device), -math.inf)
        probs = torch.softmax(logits, dim=0).cpu().numpy()
        self._probs, self._legal = probs, legal
        self._value = None if value is None else float(value.reshape(-1)[0])
        if self.sample:
            return int(self.rng.choice(len(probs), p=probs / probs.sum()))
        return int(np.argmax(probs))

    def explain(self) -> Insight | None:
        if self._probs is None:
            return None
        order = sorted(np.flatnonzero(self._legal), key=lambda a: -self._probs[a])
        actions = [ActionInsight(int(a), self.labels[a] if a < len(self.labels) else str(a),
                                 float(self._probs[a])) for a in order]
        return Insight("probs", actions, value=self._value,
                       note="sampled from the policy" if self.sample else "most likely action")


def check_checkpoint(directory: Path, algo: str) -> dict[str, Any]:
    """meta.json of a checkpoint written by `algo`, every field checked; UserError
    naming the file and the field otherwise."""
    meta = read_meta(Path(directory))
    path = Path(directory) / META
    if meta["algo"] != algo:
        raise UserError(f"'{directory}' is a {short(meta['algo'])} checkpoint, not {algo}")
    for key in ("game", "config", "obs_shape", "n_actions", "action_labels", "steps", "seed"):
        if key not in meta:
            raise UserError(f"'{path}' has no '{key}' field")
    field_game(meta, path)
    field_mapping(meta, "config", path)
    field_shape(meta, "obs_shape", path)
    field_dtype(meta, "obs_dtype", path)
    n = field_int(meta, "n_actions", path, minimum=1, maximum=MAX_ACTIONS)
    labels = meta["action_labels"]
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise UserError(f"'{path}': field 'action_labels': {short(labels)} is not a list of "
                        "strings")
    if len(labels) != n:
        raise UserError(f"'{path}': field 'n_actions': {n} does not match the {len(labels)} "
                        "action_labels")
    field_int(meta, "steps", path, minimum=0)
    field_int(meta, "seed", path)
    field_int(meta, "updates", path, minimum=0, default=0)
    return meta


def check_net_size(algo: str, info: EnvInfo, hidden: Sequence[int], conv: Sequence[int] = (),
                   trunks: int = 1, shape: Sequence[int] | None = None) -> None:
    """UserError, before anything is built, when `trunks` trunks for these observations
    (board planes `shape`, else info's) and their heads are over the parameter limit."""
    shape = info.obs_shape if shape is None else shape
    params, features = trunk_parameters(shape, "float32" if conv else info.obs_dtype,
                                        hidden, conv)
    total = trunks * (params + features + 1) + features * info.n_actions + info.n_actions
    sizes = f"hidden={list(hidden)}" + (f", conv_channels={list(conv)}" if conv else "")
    check_parameters(total, f"{algo}: {sizes} on observations of shape {list(shape)}")


def make_generator(device: torch.device, seed: int) -> torch.Generator:
    """A torch generator for action sampling, separate from torch's global one."""
    return torch.Generator(device=device).manual_seed(seed)


def board_policy_trunk(shape: Sequence[int], conv: Sequence[int], hidden: Sequence[int]
                       ) -> tuple[nn.Module, int]:
    """(feature trunk, its width) for board planes: agents/nets.py's `board_trunk` (3x3
    conv layers `conv`, then a ReLU MLP of widths `hidden`), initialised as `make_trunk`."""
    trunk, features = board_trunk(shape, conv, hidden)
    trunk.apply(layer_init)
    return trunk, features


class ActorCritic(nn.Module):
    """Observation -> (action logits, V(s)). `make_trunk()` builds a (trunk, width): one
    shared by both heads, or (``shared=False``) a second one for the critic."""

    def __init__(self, make_trunk: Callable[[], tuple[nn.Module, int]], n_actions: int,
                 shared: bool):
        super().__init__()
        self.trunk, features = make_trunk()
        self.critic_trunk: nn.Module | None = None
        features_v = features
        if not shared:
            self.critic_trunk, features_v = make_trunk()
        # A 0.01 gain starts the policy near uniform; the critic head starts at unit scale.
        self.actor = layer_init(nn.Linear(features, n_actions), 0.01)
        self.critic = layer_init(nn.Linear(features_v, 1), 1.0)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.trunk(obs)
        critic_in = features if self.critic_trunk is None else self.critic_trunk(obs)
        return self.actor(features), self.critic(critic_in).squeeze(-1)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.forward(obs)[1]


def seeded(seed: int, build: Callable[[], nn.Module]) -> nn.Module:
    """`build()` with torch's global RNG seeded by `seed` and left as it was: a seed
    always gives the same initial weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


#: The most training envs a run may step (each is an env in memory).
MAX_ENVS = 4096


def check_envs(algo: str, num_envs: int, num_steps: int) -> None:
    """UserError unless 1 <= num_envs <= MAX_ENVS and num_steps >= 1."""
    if num_envs < 1 or num_steps < 1:
        raise UserError(f"{algo}: num_envs and num_steps must be at least 1")
    if num_envs > MAX_ENVS:
        raise UserError(f"{algo}: num_envs={num_envs} is over the limit of {MAX_ENVS} envs")


def adam(params: list[nn.Parameter], lr: float, eps: float) -> torch.optim.Adam:
    """Adam; the fused kernel (one call for all parameters: small nets on a CPU spend their
    time in per-tensor overhead) where this torch has it."""
    try:
        return torch.optim.Adam(params, lr=lr, eps=eps, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, eps=eps, foreach=True)


def annealed(value: float, step: int, total_steps: int) -> float:
    """value * (1 - step / total_steps), not below 0: a linear schedule from `value` to 0."""
    return value * max(0.0, 1.0 - step / max(1, total_steps))


def explained_variance(predicted: torch.Tensor, target: torch.Tensor) -> float:
    """1 - Var(target - predicted) / Var(target): 1 is a perfect critic, 0 a constant one."""
    var = target.var()
    return float("nan") if var == 0 else float(1 - (target - predicted).var() / var)


# --- checkpoints ------------------------------------------------------------------------------

#: What a training state that fails while it is restored is called.
RESUME_REFUSAL = "is not a training state this run can resume from"


def save_policy(learner: Any, directory: Path, with_train_state: bool,
                meta: dict[str, Any] | None = None, tensors: dict[str, torch.Tensor] | None = None,
                train_json: dict[str, Any] | None = None) -> None:
    """Write `learner`'s checkpoint (the module docstring's layout). The learner has
    algo, game_id, config, steps, seed, updates, info, net, optimizer and gen; `meta`,
    `tensors` and `train_json` are its own fields, after the shared ones."""
    full_meta = {"algo": learner.algo, "game": learner.game_id, "config": asdict(learner.config),
                 "steps": learner.steps, "seed": learner.seed, "updates": learner.updates,
                 **(meta or {}), **learner.info.to_meta()}
    train_tensors = state = None
    if with_train_state:
        train_tensors, opt_json = optimizer_to_tensors(learner.optimizer)
        train_tensors["rng.sampling"] = learner.gen.get_state()
        train_tensors.update(tensors or {})
        state = {"optimizer": opt_json, "steps": learner.steps, "updates": learner.updates,
                 **(train_json or {})}
    save_checkpoint(directory, full_meta, learner.net.state_dict(), train_tensors, state)


def load_policy(cls: Any, directory: Path, device: torch.device, for_training: bool
                ) -> tuple[Any, tuple[dict[str, torch.Tensor], dict[str, Any]] | None]:
    """(learner, its training state (tensors, JSON) or None) from a checkpoint that
    `save_policy` wrote: the learner is ``cls(game, config, device, seed, info=...)``
    with the saved weights and, `for_training`, its optimizer, sampling generator,
    steps and updates; the caller restores its own fields from the training state
    (inside ``refusing(directory / TRAIN_STATE_JSON, RESUME_REFUSAL)``). Every fault in
    the files is one UserError line naming the file (and the field, or the tensor)."""
    directory = Path(directory)
    meta = check_checkpoint(directory, cls.algo)
    config = config_from_dict(cls.Config, meta["config"], f"{directory}/meta.json")
    with refusing(directory / META, "describes a network that cannot be built"):
        learner = cls(meta["game"], config, device, int(meta["seed"]),
                      info=EnvInfo.from_meta(meta))
    load_weights(learner.net, directory / MODEL, device)
    learner.steps = int(meta["steps"])
    learner.updates = int(meta.get("updates", 0))
    if not for_training:
        return learner, None
    tensors, state = read_train_state(directory, device)
    with refusing(directory / TRAIN_STATE_JSON, RESUME_REFUSAL):
        optimizer_from_tensors(learner.optimizer, tensors, state["optimizer"])
        learner.gen.set_state(tensors["rng.sampling"].cpu())
        learner.steps, learner.updates = int(state["steps"]), int(state["updates"])
    return learner, (tensors, state)


def restore_envs(learner: Any, directory: Path, state: dict[str, Any]) -> None:
    """Put `learner.source`'s games back as train_state.json's ``envs`` says."""
    with refusing(Path(directory) / TRAIN_STATE_JSON, RESUME_REFUSAL):
        learner.source.load_state(field_mapping(state, "envs", None))
