"""PPO: proximal policy optimisation with the clipped objective (Schulman et al. 2017).

Each iteration collects ``num_envs x num_steps`` transitions with the current
policy from the learner's environment source (agents/sources.py: gymnasium's
vector env, or board self-play; `collect_rollout`), computes GAE(lambda)
advantages (`advantages`: termination stops the bootstrap, truncation
bootstraps from the critic), then takes ``update_epochs`` passes over the batch in shuffled
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.board_selfplay import (
    BoardNetAgent,
    NetOpponent,
    SnapshotPool,
    action_labels,
    board_features,
    is_board_game,
    masked_entropy,
    masked_logits,
)
from agents.checkpoint import TRAIN_STATE_JSON, refusing
from agents.learner import Learner, TrainHooks
from agents.policy import (
    RESUME_REFUSAL,
    ActorCritic,
    EnvInfo,
    PolicyAgent,
    adam,
    annealed,
    board_policy_trunk,
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
from agents.sources import GymSource, SelfPlaySource
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
    masks: torch.Tensor | None  # [T, N, A] the legal actions (board games); None: all legal


# --- the rollout ------------------------------------------------------------------------------


@torch.no_grad()
def collect_rollout(learner: Any, source: Any, num_steps: int, hooks: TrainHooks) -> Rollout:
    """num_steps vector steps of `source` (agents/sources.py) with `learner.net`'s policy,
    sampled with `learner.gen`: over the legal actions alone where the source gives masks
    (board games). Counts learner.steps and tells hooks.episode of each finished episode.

    A terminated episode bootstraps nothing; a truncated one (a time limit) bootstraps
    from the critic's value of its real last observation (`Step.next_obs`). On a board
    game the next state of a step is the learner's next decision point, after the reply.
    """
    net, device, gen, n = learner.net, learner.device, learner.gen, source.num_envs
    obs_buf = torch.zeros((num_steps, n, *source.shape),
                          dtype=torch.uint8 if source.dtype == "uint8" else torch.float32,
                          device=device)
    mask_buf = None
    actions = torch.zeros((num_steps, n), dtype=torch.long, device=device)
    log_probs = torch.zeros((num_steps, n), device=device)
    values = torch.zeros((num_steps, n), device=device)
    final_values = torch.zeros((num_steps, n), device=device)
    # Per-step env results stay in numpy until the rollout ends (one conversion, not T).
    rewards, terminated, ended, cut = (np.zeros((num_steps, n), dtype=np.float32)
                                       for _ in range(4))
    for t in range(num_steps):
        planes, masks = source.observations()
        obs = torch.as_tensor(planes, device=device)
        logits, value = net(obs)
        if masks is None:
            action = torch.multinomial(torch.softmax(logits, -1), 1, generator=gen)
            log_probs[t] = torch.log_softmax(logits, -1).gather(1, action).squeeze(1)
        else:  # illegal actions get probability 0
            if mask_buf is None:
                mask_buf = torch.zeros((num_steps, n, source.num_actions), dtype=torch.bool,
                                       device=device)
            mask_buf[t] = mask = torch.as_tensor(masks, device=device)
            logp_all = torch.log_softmax(masked_logits(logits, mask), -1)
            action = torch.multinomial(logp_all.exp(), 1, generator=gen)
            log_probs[t] = logp_all.gather(1, action).squeeze(1)
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
    return Rollout(obs_buf, actions, log_probs, values, next_values, rewards, terminated, ended,
                   mask_buf)


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


def clipped_surrogate(ratio: torch.Tensor, adv: torch.Tensor, clip_coef: float) -> torch.Tensor:
    """PPO's clipped policy loss: -mean(min(ratio * A, clip(ratio, 1-eps, 1+eps) * A)).

    Taking the minimum makes it a pessimistic bound: moving the ratio beyond
    1 +- eps in the direction the advantage favours earns nothing more (zero
    gradient), while a move that makes things worse is still fully penalised.
    """
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1.0 - clip_coef, 1.0 + clip_coef) * adv
    return -torch.min(unclipped, clipped).mean()


# --- the learner ------------------------------------------------------------------------------


class PPO(Learner):
    """PPO-clip with GAE, minibatch epochs, lr anneal, gradient clipping; on a board game
    by self-play, with a masked policy."""

    algo = "ppo"
    Config = PPOConfig
    trains_board_games = True

    def __init__(self, game_id: str, config: PPOConfig, device: torch.device, seed: int,
                 info: EnvInfo | None = None):
        """A fresh learner; `info` (from a checkpoint's meta) spares probing the game.
        A board game gets a self-play source and a network over its planes
        (``conv_channels``, then an MLP); a single-player game gymnasium's vector env and
        an MLP (or the Nature CNN for Atari frames)."""
        cfg = config
        check_envs(self.algo, cfg.num_envs, cfg.num_steps)
        if cfg.update_epochs < 1 or cfg.minibatch_size < 1:
            raise UserError("ppo: update_epochs and minibatch_size must be at least 1")
        if not 0.0 <= cfg.opponent_current <= 1.0:
            raise UserError(f"ppo: opponent_current={cfg.opponent_current} must be within [0, 1]")
        if cfg.snapshot_every < 1 or cfg.snapshot_pool < 0 or cfg.eval_games < 0:
            raise UserError(f"ppo: snapshot_every={cfg.snapshot_every} must be at least 1, "
                            f"snapshot_pool={cfg.snapshot_pool} and eval_games={cfg.eval_games} "
                            "at least 0")
        self.game_id, self.config, self.device, self.seed = game_id, cfg, device, seed
        trunks = 1 if cfg.shared else 2
        self.features = board_features(game_id) if is_board_game(game_id) else None
        if self.features is not None:  # the mover's planes, (C, H, W) float32
            shape = self.features.shape
            self.info = info or EnvInfo(shape, "float32", self.features.num_actions,
                                        action_labels(game_id))
            check_net_size(self.algo, self.info, cfg.hidden, cfg.conv_channels, trunks=trunks,
                           shape=shape)
            trunk = lambda: board_policy_trunk(shape, cfg.conv_channels, cfg.hidden)
        else:
            self.info = info or EnvInfo.probe(game_id)
            check_net_size(self.algo, self.info, cfg.hidden, trunks=trunks)
            trunk = lambda: make_trunk(self.info, cfg.hidden)
        self.net = seeded(seed, lambda: ActorCritic(trunk, self.info.n_actions,
                                                    cfg.shared)).to(device)
        self.optimizer = adam(list(self.net.parameters()), cfg.lr, cfg.eps)
        self.gen = make_generator(device, seed)
        self.steps = 0
        self.updates = 0
        self.pool: SnapshotPool | None = None  # self-play opponents: board games only
        self.source: Any
        if self.features is not None:
            features = self.features
            opponent_seeds = itertools.count(1000 * seed)  # each snapshot samples its own moves
            self.pool = SnapshotPool(
                self.net, lambda net: NetOpponent(net, features, device, "sample",
                                                  seed=next(opponent_seeds)),
                cfg.opponent_current, cfg.snapshot_every, cfg.snapshot_pool)
            self.source = SelfPlaySource(game_id, cfg.num_envs, seed, self.pool)
        else:
            self.source = GymSource(game_id, cfg.num_envs, seed,
                                    spaces=(self.info.obs_shape, self.info.obs_dtype,
                                            self.info.n_actions))

    def set_opponent_sampler(self, sampler: Any) -> None:
        """Opponents of the self-play games that start from now on come from
        ``sampler(rng)`` (agents/board_selfplay.py says what it may return); `pool` is the
        default. A sampler is code, not state: a loaded learner plays its pool."""
        if self.pool is None:
            raise UserError(f"game '{self.game_id}' is single-player: it has no opponents")
        self.source.set_sampler(sampler)

    def learning_rate(self, step: int | None = None) -> float:
        """The lr for an update starting at `step` (default: now)."""
        cfg = self.config
        step = self.steps if step is None else step
        return annealed(cfg.lr, step, cfg.total_steps) if cfg.anneal_lr else cfg.lr

    def clip_range(self, step: int | None = None) -> float:
        """eps for an update starting at `step` (default: now)."""
        cfg = self.config
        step = self.steps if step is None else step
        return annealed(cfg.clip_coef, step, cfg.total_steps) if cfg.anneal_clip else cfg.clip_coef

    def train(self, until_step: int, hooks: TrainHooks | None = None) -> None:
        """Rollouts of num_envs x num_steps steps, one update each, until `steps` reaches
        `until_step` (the last rollout may overshoot it) or hooks.tick says stop.
        hooks.episode hears every finished training episode, hooks.log and hooks.tick
        every update. On a board game the pool takes its snapshots after updates; the
        trainer evaluates it from `hooks.tick` (agents/evaluate.py BoardEvaluation)."""
        hooks = hooks or TrainHooks()
        while self.steps < until_step:
            for group in self.optimizer.param_groups:
                group["lr"] = self.learning_rate()
            rollout = collect_rollout(self, self.source, self.config.num_steps, hooks)
            metrics = self._update(rollout)
            self.updates += 1
            if self.pool is not None:
                self.pool.after_update(self.updates)
            metrics["lr"] = self.optimizer.param_groups[0]["lr"]
            results = getattr(self.source, "results", None)
            if results and sum(results.values()):
                metrics["selfplay_win_rate"] = results["wins"] / sum(results.values())
            hooks.log(self.steps, metrics)
            if not hooks.tick(self.steps):
                return

    @staticmethod
    def _entropy(log_probs: torch.Tensor, masks: torch.Tensor | None, idx: Any) -> torch.Tensor:
        """Mean entropy of the minibatch's policies (over the legal moves on a board game)."""
        if masks is None:
            return -(log_probs.exp() * log_probs).sum(-1).mean()
        return masked_entropy(log_probs, masks[idx]).mean()

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
        b_masks = rollout.masks.flatten(0, 1) if rollout.masks is not None else None
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
                    nn.utils.clip_grad_norm_(self.net.parameters(), cfg.max_grad_norm)
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

    # --- playing and checkpoints --------------------------------------------------------------

    def agent(self, sample: bool = False) -> Any:
        """The current policy as an Agent (a copy: later training does not change it);
        explain() carries the critic's value. On a board game it keeps the position and
        plays the most likely legal move; explain() gives the legal moves' probabilities."""
        labels = self.info.action_labels
        inner = PolicyAgent(copy.deepcopy(self.net), self.device, self.algo, labels, sample=sample)
        if self.features is None:
            return inner
        return BoardNetAgent(inner, self.features, labels, self.algo)

    def close(self) -> None:
        self.source.close()

    def save(self, directory: Path, with_train_state: bool = True) -> None:
        """agents/policy.py's layout; meta.json adds board: true on a board game, the
        training state the lr, the envs' state and the snapshot pool."""
        pool = self.pool
        train_json: dict[str, Any] = {"lr": self.optimizer.param_groups[0]["lr"],
                                      "envs": self.source.state()}
        if pool is not None:
            train_json["pool"] = pool.state()
        save_policy(self, directory, with_train_state,
                    meta={"board": True} if pool is not None else None,
                    tensors=pool.tensors() if pool is not None else None, train_json=train_json)

    @classmethod
    def load(cls, directory: Path, device: torch.device, for_training: bool = False) -> PPO:
        self, train = load_policy(cls, directory, device, for_training)
        if train is not None:
            tensors, state = train
            restore_envs(self, directory, state)
            if self.pool is not None:
                with refusing(Path(directory) / TRAIN_STATE_JSON, RESUME_REFUSAL):
                    self.pool.restore(tensors, state["pool"])
        return self
