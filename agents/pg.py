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

The network trunks, the agent that plays the policy (`PolicyAgent`) and the
checkpoint layout are the ones a2c.py and ppo.py use too (agents/policy.py).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from agents.checkpoint import TRAIN_STATE_JSON, field_int, refusing
from agents.learner import Learner, TrainHooks
from agents.policy import (
    RESUME_REFUSAL,
    EnvInfo,
    PolicyAgent,
    check_net_size,
    layer_init,
    load_policy,
    make_generator,
    make_trunk,
    save_policy,
    seeded,
)
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


def episode_seed(seed: int, index: int) -> int:
    """The reset seed of a run's index-th episode (or episode group): fixed by (seed, index)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


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


class REINFORCE(Learner):
    """REINFORCE with a whitening, learned, sampled, greedy-rollout or no baseline."""

    algo = "pg"
    Config = REINFORCEConfig

    def __init__(self, game_id: str, config: REINFORCEConfig, device: torch.device, seed: int,
                 info: EnvInfo | None = None):
        """A fresh learner; `info` (from a checkpoint's meta) spares probing the game."""
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
        info = info or EnvInfo.probe(game_id)
        self.game_id, self.config, self.device, self.seed, self.info = (
            game_id, cfg, device, seed, info)
        check_net_size(self.algo, info, cfg.hidden, trunks=2 if cfg.baseline == "learned" else 1)
        self.net = seeded(seed, lambda: PGNet(info, cfg.hidden,
                                              critic=cfg.baseline == "learned")).to(device)
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

    def save(self, directory: Path, with_train_state: bool = True) -> None:
        """agents/policy.py's layout; train_state.json adds seeds_used."""
        save_policy(self, directory, with_train_state, train_json={"seeds_used": self.seeds_used})

    @classmethod
    def load(cls, directory: Path, device: torch.device, for_training: bool = False
             ) -> REINFORCE:
        self, train = load_policy(cls, directory, device, for_training)
        if train is not None:
            with refusing(Path(directory) / TRAIN_STATE_JSON, RESUME_REFUSAL):
                self.seeds_used = field_int(train[1], "seeds_used", None, minimum=0)
        return self
