"""DQN (Mnih et al. 2015) with the usual switches: double DQN, dueling heads, Polyak targets.

One module, read top to bottom: the hyperparameters (`DQNConfig`), the agent
that plays a trained network (`DQNAgent`), then the learner (`DQN`) with its
training loop and checkpoints. The Bellman target is in `DQN._update`.

How a run goes (one loop, `DQN.train`): the learner acts in `num_envs` games of an
environment source (agents/sources.py: copies of the game's training env for a
single-player game, self-play games for a board game); actions are
epsilon-greedy with epsilon falling linearly; every transition goes into a
replay ring (agents/replay.py); every `train_freq` vector steps, once
`learning_starts` env steps are stored, `gradient_steps` minibatch updates
regress Q(s, a) on r + gamma * Q_target(s', a*) with a* the best action of s'
(by the online net with double DQN, else by the target net), or on n-step
returns with `n_step` > 1; the target net follows the online net by a hard
copy (tau=1) or Polyak averaging every `target_update` updates.

Board games (tictactoe, connect4, go5..go19) are learned by self-play
(agents/board_selfplay.py): the other side's moves are part of the env (an
opponent from a sampler; by default the learner's own current or earlier
weights), observations are the mover's planes, and every step of acting and
learning is **masked** to the legal moves: epsilon-greedy explores uniformly
among legal moves and exploits the best legal one, and the replay stores the
next state's legal mask so that the target's max (and double DQN's argmax)
over a' skip illegal moves. The trainer evaluates such a run by win/draw/loss
rates against ``eval_opponents`` and keeps best/ on that score.
n-step returns are for single-player games only.

Determinism and exact resume: every episode of env i is reset with a seed
derived from (seed, i, episode number), exploration and replay sampling use
their own seeded numpy generators, and the network is initialised from
`seed`. A checkpoint with train state stores the actions taken so far in each
unfinished episode (the source's state); resuming resets those episodes with
their seeds and replays the actions, so the envs are exactly where they were
and a resumed run continues bit-for-bit like an uninterrupted one (on CPU).
Board games in progress at a checkpoint start afresh on resume.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from agents.base import ActionInsight, Agent, Insight, MatchContext
from agents.board_selfplay import (
    BoardNetAgent,
    NetOpponent,
    SnapshotPool,
    action_labels,
    board_features,
    is_board_game,
    masked_logits,
)
from agents.checkpoint import (
    MAX_ACTIONS,
    META,
    MODEL,
    REPLAY,
    TRAIN_STATE,
    TRAIN_STATE_JSON,
    field_dtype,
    field_game,
    field_int,
    field_mapping,
    field_shape,
    load_tensors,
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
from agents.nets import QNetwork, check_parameters, trunk_parameters
from agents.replay import AnyReplay, load_replay_buffer, make_replay_buffer
from agents.sources import GymSource, SelfPlaySource
from games.errors import UserError


@dataclass
class DQNConfig:
    """DQN hyperparameters. Steps are env steps (summed over the vector envs) unless noted."""

    total_steps: int = 100_000  # the run's length; the epsilon and lr schedules span it
    lr: float = 1e-4  # Adam step size at the start
    lr_final_fraction: float = 1.0  # lr falls linearly to lr * this (1.0: constant lr)...
    lr_decay_fraction: float = 1.0  # ...over this share of total_steps, then stays there
    adam_eps: float = 1e-8
    gamma: float = 0.99
    n_step: int = 1  # bootstrap after n rewards (n-step returns); 1 is classic DQN
    buffer_size: int = 100_000  # transitions kept in the replay ring
    batch_size: int = 32
    learning_starts: int = 1_000  # env steps of pure collection before the first update
    train_freq: int = 4  # vector-env steps between rounds of updates
    gradient_steps: int = 1  # minibatch updates per round
    target_update: int = 1_000  # updates between target-net updates
    tau: float = 1.0  # target <- tau * online + (1 - tau) * target; 1.0 is a hard copy
    exploration_fraction: float = 0.1  # share of total_steps over which epsilon falls
    epsilon_initial: float = 1.0
    epsilon_final: float = 0.05
    huber: bool = True  # Huber (smooth L1) loss on the TD error; False: squared error
    max_grad_norm: float = 10.0  # clip the gradient's global norm; 0 turns clipping off
    double_dqn: bool = True  # the online net picks a', the target net values it
    dueling: bool = False  # Q = V + A - mean(A)
    hidden: tuple[int, ...] = (64, 64)  # MLP hidden sizes (vector observations only)
    num_envs: int = 1  # envs stepped together (gymnasium SyncVectorEnv)
    save_replay: bool = True  # checkpoints with train state include the replay buffer
    log_every: int = 1_000  # env steps between hooks.log calls
    # Board games only (self-play, agents/board_selfplay.py):
    conv_channels: tuple[int, ...] = ()  # 3x3 conv layers before the MLP; () = MLP only
    opponent_current: float = 0.5  # P(the opponent is the current weights), else a snapshot
    snapshot_every: int = 1_000  # gradient steps between snapshots of the pool
    snapshot_pool: int = 10  # snapshots kept (the oldest go first)
    eval_opponents: str = "random,greedy"  # agent references, comma-separated
    eval_games: int = 20  # per opponent and evaluation
    board_eval_every: int = 0  # steps between evaluations; 0: total_steps / 10

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        self.conv_channels = tuple(int(c) for c in self.conv_channels)
        positive = ("total_steps", "n_step", "buffer_size", "batch_size", "train_freq",
                    "gradient_steps", "target_update", "num_envs", "log_every", "snapshot_every")
        for name in positive:
            if getattr(self, name) < 1:
                raise UserError(f"dqn: {name}={getattr(self, name)} must be at least 1")
        if not self.lr > 0:
            raise UserError(f"dqn: lr={self.lr} must be positive")
        for name in ("gamma", "exploration_fraction", "epsilon_initial", "epsilon_final",
                     "lr_final_fraction", "lr_decay_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise UserError(f"dqn: {name}={getattr(self, name)} must be within [0, 1]")
        if not 0.0 < self.tau <= 1.0:
            raise UserError(f"dqn: tau={self.tau} must be within (0, 1]")
        for name in ("snapshot_pool", "eval_games", "board_eval_every"):
            if getattr(self, name) < 0:
                raise UserError(f"dqn: {name}={getattr(self, name)} must be at least 0")
        if any(h < 1 for h in self.hidden):
            raise UserError(f"dqn: hidden={list(self.hidden)} sizes must be at least 1")
        if self.num_envs > MAX_ENVS:
            raise UserError(f"dqn: num_envs={self.num_envs} is over the limit of {MAX_ENVS} envs")
        if self.buffer_size > MAX_BUFFER:
            raise UserError(f"dqn: buffer_size={self.buffer_size} is over the limit of "
                            f"{MAX_BUFFER:,} transitions")


#: The most training envs a run may step (each is an env in memory).
MAX_ENVS = 4096
#: The most transitions a replay buffer may hold (it is allocated whole when training starts).
MAX_BUFFER = 50_000_000


def check_net_size(obs_shape: tuple[int, ...], obs_dtype: str, n_actions: int,
                   config: DQNConfig) -> None:
    """UserError, before anything is built, when the online and target Q-networks for
    these observations are over the parameter limit."""
    params, features = trunk_parameters(obs_shape, obs_dtype, config.hidden,
                                        config.conv_channels)
    head = (features + 1) * (n_actions + 1)
    sizes = f"hidden={list(config.hidden)}" + (
        f", conv_channels={list(config.conv_channels)}" if config.conv_channels else "")
    check_parameters(2 * (params + head),
                     f"dqn: {sizes} on observations of shape {list(obs_shape)}")


class DQNAgent(Agent):
    """Plays a Q-network greedily: the legal action with the highest Q-value."""

    name = "dqn"

    def __init__(self, net: QNetwork, n_actions: int, device: torch.device | str = "cpu"):
        self.net = net.eval()
        self.n_actions = n_actions
        self.device = torch.device(device)
        self._last: tuple[np.ndarray, np.ndarray] | None = None

    def start(self, ctx: MatchContext) -> None:
        n = getattr(ctx.action_space, "n", None)
        if n is not None and int(n) != self.n_actions:
            raise UserError(f"this DQN network has {self.n_actions} actions; "
                            f"game '{ctx.game.id}' has {int(n)}")
        super().start(ctx)

    def reset(self) -> None:
        self._last = None

    def q_values(self, observation: Any) -> np.ndarray:
        """Q(observation, a) for every action a."""
        obs = torch.as_tensor(np.asarray(observation), device=self.device).unsqueeze(0)
        with torch.inference_mode():
            return self.net(obs)[0].double().cpu().numpy()

    def act(self, observation: Any, action_mask: np.ndarray | None) -> int:
        q = self.q_values(observation)
        legal = (np.flatnonzero(action_mask) if action_mask is not None
                 else np.arange(len(q)))
        if len(legal) == 0:
            raise ValueError("no legal action to play")
        self._last = (q, legal)
        return int(legal[np.argmax(q[legal])])

    def explain(self) -> Insight | None:
        """Q-values of the legal actions of the last position, best first."""
        if self._last is None:
            return None
        q, legal = self._last
        order = legal[np.argsort(-q[legal], kind="stable")]
        return Insight("q", [ActionInsight(int(a), str(int(a)), float(q[a])) for a in order],
                       value=float(q[order[0]]))


class DQN(Learner):
    """Deep Q-learning on a single-player game with a discrete action space, or on a
    board game by self-play."""

    algo = "dqn"
    Config = DQNConfig
    trains_board_games = True  # by self-play; the trainer scores it against eval_opponents

    def __init__(self, game_id: str, config: DQNConfig, device: torch.device, seed: int):
        if is_board_game(game_id):
            features = board_features(game_id)
            self._setup(game_id, config, torch.device(device), seed, tuple(features.shape),
                        "float32", int(features.num_actions))
            return
        spec = _single_player_spec(game_id)
        probe = spec.make_gym(train=True)
        try:
            obs_space, action_space = probe.observation_space, probe.action_space
        finally:
            probe.close()
        if not isinstance(action_space, gym.spaces.Discrete):
            raise UserError(f"DQN needs a discrete action space; game '{game_id}' has {action_space}")
        if not isinstance(obs_space, gym.spaces.Box):
            raise UserError(f"DQN needs array observations; game '{game_id}' has {obs_space}")
        self._setup(game_id, config, torch.device(device), seed, tuple(obs_space.shape),
                    str(np.dtype(obs_space.dtype)), int(action_space.n))

    def _setup(self, game_id: str, config: DQNConfig, device: torch.device, seed: int,
               obs_shape: tuple[int, ...], obs_dtype: str, n_actions: int) -> None:
        self.game_id = game_id
        self.config = config
        self.device = device
        self.seed = int(seed)
        self.obs_shape, self.obs_dtype, self.n_actions = obs_shape, obs_dtype, n_actions
        check_net_size(obs_shape, obs_dtype, n_actions, config)
        with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's RNG
            torch.manual_seed(self.seed)
            self.q = QNetwork(obs_shape, obs_dtype, n_actions, config.hidden, config.dueling,
                              config.conv_channels)
        self.q.to(device)
        self.target = copy.deepcopy(self.q)
        self.target.requires_grad_(False)
        # Parameter lists once: Module.parameters() walks the module tree on every call.
        self._q_params = list(self.q.parameters())
        self._target_params = list(self.target.parameters())
        # fused: one kernel for all parameters, much less per-update overhead for small nets
        self.optimizer = torch.optim.Adam(self._q_params, lr=config.lr, eps=config.adam_eps,
                                          fused=True)
        self.steps = 0  # env steps
        self.vector_steps = 0  # calls to source.step
        self.updates = 0  # gradient steps
        self.rng = np.random.default_rng([self.seed, 1])  # exploration
        self.replay: AnyReplay | None = None  # allocated when training starts
        # Sums since the last hooks.log; tensors between logs, so a GPU need not sync per update.
        self._log_sums: dict[str, Any] = {"loss": 0.0, "q": 0.0, "count": 0}
        self._next_log = config.log_every
        self.after_update: list[Callable[[int], None]] = []  # each hears the update count
        # The games it learns in (agents/sources.py): single-player envs, or board games
        # against opponents from `pool`, the default sampler (None on single-player games).
        self.board = is_board_game(game_id)
        self.pool: SnapshotPool | None = None
        self.source: GymSource | SelfPlaySource
        if not self.board:
            self.source = GymSource(game_id, config.num_envs, self.seed,
                                    spaces=(obs_shape, obs_dtype, n_actions))
            return
        if config.n_step != 1:
            raise UserError(f"dqn: n_step={config.n_step}: board games learn with n_step 1")
        if not 0.0 <= config.opponent_current <= 1.0:
            raise UserError(f"dqn: opponent_current={config.opponent_current} "
                            "must be within [0, 1]")
        self.features = board_features(game_id)
        self.labels = action_labels(game_id)
        # Snapshots play their greedy move, with the final exploration rate for variety.
        opponent_seeds = itertools.count(1000 * self.seed)  # each its own exploration
        self.pool = SnapshotPool(
            self.q, lambda net: NetOpponent(net, self.features, device, "greedy",
                                            epsilon=config.epsilon_final,
                                            seed=next(opponent_seeds)),
            config.opponent_current, config.snapshot_every, config.snapshot_pool)
        self.after_update.append(self.pool.after_update)
        self.source = SelfPlaySource(game_id, config.num_envs, self.seed, self.pool)

    def set_opponent_sampler(self, sampler: Any) -> None:
        """Opponents of the board games that start from now on come from ``sampler(rng)``
        (agents/board_selfplay.py says what it may return); `self.pool` is the default."""
        if not isinstance(self.source, SelfPlaySource):
            raise UserError(f"game '{self.game_id}' is single-player: it has no opponents")
        self.source.set_sampler(sampler)

    # -- schedules ---------------------------------------------------------------------------

    def epsilon(self, step: int | None = None) -> float:
        """Exploration rate at env step `step` (default: now); linear, then flat."""
        cfg = self.config
        step = self.steps if step is None else step
        duration = cfg.exploration_fraction * cfg.total_steps
        progress = min(1.0, step / duration) if duration > 0 else 1.0
        return cfg.epsilon_initial + progress * (cfg.epsilon_final - cfg.epsilon_initial)

    def learning_rate(self, step: int | None = None) -> float:
        """Adam's step size at env step `step` (default: now); linear decay, then flat."""
        cfg = self.config
        step = self.steps if step is None else step
        duration = cfg.lr_decay_fraction * cfg.total_steps
        progress = min(1.0, step / duration) if duration > 0 else 1.0
        return cfg.lr * (1.0 - progress * (1.0 - cfg.lr_final_fraction))

    # -- the loop ----------------------------------------------------------------------------

    def train(self, until_step: int, hooks: TrainHooks | None = None) -> None:
        """Train until `self.steps` reaches `until_step` or `hooks.tick` returns False.

        Calls hooks.episode for every finished training episode (its unclipped
        return when the game records it before clipping; on a board game the
        result from the learner's side), hooks.log every `log_every` env steps,
        and hooks.tick after every vector step (the trainer evaluates from there).
        """
        hooks = hooks or TrainHooks()
        cfg = self.config
        if self.steps >= until_step:
            return
        if self.replay is None:
            self.replay = self._new_replay()
        obs, masks = self.source.observations()
        while self.steps < until_step:
            actions = self.epsilon_greedy(obs, masks, self.epsilon())
            step = self.source.step(actions)
            # next_obs is what the action led to: where an episode ended, the real last
            # observation (single-player) or the next game's start (a board game; its
            # `terminated` drops it); a time-limit truncation still bootstraps from it.
            self.replay.add(obs, actions, step.rewards, step.next_obs, step.terminated,
                            step.terminated | step.truncated, step.next_masks)
            self.steps += cfg.num_envs
            self.vector_steps += 1
            for end in step.finished:
                hooks.episode(self.steps, end.reward, end.length)
            obs, masks = self.source.observations()
            self._maybe_update()
            if self.steps >= self._next_log:
                self._log(hooks)
            if not hooks.tick(self.steps):
                break

    def _new_replay(self) -> AnyReplay:
        """The replay ring: on a board game it keeps each next state's legal moves (and
        samples from its own stream, (seed, 3))."""
        return make_replay_buffer(self.config.buffer_size, self.obs_shape, self.obs_dtype,
                                  self.config.num_envs,
                                  seed=[self.seed, 3] if self.board else self.seed,
                                  num_actions=self.n_actions if self.board else None)

    def close(self) -> None:
        """Close the training envs (training can start again later)."""
        self.source.close()

    # -- acting and learning -----------------------------------------------------------------

    def epsilon_greedy(self, obs: np.ndarray, masks: np.ndarray | None,
                       epsilon: float) -> np.ndarray:
        """With probability epsilon a uniform legal action (any action where `masks` is
        None), else the legal action of highest Q."""
        n = len(obs)
        # Both draws happen every step, so the generator's sequence does not depend on epsilon.
        explore = self.rng.random(n) < epsilon
        if masks is None:
            random_actions = self.rng.integers(0, self.n_actions, size=n)
        else:
            counts = masks.sum(1)
            picks = np.minimum((self.rng.random(n) * counts).astype(np.int64), counts - 1)
            random_actions = np.array([np.flatnonzero(m)[k]
                                       for m, k in zip(masks, picks, strict=True)])
        if explore.all():
            return random_actions
        with torch.no_grad():
            q = self.q(torch.as_tensor(obs, device=self.device))
            greedy = _legal(q, masks).argmax(dim=1).cpu().numpy()
        return np.where(explore, random_actions, greedy)

    def _maybe_update(self) -> None:
        """After a vector step: once the replay holds learning_starts transitions (or is
        full), gradient_steps updates every train_freq vector steps, their loss and Q summed
        for the next log line; `after_update` (the board pool's snapshots) hears each."""
        cfg = self.config
        assert self.replay is not None
        warm = len(self.replay) >= max(1, min(cfg.learning_starts, cfg.buffer_size))
        if warm and self.vector_steps % cfg.train_freq == 0:
            for _ in range(cfg.gradient_steps):
                loss, q = self._update()
                self._log_sums["loss"] += loss
                self._log_sums["q"] += q
                self._log_sums["count"] += 1
                for listener in self.after_update:
                    listener(self.updates)

    def _update(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One gradient step on a replay minibatch; (loss, mean Q of the actions taken)."""
        cfg = self.config
        assert self.replay is not None
        batch = self.replay.sample(cfg.batch_size, cfg.n_step, cfg.gamma)
        dev = self.device
        obs = torch.as_tensor(batch.obs, device=dev)
        actions = torch.as_tensor(batch.actions, device=dev)
        rewards = torch.as_tensor(batch.rewards, device=dev)
        next_obs = torch.as_tensor(batch.next_obs, device=dev)
        terminated = torch.as_tensor(batch.terminated, device=dev)
        discounts = torch.as_tensor(batch.discounts, device=dev)  # gamma ** (steps to next_obs)
        # A board game's a' ranges over the legal moves of s' only (None: every action).
        next_masks = None if batch.next_masks is None else torch.as_tensor(batch.next_masks,
                                                                           device=dev)

        with torch.no_grad():
            next_q_target = _legal(self.target(next_obs), next_masks)
            if cfg.double_dqn:  # van Hasselt et al. 2016: decouple choosing a' from valuing it
                next_actions = _legal(self.q(next_obs), next_masks).argmax(dim=1, keepdim=True)
            else:
                next_actions = next_q_target.argmax(dim=1, keepdim=True)
            next_value = next_q_target.gather(1, next_actions).squeeze(1)
            # The Bellman target y = r + gamma * (1 - terminated) * Q_target(s', a'); with
            # n-step returns r sums n discounted rewards and gamma becomes gamma ** n.
            # Only true terminals stop the bootstrap: a time-limit truncation is not the
            # end of the task, so Q(s') still counts there.
            target = rewards + discounts * (1.0 - terminated) * next_value

        q_taken = self.q(obs).gather(1, actions.unsqueeze(1)).squeeze(1)
        loss = F.smooth_l1_loss(q_taken, target) if cfg.huber else F.mse_loss(q_taken, target)

        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(self._q_params, cfg.max_grad_norm, foreach=True)
        self.optimizer.step()
        self.updates += 1

        if self.updates % cfg.target_update == 0:
            with torch.no_grad():
                for t, p in zip(self._target_params, self._q_params, strict=True):
                    if cfg.tau >= 1.0:
                        t.copy_(p)  # hard update
                    else:
                        t.lerp_(p, cfg.tau)  # Polyak: t <- t + tau * (p - t)
        return loss.detach(), q_taken.detach().mean()

    def _log(self, hooks: TrainHooks) -> None:
        count = self._log_sums["count"]
        metrics = {"epsilon": self.epsilon(), "lr": self.learning_rate(),
                   "updates": float(self.updates)}
        if count:
            metrics["loss"] = self._log_sums["loss"] / count
            metrics["q"] = self._log_sums["q"] / count
        hooks.log(self.steps, {k: float(v) for k, v in metrics.items()})
        self._log_sums = {"loss": 0.0, "q": 0.0, "count": 0}
        every = self.config.log_every
        self._next_log = (self.steps // every + 1) * every

    # -- playing -----------------------------------------------------------------------------

    def agent(self) -> Any:
        """A greedy agent with a snapshot of the current network (later training leaves it be).
        On a board game it keeps the position and plays the legal move of highest Q;
        explain() gives the legal moves' Q-values."""
        inner = DQNAgent(copy.deepcopy(self.q), self.n_actions, self.device)
        if self.board:
            return BoardNetAgent(inner, self.features, self.labels, self.algo)
        return inner

    # -- checkpoints -------------------------------------------------------------------------

    def save(self, directory: Path, with_train_state: bool = True) -> None:
        """Write model.safetensors, optionally the train state (and replay), then meta.json."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with_replay = with_train_state and self.config.save_replay and self.replay is not None
        tensors = state = None
        if with_train_state:
            if with_replay:
                assert self.replay is not None
                self.replay.save(directory / REPLAY)
            tensors = {f"target.{k}": v for k, v in self.target.state_dict().items()}
            opt_tensors, opt_rest = optimizer_to_tensors(self.optimizer)
            tensors.update(opt_tensors)
            if self.pool is not None:
                tensors.update(self.pool.tensors())
            state = {
                **self._games_state(with_replay),
                "steps": self.steps, "vector_steps": self.vector_steps, "updates": self.updates,
                "epsilon": self.epsilon(), "lr": self.learning_rate(),
                # Training draws only from its own generators (exploration here, sampling in
                # the replay's state, episode seeds from counters), never the global RNGs.
                "explore_rng": self.rng.bit_generator.state, "optimizer": opt_rest,
                "log_sums": {k: float(v) for k, v in self._log_sums.items()},
                "next_log": self._next_log,
            }
        save_checkpoint(directory, {
            "algo": self.algo, "game": self.game_id, "config": asdict(self.config),
            "steps": self.steps, "seed": self.seed, "obs_shape": list(self.obs_shape),
            "obs_dtype": self.obs_dtype, "n_actions": self.n_actions,
            "train_state": with_train_state, "replay": with_replay,
        }, self.q.state_dict(), tensors, state)

    def _games_state(self, with_replay: bool) -> dict[str, Any]:
        """Where the games stand, in the layout train_state.json has always had: a
        single-player run's episode numbers and actions at the top; a board run's
        self-play state under "envs" with the pool and the replay's counters (its
        top-level episode fields are unused)."""
        n = self.config.num_envs
        if not isinstance(self.source, SelfPlaySource):
            return {**self.source.state(), "started": self.source.envs is not None}
        assert self.pool is not None
        replay = self.replay.state() if with_replay and self.replay is not None else None
        return {"envs": self.source.state(), "pool": self.pool.state(), "board_replay": replay,
                "episode_index": [0] * n, "episode_actions": [[] for _ in range(n)],
                "started": False}

    @classmethod
    def load(cls, directory: Path, device: torch.device, for_training: bool = False) -> DQN:
        """A DQN from a checkpoint directory; with `for_training`, ready to resume exactly.

        Needs no env unless training resumes. Refuses pickles (UserError) and
        never unpickles anything.
        """
        directory = Path(directory)
        if directory.is_file():
            load_tensors(directory)  # names pickles and torch.save files as such
            raise UserError(f"'{directory}' is a file; a DQN checkpoint is a directory with "
                            "meta.json and model.safetensors")
        meta = read_meta(directory)
        if meta["algo"] != cls.algo:
            raise UserError(f"'{directory}' is a {short(meta['algo'])} checkpoint, not 'dqn'")
        where = directory / META
        for key in ("game", "config", "seed", "obs_shape", "obs_dtype", "n_actions", "steps"):
            if key not in meta:
                raise UserError(f"'{where}' has no '{key}' field")
        game_id = field_game(meta, where)
        config = config_from_dict(DQNConfig, field_mapping(meta, "config", where), str(where))
        seed = field_int(meta, "seed", where)
        shape, obs_dtype = field_shape(meta, "obs_shape", where), field_dtype(meta, "obs_dtype",
                                                                               where)
        n_actions = field_int(meta, "n_actions", where, minimum=1, maximum=MAX_ACTIONS)
        steps = field_int(meta, "steps", where, minimum=0)
        self = cls.__new__(cls)
        with refusing(where, "describes a network that cannot be built"):
            self._setup(game_id, config, torch.device(device), seed, shape, obs_dtype, n_actions)
        load_weights(self.q, directory / MODEL, device)
        self.steps = steps
        if not for_training:
            self.target.load_state_dict(self.q.state_dict())
            return self
        if not meta.get("train_state"):
            raise UserError(f"'{directory}' was saved without train state; it can play "
                            "but not resume training")
        tensors, state = read_train_state(directory, device)
        load_weights(self.target, directory / TRAIN_STATE,
                     tensors={k[len("target."):]: v for k, v in tensors.items()
                              if k.startswith("target.")})
        with refusing(directory / TRAIN_STATE_JSON, "is not a training state this run "
                      "can resume from"):
            n = config.num_envs
            optimizer_from_tensors(self.optimizer, tensors, state["optimizer"])
            self.vector_steps = field_int(state, "vector_steps", None, minimum=0)
            self.updates = field_int(state, "updates", None, minimum=0)
            self.rng.bit_generator.state = state["explore_rng"]
            sums = field_mapping(state, "log_sums", None)
            self._log_sums = {"loss": float(sums["loss"]), "q": float(sums["q"]),
                              "count": field_int(sums, "count", None, minimum=0)}
            self._next_log = field_int(state, "next_log", None, minimum=0)
            if self.pool is None:
                self.source.load_state(state)
            else:
                self.source.load_state(state["envs"])
                self.pool.restore(tensors, state["pool"])
            if meta.get("replay"):
                self.replay = load_replay_buffer(
                    directory / REPLAY, config.buffer_size, shape, n,
                    num_actions=n_actions if self.board else None,
                    state=state.get("board_replay"))
        # Without a saved replay, training refills a new buffer for learning_starts
        # transitions before updating again (see `train`).
        return self


def _legal(q: torch.Tensor, masks: torch.Tensor | np.ndarray | None) -> torch.Tensor:
    """Q-values with the illegal actions at -inf (their max and argmax skip them);
    `masks` None: every action is legal."""
    if masks is None:
        return q
    return masked_logits(q, torch.as_tensor(masks, device=q.device))


def _single_player_spec(game_id: str) -> Any:
    from games.registry import resolve_game

    spec = resolve_game(game_id)
    if spec.make_gym is None:
        raise UserError(f"DQN trains on single-player games; '{game_id}' has {spec.players} players")
    return spec


def load_agent(directory: Path, device: str | torch.device = "cpu") -> Any:
    """The greedy agent of a DQN checkpoint directory (no env needed)."""
    return DQN.load(Path(directory), torch.device(device)).agent()


__all__ = ["DQN", "DQNAgent", "DQNConfig", "load_agent"]
