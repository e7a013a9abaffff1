"""A2C: synchronous advantage actor-critic (Mnih et al. 2016, the synchronous variant).

``num_envs`` envs step in lock-step (agents/sources.py GymSource, over
gymnasium's SyncVectorEnv); every ``num_steps`` vector steps the rollout
(PPO's `collect_rollout`, agents/ppo.py) makes one gradient step on

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

`advantages` (agents/ppo.py) computes both cases as GAE(lambda) (Schulman et
al. 2016); with lambda = 1, A2C's default, it is exactly the n-step return
minus V(s_t). A2C is PPO's rollout with a single gradient step on the whole
batch and no clip: the update, in plain view in `A2C._update`, is all its own.

Every env's episodes are reset with seeds fixed by (seed, env, episode
number), and the training state keeps the actions of each env's current
episode: a resumed run replays them to put every env back where it was, so it
continues exactly as the uninterrupted run would.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from agents.learner import Learner, TrainHooks
from agents.policy import (
    ActorCritic,
    EnvInfo,
    PolicyAgent,
    adam,
    annealed,
    check_envs,
    check_net_size,
    explained_variance,
    load_policy,
    make_generator,
    make_trunk,
    restore_envs,
    save_policy,
    seeded,
)
from agents.ppo import Rollout, advantages, collect_rollout
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


class A2C(Learner):
    """Synchronous advantage actor-critic with n-step (or GAE) returns and an entropy bonus."""

    algo = "a2c"
    Config = A2CConfig

    def __init__(self, game_id: str, config: A2CConfig, device: torch.device, seed: int,
                 info: EnvInfo | None = None):
        """A fresh learner; `info` (from a checkpoint's meta) spares probing the game."""
        cfg = config
        info = info or EnvInfo.probe(game_id)
        self.game_id, self.config, self.device, self.seed, self.info = (
            game_id, cfg, device, seed, info)
        check_envs(self.algo, cfg.num_envs, cfg.num_steps)
        if cfg.optimizer not in ("rmsprop", "adam"):
            raise UserError(f"a2c: optimizer '{cfg.optimizer}' is not rmsprop or adam")
        check_net_size(self.algo, info, cfg.hidden, trunks=1 if cfg.shared else 2)
        self.net = seeded(seed, lambda: ActorCritic(lambda: make_trunk(info, cfg.hidden),
                                                    info.n_actions, cfg.shared)).to(device)
        params = list(self.net.parameters())
        if cfg.optimizer == "adam":
            self.optimizer: torch.optim.Optimizer = adam(params, cfg.lr, cfg.eps)
        else:
            self.optimizer = torch.optim.RMSprop(params, lr=cfg.lr, alpha=cfg.rms_alpha,
                                                 eps=cfg.eps, foreach=True)
        self.gen = make_generator(device, seed)
        self.steps = 0
        self.updates = 0
        self.source = GymSource(game_id, cfg.num_envs, seed,
                                spaces=(info.obs_shape, info.obs_dtype, info.n_actions))

    def learning_rate(self, step: int | None = None) -> float:
        """The lr for an update starting at `step` (default: now)."""
        cfg = self.config
        step = self.steps if step is None else step
        return annealed(cfg.lr, step, cfg.total_steps) if cfg.anneal_lr else cfg.lr

    def train(self, until_step: int, hooks: TrainHooks | None = None) -> None:
        """Rollouts of num_envs x num_steps steps, one update each, until `steps` reaches
        `until_step` (the last rollout may overshoot it) or hooks.tick says stop.
        hooks.episode hears every finished training episode, hooks.log and hooks.tick
        every update."""
        hooks = hooks or TrainHooks()
        while self.steps < until_step:
            for group in self.optimizer.param_groups:
                group["lr"] = self.learning_rate()
            rollout = collect_rollout(self, self.source, self.config.num_steps, hooks)
            metrics = self._update(rollout)
            self.updates += 1
            metrics["lr"] = self.optimizer.param_groups[0]["lr"]
            hooks.log(self.steps, metrics)
            if not hooks.tick(self.steps):
                return

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
            nn.utils.clip_grad_norm_(self.net.parameters(), cfg.max_grad_norm)
        self.optimizer.step()
        return {"loss": loss.item(), "policy_loss": policy_loss.item(),
                "value_loss": value_loss.item(), "entropy": entropy.item(),
                "explained_variance": explained_variance(rollout.values.flatten(), returns)}

    # --- playing and checkpoints --------------------------------------------------------------

    def agent(self, sample: bool = False) -> PolicyAgent:
        """The current policy as an Agent (a copy: later training does not change it);
        explain() carries the critic's value."""
        return PolicyAgent(copy.deepcopy(self.net), self.device, self.algo,
                           self.info.action_labels, sample=sample)

    def close(self) -> None:
        self.source.close()

    def save(self, directory: Path, with_train_state: bool = True) -> None:
        """agents/policy.py's layout; the training state adds the lr and the envs' state."""
        save_policy(self, directory, with_train_state,
                    train_json={"lr": self.optimizer.param_groups[0]["lr"],
                                "envs": self.source.state()})

    @classmethod
    def load(cls, directory: Path, device: torch.device, for_training: bool = False) -> A2C:
        self, train = load_policy(cls, directory, device, for_training)
        if train is not None:
            restore_envs(self, directory, train[1])
        return self
