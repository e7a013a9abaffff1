"""PPO: proximal policy optimisation with the clipped objective (Schulman et al. 2017).

Each iteration collects ``num_envs x num_steps`` transitions with the current
policy (A2C's vectorised rollout, agents/a2c.py), computes GAE(lambda)
advantages (termination stops the bootstrap, truncation bootstraps from the
critic), then takes ``update_epochs`` passes over the batch in shuffled
minibatches, each step on

    ratio_t = pi(a_t|s_t) / pi_old(a_t|s_t)
    L_clip  = -mean(min(ratio_t * A_t, clip(ratio_t, 1 - eps, 1 + eps) * A_t))
    loss    = L_clip + vf_coef * L_value - ent_coef * entropy

(`clipped_surrogate`, in plain view). The clip removes the incentive to move
the policy further than a factor of 1 +- eps on any sampled action, which is
what lets PPO reuse a batch for many gradient steps. Advantages are
normalised per minibatch; the value loss can be clipped like the policy
(``clip_vloss``); gradients are clipped to ``max_grad_norm``; the learning rate
(and optionally eps) decays linearly to 0 at ``total_steps``; ``target_kl``
can end an iteration's epochs early.

The network: for vector observations separate actor and critic MLPs by default
(``shared: false``; value targets do not pull on the policy's features); for
Atari frames one Nature CNN trunk with two heads (``shared: true`` in the
presets), as in the PPO paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from agents.a2c import (
    ActorCritic,  # noqa: F401  (the network, re-exported for readers of this module)
    ActorCriticLearner,
    Rollout,
    advantages,
    annealed,
    explained_variance,
)
from arena.errors import UserError


@dataclass
class PPOConfig:
    """PPO hyperparameters (presets: agents/presets/ppo.yaml)."""

    total_steps: int = 100_000  # the run's length when the trainer is given none; anneal horizon
    num_envs: int = 8
    num_steps: int = 32  # vector steps per rollout
    gamma: float = 0.98
    gae_lambda: float = 0.8
    update_epochs: int = 20
    minibatch_size: int = 256
    lr: float = 1e-3  # Adam
    anneal_lr: bool = True  # linear decay to 0 at total_steps
    eps: float = 1e-5  # Adam epsilon
    clip_coef: float = 0.2
    anneal_clip: bool = True  # linear decay of clip_coef to 0 at total_steps
    clip_vloss: bool = False  # clip the value update like the policy's
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    normalize_advantages: bool = True  # per minibatch
    target_kl: float = 0.0  # > 0: stop an iteration's epochs once the approximate KL passes it
    hidden: tuple[int, ...] = (64, 64)
    shared: bool = False  # one trunk for actor and critic (Atari presets: true)


def clipped_surrogate(ratio: torch.Tensor, adv: torch.Tensor, clip_coef: float) -> torch.Tensor:
    """PPO's clipped policy loss: -mean(min(ratio * A, clip(ratio, 1-eps, 1+eps) * A)).

    Taking the minimum makes it a pessimistic bound: moving the ratio beyond
    1 +- eps in the direction the advantage favours earns nothing more (zero
    gradient), while a move that makes things worse is still fully penalised.
    """
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1.0 - clip_coef, 1.0 + clip_coef) * adv
    return -torch.min(unclipped, clipped).mean()


class PPO(ActorCriticLearner):
    """PPO-clip with GAE, minibatch epochs, lr anneal, gradient clipping."""

    algo = "ppo"
    Config = PPOConfig

    def _check_config(self) -> None:
        super()._check_config()
        cfg = self.config
        if cfg.update_epochs < 1 or cfg.minibatch_size < 1:
            raise UserError("ppo: update_epochs and minibatch_size must be at least 1")

    def clip_range(self, step: int | None = None) -> float:
        """eps for an update starting at `step` (default: now)."""
        cfg = self.config
        step = self.steps if step is None else step
        return annealed(cfg.clip_coef, step, cfg.total_steps) if cfg.anneal_clip else cfg.clip_coef

    def _update(self, rollout: Rollout) -> dict[str, float]:
        cfg = self.config
        # The schedules use the step count before this rollout (it has already been counted).
        start = self.steps - cfg.num_envs * cfg.num_steps
        clip = self.clip_range(start)
        with torch.no_grad():
            adv, returns = advantages(rollout.rewards, rollout.values, rollout.next_values,
                                      rollout.terminated, rollout.ended, cfg.gamma,
                                      cfg.gae_lambda)
        b_obs = rollout.obs.flatten(0, 1)
        b_actions = rollout.actions.flatten()
        b_logp = rollout.log_probs.flatten()
        b_values = rollout.values.flatten()
        b_adv, b_returns = adv.flatten(), returns.flatten()
        batch = b_actions.shape[0]
        mb = min(cfg.minibatch_size, batch)

        stats: dict[str, list[float]] = {k: [] for k in (
            "policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac")}

        def normalized(a: torch.Tensor) -> torch.Tensor:
            if cfg.normalize_advantages and a.numel() > 1:
                return (a - a.mean()) / (a.std() + 1e-8)
            return a

        # One minibatch holding the whole batch needs no shuffling: the mean loss is the same.
        whole = mb >= batch
        whole_adv = normalized(b_adv) if whole else None
        for _epoch in range(cfg.update_epochs):
            order = None if whole else torch.randperm(batch, generator=self.gen,
                                                      device=self.device)
            for begin in range(0, batch, mb):
                idx = slice(None) if order is None else order[begin:begin + mb]
                logits, value = self.net(b_obs[idx])
                log_probs = torch.log_softmax(logits, -1)
                new_logp = log_probs.gather(1, b_actions[idx, None]).squeeze(1)
                log_ratio = new_logp - b_logp[idx]
                ratio = log_ratio.exp()

                mb_adv = whole_adv if whole_adv is not None else normalized(b_adv[idx])
                policy_loss = clipped_surrogate(ratio, mb_adv, clip)

                if cfg.clip_vloss:  # the critic may also move only so far from its old values
                    v_clipped = b_values[idx] + (value - b_values[idx]).clamp(-clip, clip)
                    value_loss = 0.5 * torch.max((value - b_returns[idx]).pow(2),
                                                 (v_clipped - b_returns[idx]).pow(2)).mean()
                else:
                    value_loss = 0.5 * (value - b_returns[idx]).pow(2).mean()
                loss = policy_loss + cfg.vf_coef * value_loss
                entropy = None
                if cfg.ent_coef:  # (no entropy graph to differentiate when its weight is 0)
                    entropy = -(log_probs.exp() * log_probs).sum(-1).mean()
                    loss = loss - cfg.ent_coef * entropy

                self.optimizer.zero_grad()
                loss.backward()
                if cfg.max_grad_norm > 0:
                    nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm)
                self.optimizer.step()

                if begin + mb >= batch:  # an epoch's last minibatch: how far the policy moved
                    with torch.no_grad():  # k3 estimator of KL(old || new), Schulman's blog
                        approx_kl = ((ratio - 1) - log_ratio).mean()
                        clipfrac = ((ratio - 1.0).abs() > clip).float().mean()
                        if entropy is None:
                            entropy = -(log_probs.exp() * log_probs).sum(-1).mean()
                    for key, val in (("policy_loss", policy_loss), ("value_loss", value_loss),
                                     ("entropy", entropy), ("approx_kl", approx_kl),
                                     ("clipfrac", clipfrac)):
                        stats[key].append(val.item())
            if cfg.target_kl > 0 and stats["approx_kl"][-1] > cfg.target_kl:
                break
        metrics: dict[str, Any] = {k: sum(v) / len(v) for k, v in stats.items()}
        metrics["loss"] = (metrics["policy_loss"] + cfg.vf_coef * metrics["value_loss"]
                           - cfg.ent_coef * metrics["entropy"])
        metrics["clip_range"] = clip
        metrics["explained_variance"] = explained_variance(b_values, b_returns)
        return metrics
