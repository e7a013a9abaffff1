"""REINFORCE: Monte-Carlo policy gradient, with a choice of baseline.

The estimator (Williams 1992), in plain view in `REINFORCE._update`::

    grad J(theta) ~= mean over the batch's steps t of (G_t - b_t) * grad log pi(a_t | s_t)

where ``G_t = r_t + gamma r_{t+1} + ...`` is the discounted reward-to-go of the
step's own episode (`rewards_to_go`) and ``b_t`` a baseline. Any baseline that
does not depend on the action a_t leaves the estimate unbiased and can cut its
variance a lot. ``baseline`` picks one:

``whitening``
    The course notes' first fix: no baseline as such; the batch's returns are
    standardised, ``(G - mean(G)) / std(G)`` over every step of the batch.
``learned`` (self-critic)
    A value network V(s), trained by mean squared error on the returns;
    advantage ``G_t - V(s_t)``. When an episode is cut by a time limit
    (truncated, not terminated), the critic's value of the state it was cut in
    is added to every return-to-go of that episode (``bootstrap_truncated``);
    without it the last steps of every 500-step CartPole episode look bad and
    a solved policy unlearns itself.
``sampled``
    The mean return of other rollouts from the same state. On a gymnasium env
    the one state we can return to is the start: ``env.reset(seed=s)`` replays
    the same initial state (and the same env randomness). So episodes are
    played in groups of ``group_size`` that share a reset seed, and episode
    i's baseline at step t is the mean reward-to-go at step t of the other
    ``group_size - 1`` episodes of its group (0 once one has ended: its return
    from there on is 0). The others' actions are independent of episode i's,
    so the baseline is unbiased. Every episode of the group is also trained
    on, each with the others as its baseline (the leave-one-out estimator of
    Kool et al. 2019), so the extra rollouts cost no extra env steps; the
    course notes' version throws them away. The baseline is indexed by time,
    not state: it helps most early in an episode, while the group's states are
    still alike. Restoring a mid-episode state (the notes' b(S_t) from every
    visited S_t) would need an env snapshot API and O(T^2) steps per episode,
    so it is not done.
``greedy``
    The greedy-rollout baseline (self-critical training, Rennie et al. 2017;
    Kool et al. 2019): from each episode's reset seed, the greedy policy
    (most likely action) plays one extra episode, and b_t is its reward-to-go
    at step t. Its env steps count as training steps; it is not trained on.
``none``
    Plain REINFORCE on the returns-to-go.

``normalize_advantages`` also standardises G - b over the batch (the learned
preset does: the step size then does not depend on the scale of the returns).

A batch is ``episodes_per_update`` whole episodes, played in lock-step on as
many envs (one network call per step for all of them). Every episode's reset
seed comes from (seed, episode number), so a run resumed from a checkpoint
with its training state continues exactly as the uninterrupted run would.

This module also holds the pieces the actor-critic learners (a2c.py, ppo.py)
share with it: the training env (`make_train_env`), the network trunks, the
agent that plays a policy network (`PolicyAgent`) and the checkpoint layout.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
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
from agents.learner import Learner, TrainHooks, config_from_dict
from agents.nets import NatureCNN, check_parameters, is_pixel_obs, mlp, trunk_parameters
from agents.sources import make_train_env
from games.errors import UserError

BASELINES = ("whitening", "learned", "sampled", "greedy", "none")


@dataclass
class REINFORCEConfig:
    """REINFORCE hyperparameters (presets: agents/presets/pg.yaml)."""

    total_steps: int = 300_000  # the length of a run when the trainer is given none
    baseline: str = "learned"  # whitening | learned | sampled | greedy | none
    episodes_per_update: int = 8  # whole episodes per gradient step
    group_size: int = 4  # sampled: episodes played from each reset seed
    gamma: float = 0.99
    lr: float = 1e-3  # Adam, policy and value network together
    hidden: tuple[int, ...] = (64, 64)  # MLP widths (vector observations)
    ent_coef: float = 0.0  # entropy bonus
    vf_coef: float = 0.5  # learned: weight of the value loss
    normalize_advantages: bool = False  # standardise G - b over the batch as well
    bootstrap_truncated: bool = True  # learned: add V(s_T) to the returns of truncated episodes
    max_grad_norm: float = 0.0  # 0: no gradient clipping


# --------------------------------------------------------------------------------------------
# Shared with a2c.py and ppo.py: the training env, the trunks, the agent, checkpoints.
# --------------------------------------------------------------------------------------------


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


def episode_seed(seed: int, index: int) -> int:
    """The reset seed of a run's index-th episode (or episode group): fixed by (seed, index)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


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


class PolicyLearner(Learner):
    """The checkpoints REINFORCE, A2C and PPO share. A subclass has `info`, `net`,
    `optimizer`, `gen` (the action-sampling generator), `steps`, `updates` and a
    `_setup(game_id, config, device, seed, info)` that builds them; it adds its own parts
    through the hooks below.

    Files: meta.json (algo, game, config, steps, seed, updates, the hooks' extra meta, the
    EnvInfo), model.safetensors (the net) and, with the training state, the optimizer and
    the sampling generator's state (plus the hooks' extra tensors) in train_state.safetensors
    and the optimizer's scalars, steps, updates and the hooks' extra state in
    train_state.json."""

    algo: str
    Config: Any

    def _setup(self, game_id: str, config: Any, device: torch.device, seed: int,
               info: EnvInfo) -> None:
        raise NotImplementedError

    def _extra_meta(self) -> dict[str, Any]:
        """Fields of meta.json after `updates`."""
        return {}

    def _extra_train_tensors(self) -> dict[str, torch.Tensor]:
        """Training-state tensors after the optimizer's and the sampling generator's."""
        return {}

    def _extra_train_json(self) -> dict[str, Any]:
        """train_state.json fields after `updates`."""
        return {}

    def _restore_train_state(self, tensors: dict[str, torch.Tensor],
                             state: dict[str, Any]) -> None:
        """Take back what the `_extra_train_*` hooks saved."""

    def save(self, directory: Path, with_train_state: bool = True) -> None:
        meta = {"algo": self.algo, "game": self.game_id, "config": asdict(self.config),
                "steps": self.steps, "seed": self.seed, "updates": self.updates,
                **self._extra_meta(), **self.info.to_meta()}
        tensors = json_state = None
        if with_train_state:
            tensors, opt_json = optimizer_to_tensors(self.optimizer)
            tensors["rng.sampling"] = self.gen.get_state()
            tensors.update(self._extra_train_tensors())
            json_state = {"optimizer": opt_json, "steps": self.steps, "updates": self.updates,
                          **self._extra_train_json()}
        save_checkpoint(directory, meta, self.net.state_dict(), tensors, json_state)

    @classmethod
    def load(cls, directory: Path, device: torch.device, for_training: bool = False) -> Any:
        """A learner from a checkpoint; every fault in its files is one UserError line
        naming the file (and the field, or the tensor), never a traceback."""
        directory = Path(directory)
        meta = check_checkpoint(directory, cls.algo)
        config = config_from_dict(cls.Config, meta["config"], f"{directory}/meta.json")
        self = cls.__new__(cls)
        with refusing(directory / META, "describes a network that cannot be built"):
            self._setup(meta["game"], config, device, int(meta["seed"]), EnvInfo.from_meta(meta))
        load_weights(self.net, directory / MODEL, device)
        self.steps = int(meta["steps"])
        self.updates = int(meta.get("updates", 0))
        if for_training:
            tensors, state = read_train_state(directory, device)
            with refusing(directory / TRAIN_STATE_JSON, "is not a training state this run "
                          "can resume from"):
                optimizer_from_tensors(self.optimizer, tensors, state["optimizer"])
                self.gen.set_state(tensors["rng.sampling"].cpu())
                self.steps, self.updates = int(state["steps"]), int(state["updates"])
                self._restore_train_state(tensors, state)
        return self


# --------------------------------------------------------------------------------------------
# REINFORCE itself.
# --------------------------------------------------------------------------------------------


def rewards_to_go(rewards: Sequence[float] | np.ndarray, gamma: float,
                  bootstrap: float = 0.0) -> np.ndarray:
    """G_t = r_t + gamma r_{t+1} + ... + gamma^(T-t) * bootstrap, for every t (float64)."""
    out = np.empty(len(rewards), dtype=np.float64)
    g = float(bootstrap)
    for t in range(len(rewards) - 1, -1, -1):
        g = float(rewards[t]) + gamma * g
        out[t] = g
    return out


def whiten(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(x - mean(x)) / std(x) over all entries (population std), so mean 0 and std 1."""
    return (x - x.mean()) / (x.std(unbiased=False) + eps)


def sampled_baseline(others: Sequence[np.ndarray], length: int) -> np.ndarray:
    """b_t for t < length: the mean over `others` (rewards-to-go of rollouts from the same
    start) of their value at step t, counting 0 for a rollout that ended before t."""
    if not others:
        raise ValueError("the sampled baseline needs at least one other rollout")
    total = np.zeros(length, dtype=np.float64)
    for g in others:
        n = min(length, len(g))
        total[:n] += g[:n]
    return total / len(others)


class PGNet(nn.Module):
    """The policy pi(a|s) as logits and, for the learned baseline, a separate critic V(s)."""

    def __init__(self, info: EnvInfo, hidden: Sequence[int], critic: bool):
        super().__init__()
        trunk, features = make_trunk(info, hidden)
        # A small last layer starts the policy near uniform (every action explored).
        self.policy = nn.Sequential(trunk, layer_init(nn.Linear(features, info.n_actions), 0.01))
        self.value: nn.Module | None = None
        if critic:
            vtrunk, vfeatures = make_trunk(info, hidden)
            self.value = nn.Sequential(vtrunk, layer_init(nn.Linear(vfeatures, 1), 1.0))

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        logits = self.policy(obs)
        value = self.value(obs).squeeze(-1) if self.value is not None else None
        return logits, value


@dataclass
class Episode:
    """One finished episode: what the update needs."""

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    truncated: bool  # ended by a time limit, not by the game
    final_obs: Any  # the observation it ended in
    seed: int
    greedy: bool
    returns: np.ndarray | None = None  # rewards-to-go, filled in by the update


class REINFORCE(PolicyLearner):
    """REINFORCE with a whitening, learned, sampled, greedy-rollout or no baseline."""

    algo = "pg"
    Config = REINFORCEConfig

    def __init__(self, game_id: str, config: REINFORCEConfig, device: torch.device, seed: int):
        self._setup(game_id, config, device, seed, EnvInfo.probe(game_id))

    def _setup(self, game_id: str, config: REINFORCEConfig, device: torch.device, seed: int,
               info: EnvInfo) -> None:
        cfg = config
        if cfg.baseline not in BASELINES:
            raise UserError(f"pg: baseline '{cfg.baseline}' is not one of {', '.join(BASELINES)}")
        if cfg.episodes_per_update < 1:
            raise UserError("pg: episodes_per_update must be at least 1")
        if cfg.baseline == "sampled" and (cfg.group_size < 2
                                          or cfg.episodes_per_update % cfg.group_size):
            raise UserError(f"pg: the sampled baseline plays groups of group_size >= 2 episodes; "
                            f"episodes_per_update={cfg.episodes_per_update} is not a multiple "
                            f"of group_size={cfg.group_size}")
        self.game_id, self.config, self.device, self.seed, self.info = (
            game_id, cfg, device, seed, info)
        check_net_size(self.algo, info, cfg.hidden, trunks=2 if cfg.baseline == "learned" else 1)
        with torch.random.fork_rng(devices=[]):  # the same init for a seed, global RNG untouched
            torch.manual_seed(seed)
            self.net = PGNet(info, cfg.hidden, critic=cfg.baseline == "learned").to(device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        self.gen = make_generator(device, seed)
        self.steps = 0
        self.updates = 0
        self.seeds_used = 0  # reset seeds handed out: episode_seed(seed, i) for i < seeds_used
        self._envs: list[gym.Env] = []

    # --- acting -------------------------------------------------------------------------------

    def _env_pool(self, n: int) -> list[gym.Env]:
        while len(self._envs) < n:
            self._envs.append(make_train_env(self.game_id))
        return self._envs[:n]

    @torch.no_grad()
    def _play(self, seeds: list[int], greedy: list[bool], hooks: TrainHooks) -> list[Episode]:
        """Play one episode per seed, all in lock-step; greedy ones take the most likely action."""
        envs = self._env_pool(len(seeds))
        obs = [env.reset(seed=s)[0] for env, s in zip(envs, seeds)]
        trace: list[tuple[list, list, list]] = [([], [], []) for _ in seeds]
        done: list[Episode | None] = [None] * len(seeds)
        alive = list(range(len(seeds)))
        greedy_t = torch.as_tensor(greedy, device=self.device)
        while alive:
            x = torch.as_tensor(np.stack([obs[i] for i in alive]), device=self.device)
            logits, _ = self.net(x)
            sampled = torch.multinomial(torch.softmax(logits, -1), 1, generator=self.gen)[:, 0]
            actions = torch.where(greedy_t[alive], logits.argmax(-1), sampled).cpu().numpy()
            still = []
            for i, a in zip(alive, actions):
                next_obs, reward, terminated, truncated, info = envs[i].step(int(a))
                self.steps += 1
                trace[i][0].append(obs[i])
                trace[i][1].append(int(a))
                trace[i][2].append(float(reward))
                if terminated or truncated:
                    o, acts, rews = trace[i]
                    done[i] = Episode(np.stack(o), np.asarray(acts), np.asarray(rews),
                                      bool(truncated and not terminated), next_obs, seeds[i],
                                      greedy[i])
                    if not greedy[i] and "episode" in info:
                        hooks.episode(self.steps, float(info["episode"]["r"]),
                                      int(info["episode"]["l"]))
                else:
                    obs[i] = next_obs
                    still.append(i)
            alive = still
        return [e for e in done if e is not None]

    def _collect(self, hooks: TrainHooks) -> list[Episode]:
        """One batch: the training episodes (and, for greedy, their greedy rollouts)."""
        cfg = self.config
        n = cfg.episodes_per_update
        if cfg.baseline == "sampled":
            groups = n // cfg.group_size
            seeds = [episode_seed(self.seed, self.seeds_used + g)
                     for g in range(groups) for _ in range(cfg.group_size)]
            self.seeds_used += groups
            return self._play(seeds, [False] * n, hooks)
        seeds = [episode_seed(self.seed, self.seeds_used + i) for i in range(n)]
        self.seeds_used += n
        if cfg.baseline == "greedy":
            return self._play(seeds + seeds, [False] * n + [True] * n, hooks)
        return self._play(seeds, [False] * n, hooks)

    # --- learning -----------------------------------------------------------------------------

    def _baselines(self, episodes: list[Episode]) -> np.ndarray | None:
        """b_t for every step of the training episodes (sampled and greedy baselines)."""
        cfg = self.config
        train = [e for e in episodes if not e.greedy]
        if cfg.baseline == "greedy":
            greedy = {e.seed: e.returns for e in episodes if e.greedy}
            return np.concatenate([sampled_baseline([greedy[e.seed]], len(e.rewards))
                                   for e in train])
        if cfg.baseline == "sampled":
            parts = []
            for g in range(0, len(train), cfg.group_size):
                group = train[g:g + cfg.group_size]
                for i, e in enumerate(group):
                    others = [o.returns for j, o in enumerate(group) if j != i]
                    parts.append(sampled_baseline(others, len(e.rewards)))
            return np.concatenate(parts)
        return None

    def _update(self, episodes: list[Episode]) -> dict[str, float]:
        cfg = self.config
        for e in episodes:
            bootstrap = 0.0
            if e.truncated and self.net.value is not None and cfg.bootstrap_truncated:
                with torch.no_grad():  # the return the cut-off episode would have gone on to get
                    final = torch.as_tensor(np.asarray(e.final_obs), device=self.device)[None]
                    bootstrap = float(self.net.value(final)[0, 0])
            e.returns = rewards_to_go(e.rewards, cfg.gamma, bootstrap)
        base = self._baselines(episodes)
        train = [e for e in episodes if not e.greedy]

        obs = torch.as_tensor(np.concatenate([e.obs for e in train]), device=self.device)
        actions = torch.as_tensor(np.concatenate([e.actions for e in train]), device=self.device)
        returns = torch.as_tensor(np.concatenate([e.returns for e in train]),
                                  dtype=torch.float32, device=self.device)
        logits, values = self.net(obs)
        log_probs = torch.log_softmax(logits, dim=-1)
        log_pi = log_probs.gather(1, actions[:, None]).squeeze(1)

        if cfg.baseline == "whitening":
            advantages = whiten(returns)
        elif cfg.baseline == "learned":
            advantages = returns - values.detach()
        elif base is not None:
            advantages = returns - torch.as_tensor(base, dtype=torch.float32, device=self.device)
        else:
            advantages = returns
        if cfg.normalize_advantages and cfg.baseline != "whitening":
            advantages = whiten(advantages)

        # The REINFORCE estimator: ascend mean_t (G_t - b_t) * log pi(a_t | s_t).
        policy_loss = -(advantages * log_pi).mean()
        entropy = -(log_probs.exp() * log_probs).sum(-1).mean()
        loss = policy_loss - cfg.ent_coef * entropy
        metrics: dict[str, float] = {}
        if values is not None:
            value_loss = 0.5 * (values - returns).pow(2).mean()
            loss = loss + cfg.vf_coef * value_loss
            metrics["value_loss"] = value_loss.item()

        self.optimizer.zero_grad()
        loss.backward()
        if cfg.max_grad_norm > 0:
            nn.utils.clip_grad_norm_(self.net.parameters(), cfg.max_grad_norm)
        self.optimizer.step()
        self.updates += 1
        lengths = [len(e.rewards) for e in train]
        metrics.update(loss=loss.item(), policy_loss=policy_loss.item(), entropy=entropy.item(),
                       mean_length=float(np.mean(lengths)), batch_steps=float(sum(lengths)))
        return metrics

    def train(self, until_step: int, hooks: TrainHooks | None = None) -> None:
        """Batches of whole episodes until `steps` reaches `until_step` (the last batch may
        overshoot it) or hooks.tick says stop. hooks.episode hears every training episode,
        hooks.log and hooks.tick every update."""
        hooks = hooks or TrainHooks()
        while self.steps < until_step:
            episodes = self._collect(hooks)
            hooks.log(self.steps, self._update(episodes))
            if not hooks.tick(self.steps):
                return

    # --- playing and checkpoints --------------------------------------------------------------

    def agent(self, sample: bool = False) -> PolicyAgent:
        """The current policy as an Agent (a copy: later training does not change it)."""
        return PolicyAgent(copy.deepcopy(self.net), self.device, self.algo,
                           self.info.action_labels, sample=sample)

    def close(self) -> None:
        for env in self._envs:
            env.close()
        self._envs = []

    def _extra_train_json(self) -> dict[str, Any]:
        return {"seeds_used": self.seeds_used}

    def _restore_train_state(self, tensors: dict[str, torch.Tensor],
                             state: dict[str, Any]) -> None:
        self.seeds_used = field_int(state, "seeds_used", None, minimum=0)
