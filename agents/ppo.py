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

Board games (tictactoe, connect4, go5..go19) are learned by self-play
(agents/board_selfplay.py): the rollout's games are played against opponents
from a sampler (by default the learner's current weights or an earlier
snapshot), observations are the mover's planes, optionally through a small
CNN (``conv_channels``), and the policy is **masked**: illegal actions get
logit -inf before the softmax, so they are never sampled and the log-probs,
ratios and entropy are over the legal moves only. The trainer evaluates such
a run by win/draw/loss rates against ``eval_opponents`` and keeps best/ on
that score.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from agents.a2c import (
    ActorCritic,
    ActorCriticLearner,
    Rollout,
    advantages,
    annealed,
    explained_variance,
)
from agents.board_selfplay import (
    BoardNetAgent,
    MaskedRollout,
    NetOpponent,
    SelfPlayEnvs,
    SelfPlayLearner,
    SnapshotPool,
    action_labels,
    board_features,
    collect_rollout,
    is_board_game,
    masked_entropy,
    masked_logits,
)
from agents.learner import TrainHooks
from agents.nets import board_trunk
from agents.pg import (
    EnvInfo,
    PolicyAgent,
    check_net_size,
    layer_init,
    make_generator,
)
from games.errors import UserError


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
    # Board games only (self-play, agents/board_selfplay.py):
    conv_channels: tuple[int, ...] = ()  # 3x3 conv layers before the MLP; () = MLP only
    opponent_current: float = 0.5  # P(the opponent is the current weights), else a snapshot
    snapshot_every: int = 10  # updates between snapshots of the pool
    snapshot_pool: int = 10  # snapshots kept (the oldest go first)
    eval_opponents: str = "random,greedy"  # agent references, comma-separated
    eval_games: int = 20  # per opponent and evaluation
    board_eval_every: int = 0  # steps between evaluations; 0: total_steps / 10


class BoardActorCritic(ActorCritic):
    """ActorCritic on board planes: `board_trunk` (conv layers, then an MLP) and two heads."""

    def __init__(self, shape: Sequence[int], n_actions: int, conv: Sequence[int],
                 hidden: Sequence[int], shared: bool):
        nn.Module.__init__(self)
        self.trunk, features = board_trunk(shape, conv, hidden)
        self.trunk.apply(layer_init)
        self.critic_trunk: nn.Module | None = None
        if not shared:
            self.critic_trunk, _ = board_trunk(shape, conv, hidden)
            self.critic_trunk.apply(layer_init)
        self.actor = layer_init(nn.Linear(features, n_actions), 0.01)
        self.critic = layer_init(nn.Linear(features, 1), 1.0)


def clipped_surrogate(ratio: torch.Tensor, adv: torch.Tensor, clip_coef: float) -> torch.Tensor:
    """PPO's clipped policy loss: -mean(min(ratio * A, clip(ratio, 1-eps, 1+eps) * A)).

    Taking the minimum makes it a pessimistic bound: moving the ratio beyond
    1 +- eps in the direction the advantage favours earns nothing more (zero
    gradient), while a move that makes things worse is still fully penalised.
    """
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1.0 - clip_coef, 1.0 + clip_coef) * adv
    return -torch.min(unclipped, clipped).mean()


class PPO(SelfPlayLearner, ActorCriticLearner):
    """PPO-clip with GAE, minibatch epochs, lr anneal, gradient clipping."""

    algo = "ppo"
    Config = PPOConfig

    def __init__(self, game_id: str, config: PPOConfig, device: torch.device, seed: int):
        if is_board_game(game_id):
            features = board_features(game_id)
            info = EnvInfo(features.shape, "float32", features.num_actions,
                           action_labels(game_id))
        else:
            info = EnvInfo.probe(game_id)
        self._setup(game_id, config, device, seed, info)

    def _setup(self, game_id: str, config: Any, device: torch.device, seed: int,
               info: EnvInfo) -> None:
        self.board = is_board_game(game_id)
        if not self.board:
            super()._setup(game_id, config, device, seed, info)
            return
        self.game_id, self.config, self.device, self.seed, self.info = (
            game_id, config, device, seed, info)
        self._check_config()
        self.features = board_features(game_id)
        check_net_size(self.algo, info, config.hidden, config.conv_channels,
                       trunks=1 if config.shared else 2, shape=self.features.shape)
        with torch.random.fork_rng(devices=[]):  # the same init for a seed, global RNG untouched
            torch.manual_seed(seed)
            self.net = BoardActorCritic(self.features.shape, info.n_actions,
                                        config.conv_channels, config.hidden,
                                        config.shared).to(device)
        self.params = list(self.net.parameters())
        self.optimizer = self._make_optimizer()
        self.gen = make_generator(device, seed)
        self.steps = 0
        self.updates = 0
        self.runner = None  # the gymnasium runner of single-player games
        opponent_seeds = itertools.count(1000 * seed)  # each snapshot samples its own moves
        self.pool = SnapshotPool(
            self.net, lambda net: NetOpponent(net, self.features, device, "sample",
                                              seed=next(opponent_seeds)),
            config.opponent_current, config.snapshot_every, config.snapshot_pool)
        self.envs = SelfPlayEnvs(game_id, config.num_envs, seed, self.pool)

    def _selfplay_envs(self) -> SelfPlayEnvs:
        return self.envs

    def _check_config(self) -> None:
        super()._check_config()
        cfg = self.config
        if cfg.update_epochs < 1 or cfg.minibatch_size < 1:
            raise UserError("ppo: update_epochs and minibatch_size must be at least 1")
        if not 0.0 <= cfg.opponent_current <= 1.0:
            raise UserError(f"ppo: opponent_current={cfg.opponent_current} must be within [0, 1]")
        if cfg.snapshot_every < 1 or cfg.snapshot_pool < 0 or cfg.eval_games < 0:
            raise UserError(f"ppo: snapshot_every={cfg.snapshot_every} must be at least 1, "
                            f"snapshot_pool={cfg.snapshot_pool} and eval_games={cfg.eval_games} "
                            "at least 0")

    # -- board games: the self-play loop, evaluation, the agent, checkpoints ----------------

    def train(self, until_step: int, hooks: TrainHooks | None = None) -> None:
        """As ActorCriticLearner.train; on a board game the rollouts are self-play games,
        and the pool takes its snapshots after updates. The trainer evaluates it from
        `hooks.tick` (agents/evaluate.py BoardEvaluation)."""
        if not self.board:
            super().train(until_step, hooks)
            return
        hooks = hooks or TrainHooks()
        while self.steps < until_step:
            for group in self.optimizer.param_groups:
                group["lr"] = self.learning_rate()
            rollout = collect_rollout(self, self.envs, self.config.num_steps, hooks)
            metrics = self._update(rollout)
            self.updates += 1
            self.pool.after_update(self.updates)
            metrics["lr"] = self.optimizer.param_groups[0]["lr"]
            results = self.envs.results
            games = sum(results.values())
            if games:
                metrics["selfplay_win_rate"] = results["wins"] / games
            hooks.log(self.steps, metrics)
            if not hooks.tick(self.steps):
                return

    def agent(self, sample: bool = False) -> Any:
        """The current policy as an Agent (a copy). On a board game it keeps the position
        and plays the most likely legal move; explain() gives the legal moves' probabilities."""
        if not self.board:
            return super().agent(sample)
        labels = self.info.action_labels
        inner = PolicyAgent(copy.deepcopy(self.net), self.device, self.algo, labels, sample=sample)
        return BoardNetAgent(inner, self.features, labels, self.algo)

    def close(self) -> None:
        if not self.board:
            super().close()

    def _extra_meta(self) -> dict[str, Any]:
        return {"board": True} if self.board else {}

    def _extra_train_tensors(self) -> dict[str, torch.Tensor]:
        return self.pool.tensors() if self.board else {}

    def _extra_train_json(self) -> dict[str, Any]:
        if not self.board:
            return super()._extra_train_json()
        return {"lr": self.optimizer.param_groups[0]["lr"], "envs": self.envs.state(),
                "pool": self.pool.state()}

    def _restore_train_state(self, tensors: dict[str, torch.Tensor],
                             state: dict[str, Any]) -> None:
        if not self.board:
            super()._restore_train_state(tensors, state)
            return
        self.envs.load_state(state["envs"])
        self.pool.restore(tensors, state["pool"])

    @staticmethod
    def _entropy(log_probs: torch.Tensor, masks: torch.Tensor | None, idx: Any) -> torch.Tensor:
        """Mean entropy of the minibatch's policies (over the legal moves on a board game)."""
        if masks is None:
            return -(log_probs.exp() * log_probs).sum(-1).mean()
        return masked_entropy(log_probs, masks[idx]).mean()

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
        # Board games: each state's legal moves; the policy is over those alone.
        b_masks = rollout.masks.flatten(0, 1) if isinstance(rollout, MaskedRollout) else None
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
                if b_masks is not None:
                    logits = masked_logits(logits, b_masks[idx])
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
                    entropy = self._entropy(log_probs, b_masks, idx)
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
                            entropy = self._entropy(log_probs, b_masks, idx)
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
