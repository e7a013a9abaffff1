"""A2C: synchronous advantage actor-critic (Mnih et al. 2016, the synchronous variant).

``num_envs`` envs step in lock-step (gymnasium's SyncVectorEnv); every
``num_steps`` vector steps the rollout makes one gradient step on

    loss = -mean(A_t * log pi(a_t|s_t)) + vf_coef * mean((R_t - V(s_t))^2) / 2
           - ent_coef * mean(entropy(pi(.|s_t)))

with R_t the n-step return bootstrapped from the critic at the end of the
rollout, and A_t = R_t - V(s_t). Actor and critic share one trunk (an MLP, or
the Nature CNN for Atari frames) with two linear heads.

Episode ends, done right:

- termination (the pole fell): the return stops there; nothing after it counts;
- truncation (a time limit, CartPole's 500 steps): the episode was cut, not
  finished, so the return is bootstrapped from the critic's value of the
  state it was cut in (the real last observation, kept before the env resets).

`advantages` computes both cases as GAE(lambda) (Schulman et al. 2016); with
lambda = 1, A2C's default, it is exactly the n-step return minus V(s_t). PPO
(agents/ppo.py) reuses this module's network, rollout and advantages.

Every env's episodes are reset with seeds fixed by (seed, env, episode
number), and the training state keeps the actions of each env's current
episode: a resumed run replays them to put every env back where it was, so it
continues exactly as the uninterrupted run would.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.checkpoint import field_mapping
from agents.learner import TrainHooks
from agents.pg import (
    EnvInfo,
    PolicyAgent,
    PolicyLearner,
    check_net_size,
    layer_init,
    make_generator,
    make_trunk,
)
from agents.sources import GymSource
from games.errors import UserError


@dataclass
class A2CConfig:
    """A2C hyperparameters (presets: agents/presets/a2c.yaml)."""

    total_steps: int = 500_000  # the run's length when the trainer is given none; lr anneal horizon
    num_envs: int = 8
    num_steps: int = 5  # vector steps per update: the n of the n-step returns
    gamma: float = 0.99
    gae_lambda: float = 1.0  # 1: plain n-step returns
    lr: float = 7e-4
    anneal_lr: bool = False  # linear decay to 0 at total_steps
    optimizer: str = "rmsprop"  # rmsprop | adam
    rms_alpha: float = 0.99
    eps: float = 1e-5  # optimizer epsilon
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5  # 0: no clipping
    normalize_advantages: bool = False
    hidden: tuple[int, ...] = (64, 64)
    shared: bool = True  # one trunk for actor and critic (False: two MLPs)


#: The most training envs a run may step (each is an env in memory).
MAX_ENVS = 4096


# --- the network ------------------------------------------------------------------------------


class ActorCritic(nn.Module):
    """Observation -> (action logits, V(s)). One shared trunk, or separate actor/critic trunks."""

    def __init__(self, info: EnvInfo, hidden: Sequence[int], shared: bool):
        super().__init__()
        self.trunk, features = make_trunk(info, hidden)
        self.critic_trunk: nn.Module | None = None
        if not shared:
            self.critic_trunk, features_v = make_trunk(info, hidden)
        # A 0.01 gain starts the policy near uniform; the critic head starts at unit scale.
        self.actor = layer_init(nn.Linear(features, info.n_actions), 0.01)
        self.critic = layer_init(nn.Linear(features if shared else features_v, 1), 1.0)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.trunk(obs)
        critic_in = features if self.critic_trunk is None else self.critic_trunk(obs)
        return self.actor(features), self.critic(critic_in).squeeze(-1)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.forward(obs)[1]


# --- returns and advantages -------------------------------------------------------------------


def advantages(rewards: torch.Tensor, values: torch.Tensor, next_values: torch.Tensor,
               terminated: torch.Tensor, ended: torch.Tensor, gamma: float, lam: float
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE(lambda) advantages and the critic's targets (advantages + values), shape [T, N].

    next_values[t] is V of the state step t led to: for an episode that ended at t,
    its real last observation. terminated[t] (the game ended) drops that bootstrap;
    ended[t] (terminated or truncated) stops the sum from reaching into the next
    episode. So a truncated step keeps r_t + gamma V(s_last) as its target.
    """
    adv = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in range(rewards.shape[0] - 1, -1, -1):
        delta = rewards[t] + gamma * next_values[t] * (1.0 - terminated[t]) - values[t]
        running = delta + gamma * lam * (1.0 - ended[t]) * running
        adv[t] = running
    return adv, adv + values


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


# --- the rollout ------------------------------------------------------------------------------


@dataclass
class Rollout:
    """num_steps x num_envs transitions, and what the update needs about each."""

    obs: torch.Tensor  # [T, N, *obs_shape]
    actions: torch.Tensor  # [T, N]
    log_probs: torch.Tensor  # [T, N] under the policy that acted
    values: torch.Tensor  # [T, N] V(s_t) when acting
    next_values: torch.Tensor  # [T, N] V(s_{t+1}), the real last obs at an episode's end
    rewards: torch.Tensor  # [T, N]
    terminated: torch.Tensor  # [T, N] 1.0 where the game ended
    ended: torch.Tensor  # [T, N] 1.0 where the episode ended (terminated or truncated)


@torch.no_grad()
def collect(learner: Any, source: GymSource, num_steps: int, hooks: TrainHooks) -> Rollout:
    """num_steps vector steps of `source` with the learner's policy (sampled); counts
    learner.steps and tells hooks.episode of every finished episode."""
    net, device, gen, n = learner.net, learner.device, learner.gen, source.num_envs
    obs_buf = torch.zeros((num_steps, n, *learner.info.obs_shape),
                          dtype=torch.uint8 if learner.info.obs_dtype == "uint8"
                          else torch.float32, device=device)
    actions = torch.zeros((num_steps, n), dtype=torch.long, device=device)
    log_probs = torch.zeros((num_steps, n), device=device)
    values = torch.zeros((num_steps, n), device=device)
    final_values = torch.zeros((num_steps, n), device=device)
    # Per-step env results stay in numpy until the rollout ends (one conversion, not T).
    rewards, terminated, ended, cut = (np.zeros((num_steps, n), dtype=np.float32)
                                       for _ in range(4))
    for t in range(num_steps):
        obs = torch.as_tensor(source.observations()[0], device=device)
        logits, value = net(obs)
        action = torch.multinomial(torch.softmax(logits, -1), 1, generator=gen)
        log_probs[t] = torch.log_softmax(logits, -1).gather(1, action).squeeze(1)
        obs_buf[t], actions[t], values[t] = obs, action.squeeze(1), value
        step = source.step(action.squeeze(1).cpu().numpy())
        learner.steps += n
        rewards[t], terminated[t] = step.rewards, step.terminated
        ended[t], cut[t] = step.terminated | step.truncated, step.truncated & ~step.terminated
        if cut[t].any():  # a cut-off episode bootstraps from where it was cut
            at = torch.as_tensor(cut[t] > 0, device=device)
            final_values[t, at] = net.value(torch.as_tensor(step.next_obs[cut[t] > 0],
                                                            device=device))
        for end in step.finished:
            hooks.episode(learner.steps, end.reward, end.length)
    # V(s_{t+1}): the next step's value, after the last step the value of the current
    # obs; at a truncation the value of the real last obs. (After a termination it is
    # unused: `advantages` drops it.)
    last_value = net.value(torch.as_tensor(source.observations()[0], device=device))
    following = torch.cat([values[1:], last_value[None]])
    next_values = torch.where(torch.as_tensor(cut > 0, device=device), final_values, following)
    rewards, terminated, ended = (torch.as_tensor(x, device=device)
                                  for x in (rewards, terminated, ended))
    return Rollout(obs_buf, actions, log_probs, values, next_values, rewards, terminated, ended)


# --- the learner ------------------------------------------------------------------------------


class ActorCriticLearner(PolicyLearner):
    """What A2C and PPO share: set-up, the rollout loop, acting, the lr schedule and
    checkpoints. Subclasses implement `_update(rollout) -> metrics`."""

    Config: Any

    def __init__(self, game_id: str, config: Any, device: torch.device, seed: int):
        self._setup(game_id, config, device, seed, EnvInfo.probe(game_id))

    def _setup(self, game_id: str, config: Any, device: torch.device, seed: int,
               info: EnvInfo) -> None:
        self.game_id, self.config, self.device, self.seed, self.info = (
            game_id, config, device, seed, info)
        self._check_config()
        check_net_size(self.algo, info, config.hidden, trunks=1 if config.shared else 2)
        with torch.random.fork_rng(devices=[]):  # the same init for a seed, global RNG untouched
            torch.manual_seed(seed)
            self.net = ActorCritic(info, config.hidden, config.shared).to(device)
        self.params = list(self.net.parameters())
        self.optimizer = self._make_optimizer()
        self.gen = make_generator(device, seed)
        self.steps = 0
        self.updates = 0
        self.source = GymSource(game_id, config.num_envs, seed,
                                spaces=(info.obs_shape, info.obs_dtype, info.n_actions))

    def _check_config(self) -> None:
        cfg = self.config
        if cfg.num_envs < 1 or cfg.num_steps < 1:
            raise UserError(f"{self.algo}: num_envs and num_steps must be at least 1")
        if cfg.num_envs > MAX_ENVS:
            raise UserError(f"{self.algo}: num_envs={cfg.num_envs} is over the limit of "
                            f"{MAX_ENVS} envs")

    def _make_optimizer(self) -> torch.optim.Optimizer:
        return adam(self.params, self.config.lr, self.config.eps)

    def learning_rate(self, step: int | None = None) -> float:
        """The lr for an update starting at `step` (default: now)."""
        cfg = self.config
        step = self.steps if step is None else step
        return annealed(cfg.lr, step, cfg.total_steps) if cfg.anneal_lr else cfg.lr

    def _update(self, rollout: Rollout) -> dict[str, float]:
        raise NotImplementedError

    def train(self, until_step: int, hooks: TrainHooks | None = None) -> None:
        """Rollouts of num_envs x num_steps steps, one update each, until `steps` reaches
        `until_step` (the last rollout may overshoot it) or hooks.tick says stop.
        hooks.episode hears every finished training episode, hooks.log and hooks.tick
        every update."""
        hooks = hooks or TrainHooks()
        while self.steps < until_step:
            for group in self.optimizer.param_groups:
                group["lr"] = self.learning_rate()
            rollout = collect(self, self.source, self.config.num_steps, hooks)
            metrics = self._update(rollout)
            self.updates += 1
            metrics["lr"] = self.optimizer.param_groups[0]["lr"]
            hooks.log(self.steps, metrics)
            if not hooks.tick(self.steps):
                return

    def agent(self, sample: bool = False) -> PolicyAgent:
        """The current policy as an Agent (a copy: later training does not change it);
        explain() carries the critic's value."""
        return PolicyAgent(copy.deepcopy(self.net), self.device, self.algo,
                           self.info.action_labels, sample=sample)

    def close(self) -> None:
        self.source.close()

    def _extra_train_json(self) -> dict[str, Any]:
        return {"lr": self.optimizer.param_groups[0]["lr"], "envs": self.source.state()}

    def _restore_train_state(self, tensors: dict[str, torch.Tensor],
                             state: dict[str, Any]) -> None:
        self.source.load_state(field_mapping(state, "envs", None))


class A2C(ActorCriticLearner):
    """Synchronous advantage actor-critic with n-step (or GAE) returns and an entropy bonus."""

    algo = "a2c"
    Config = A2CConfig

    def _check_config(self) -> None:
        super()._check_config()
        if self.config.optimizer not in ("rmsprop", "adam"):
            raise UserError(f"a2c: optimizer '{self.config.optimizer}' is not rmsprop or adam")

    def _make_optimizer(self) -> torch.optim.Optimizer:
        cfg = self.config
        if cfg.optimizer == "adam":
            return adam(self.params, cfg.lr, cfg.eps)
        return torch.optim.RMSprop(self.params, lr=cfg.lr, alpha=cfg.rms_alpha, eps=cfg.eps,
                                   foreach=True)

    def _update(self, rollout: Rollout) -> dict[str, float]:
        cfg = self.config
        adv, returns = advantages(rollout.rewards, rollout.values, rollout.next_values,
                                  rollout.terminated, rollout.ended, cfg.gamma, cfg.gae_lambda)
        adv, returns = adv.flatten(), returns.flatten()
        if cfg.normalize_advantages:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        logits, values = self.net(rollout.obs.flatten(0, 1))
        log_probs = torch.log_softmax(logits, -1)
        log_pi = log_probs.gather(1, rollout.actions.flatten()[:, None]).squeeze(1)
        entropy = -(log_probs.exp() * log_probs).sum(-1).mean()

        # The actor follows the critic's advantage; the critic regresses on the n-step return.
        policy_loss = -(adv * log_pi).mean()
        value_loss = 0.5 * (returns - values).pow(2).mean()
        loss = policy_loss + cfg.vf_coef * value_loss - cfg.ent_coef * entropy

        self.optimizer.zero_grad()
        loss.backward()
        if cfg.max_grad_norm > 0:
            nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm)
        self.optimizer.step()
        return {"loss": loss.item(), "policy_loss": policy_loss.item(),
                "value_loss": value_loss.item(), "entropy": entropy.item(),
                "explained_variance": explained_variance(rollout.values.flatten(), returns)}


def explained_variance(predicted: torch.Tensor, target: torch.Tensor) -> float:
    """1 - Var(target - predicted) / Var(target): 1 is a perfect critic, 0 a constant one."""
    var = target.var()
    return float("nan") if var == 0 else float(1 - (target - predicted).var() / var)
