"""Self-play for the model-free learners (PPO, DQN) on two-player board games.

PPO and DQN learn a policy for one side of a board game by playing it against
opponents, seen as part of the environment:

- `SelfPlayEnvs`: ``num_envs`` games over the fast search state
  (games/state.py); the learners see them through agents/sources.py
  `SelfPlaySource`, an environment source like a single-player game's vector
  env. In each game the learner holds one seat, alternating from
  episode to episode (env i plays first in its even episodes if i is even,
  else in its odd ones); the opponent of the game replies at once, so the
  learner only ever sees its own decision points. An observation is the
  mover's-view planes of games/features.py, (C, H, W) float32, and
  the legal-action mask, (A,) bool, comes with it. The reward is 0 until the
  game ends, then the result from the learner's side: +1, 0 or -1.
- Opponents come from a **sampler**, called once per episode:
  ``sampler(rng) -> opponent`` with ``rng`` a numpy Generator. An opponent is
  one of:

  * an object with ``act(state: GameState) -> int`` (it is handed a copy of
    the position, the side to move being ``state.to_play``), optionally with
    ``act_batch(states: list[GameState]) -> list[int]``: each step, all games
    facing the same opponent object make one ``act_batch`` call (one forward
    pass for a network);
  * an arena `Agent` (``agents.base.Agent``; e.g. ``make_agent("greedy")``):
    it is started once and then, before each of its moves, reset and shown the
    position (search agents get ``state``), so any agent whose move depends on
    the position only (random, greedy, mcts, alphazero, trained PPO/DQN runs)
    can play any number of games at once (not so agents that keep the game in
    an outside engine: ``gnugo``, ``gtp:``);
  * an agent reference string (``"random"``, ``"mcts:sims=50"``, a run dir).

  Set it with ``learner.set_opponent_sampler(fn)`` (or ``SelfPlayEnvs.set_sampler``).
  The default is `SnapshotPool`: the learner's current weights with
  probability ``opponent_current``, else a uniformly chosen earlier snapshot
  (one every ``snapshot_every`` updates; the newest ``snapshot_pool`` kept).
- `BoardNetAgent`: the trained network as a match agent, playing from the
  search state it keeps (legal moves only).
- Evaluation is the trainer's: win/draw/loss rates against fixed opponents
  (``random``, ``greedy``, ``mcts:sims=N``) every so many steps, and the run's best/
  is the checkpoint with the best mean score (agents/evaluate.py, arena/train.py).

Checkpoints keep the snapshot pool's weights (safetensors) and the episode
counters; games that were in progress when a checkpoint was written are
started afresh on resume. A sampler set with `set_opponent_sampler` is code,
not state: a loaded learner plays its pool until one is set again.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.base import ActionInsight, Agent, Insight, MatchContext, SearchAgent
from games.errors import UserError
from games.state import GameState

Sampler = Callable[[np.random.Generator], Any]


def is_board_game(game_id: str) -> bool:
    """True for a two-player game with a search state and network planes (tictactoe,
    connect4, go5..go19): the games PPO and DQN learn by self-play. Only the built-in
    games are looked at, so asking never makes an env (loading a checkpoint must not)."""
    from games.registry import builtin_games

    return any(spec.id == game_id and spec.new_state is not None and spec.make_gym is None
               for spec in builtin_games())


def board_features(game_id: str) -> Any:
    """The game's GameFeatures (planes, actions); UserError for games without them."""
    from games.features import game_features

    return game_features(game_id)


def action_labels(game_id: str) -> tuple[str, ...]:
    """Each action's label, e.g. 'b2', '4' or 'D4'."""
    from games.registry import resolve_game

    state = resolve_game(game_id).new_state()
    return tuple(state.action_label(a) for a in range(state.num_actions))


def masked_logits(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Logits with every illegal action at -inf: softmax gives it probability 0, sampling
    never draws it, and the log-probabilities of legal actions are normalised over them."""
    return logits.masked_fill(~mask, -torch.inf)


def masked_entropy(log_probs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Entropy per row of a masked policy: -sum over legal a of p(a) log p(a).

    Illegal actions have log p = -inf and p = 0; their terms are dropped before
    the product, since 0 * -inf is NaN (and so would be its gradient).
    """
    safe = log_probs.masked_fill(~mask, 0.0)
    return -(safe.exp() * safe).masked_fill(~mask, 0.0).sum(-1)


# --- opponents --------------------------------------------------------------------------------


class AgentOpponent:
    """An arena Agent as an opponent: started once, then reset and shown each position."""

    def __init__(self, agent: Agent, game: Any, seed: int):
        self.agent = agent
        self.game = game
        env = game.env()
        try:
            space = env.action_space(env.possible_agents[0])
            seat = env.possible_agents[0]
        finally:
            env.close()
        agent.start(MatchContext(game, seat, 0, int(seed), space))

    def act(self, state: GameState) -> int:
        agent = self.agent
        # A SearchAgent, or user code that is one in its own process (agents/isolation.py)
        if isinstance(agent, SearchAgent) or getattr(agent, "keeps_state", False) is True:
            agent.state = state.copy()
        agent.reset()
        return int(agent.act(state.observation(state.to_play), state.legal_mask()))


class NetOpponent:
    """A network playing from the mover's planes: ``net(planes)`` returns logits or
    Q-values (or a tuple whose first item is). Illegal actions are masked out; it
    samples from the softmax (``policy="sample"``) or plays the argmax
    (``policy="greedy"``), with probability ``epsilon`` a uniform legal move instead."""

    def __init__(self, net: nn.Module, features: Any, device: torch.device,
                 policy: str = "sample", epsilon: float = 0.0, seed: int = 0):
        if policy not in ("sample", "greedy"):
            raise ValueError(f"policy must be 'sample' or 'greedy', got {policy!r}")
        self.net, self.features, self.device = net, features, device
        self.policy, self.epsilon = policy, epsilon
        self.rng = np.random.default_rng(seed)

    @torch.no_grad()
    def act_batch(self, states: Sequence[GameState]) -> list[int]:
        planes = torch.as_tensor(self.features.encode_batch(list(states)), device=self.device)
        masks = np.stack([s.legal_mask() for s in states]).astype(bool)
        out = self.net(planes)
        logits = out[0] if isinstance(out, tuple) else out
        logits = masked_logits(logits.double(), torch.as_tensor(masks, device=self.device))
        if self.policy == "greedy":
            actions = logits.argmax(1).cpu().numpy()
        else:
            probs = torch.softmax(logits, 1).cpu().numpy()
            cum = probs.cumsum(1)
            draws = self.rng.random(len(states))[:, None] * cum[:, -1:]
            actions = np.minimum((cum <= draws).sum(1), probs.shape[1] - 1)
            # cumsum rounding can land on a zero-probability action; fall back to the argmax
            bad = ~masks[np.arange(len(states)), actions]
            actions[bad] = probs[bad].argmax(1)
        if self.epsilon > 0:
            for i in np.flatnonzero(self.rng.random(len(states)) < self.epsilon):
                legal = np.flatnonzero(masks[i])
                actions[i] = legal[self.rng.integers(len(legal))]
        return [int(a) for a in actions]

    def act(self, state: GameState) -> int:
        return self.act_batch([state])[0]


class SnapshotPool:
    """The default opponent sampler: self-play against the learner's own snapshots.

    ``pool(rng)`` is the learner's current network with probability
    ``p_current`` (always while the pool is empty), else a uniformly chosen
    snapshot. ``after_update(updates)`` takes a snapshot every ``every``
    updates; the oldest is dropped beyond ``size``. Playing earlier selves as
    well as the current one keeps the learner from chasing its own tail
    (forgetting how to beat a strategy it no longer meets).
    """

    def __init__(self, net: nn.Module, make_opponent: Callable[[nn.Module], Any],
                 p_current: float, every: int, size: int):
        self.net = net
        self.make_opponent = make_opponent
        self.p_current, self.every, self.size = p_current, every, size
        self.current = make_opponent(net)
        self.snapshots: list[nn.Module] = []
        self.opponents: list[Any] = []
        self.taken_at: list[int] = []  # the update count of each snapshot

    def __call__(self, rng: np.random.Generator) -> Any:
        if not self.opponents or rng.random() < self.p_current:
            return self.current
        return self.opponents[int(rng.integers(len(self.opponents)))]

    def after_update(self, updates: int) -> None:
        if self.size > 0 and self.every > 0 and updates % self.every == 0:
            self.add(updates)

    def add(self, updates: int) -> None:
        snapshot = copy.deepcopy(self.net).eval().requires_grad_(False)
        self.snapshots.append(snapshot)
        self.opponents.append(self.make_opponent(snapshot))
        self.taken_at.append(int(updates))
        if len(self.snapshots) > self.size:
            del self.snapshots[0], self.opponents[0], self.taken_at[0]

    def tensors(self) -> dict[str, torch.Tensor]:
        """Every snapshot's weights, keyed pool.<index>.<parameter>."""
        return {f"pool.{i}.{k}": v for i, net in enumerate(self.snapshots)
                for k, v in net.state_dict().items()}

    def state(self) -> dict[str, Any]:
        return {"taken_at": list(self.taken_at)}

    def restore(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        taken = state.get("taken_at", [])
        if not isinstance(taken, list) or len(taken) > self.size:
            raise ValueError(f"the pool's 'taken_at' is not a list of at most {self.size} "
                             "snapshots")
        self.snapshots, self.opponents, self.taken_at = [], [], []
        for i, updates in enumerate(taken):
            prefix = f"pool.{i}."
            self.add(int(updates))
            self.snapshots[-1].load_state_dict({k[len(prefix):]: v for k, v in tensors.items()
                                                if k.startswith(prefix)})


# --- the environments -------------------------------------------------------------------------


@dataclass
class EpisodeEnd:
    """A finished self-play game: which env, the learner's seat and result, the final position."""

    env: int
    seat: int  # the learner's player index (0 moved first)
    reward: float  # the result from the learner's side: +1, 0 or -1
    plies: int  # moves of both sides
    state: GameState  # the final position


class SelfPlayEnvs:
    """``num_envs`` games of one board game, the learner against sampled opponents.

    ``observations()`` gives the learner's planes and legal masks; ``step(actions)``
    plays the learner's moves and the opponents' replies (batched per opponent),
    ends and restarts finished games, and returns the rewards, the done flags and
    the finished games (`EpisodeEnd`).
    """

    def __init__(self, game_id: str, num_envs: int, seed: int, sampler: Sampler):
        from games.registry import resolve_game

        if num_envs < 1:
            raise UserError(f"num_envs must be at least 1, got {num_envs}")
        self.game = resolve_game(game_id)
        if self.game.new_state is None:
            raise UserError(f"game '{game_id}' has no search state to play self-play games on")
        self.features = board_features(game_id)
        self.num_envs, self.seed = num_envs, seed
        self.sampler = sampler
        self.rng = np.random.default_rng([seed, 7])
        self.episode_index = [0] * num_envs
        self.states: list[GameState] = []
        self.seats = [0] * num_envs
        self.opponents: list[Any] = [None] * num_envs
        self.plies = [0] * num_envs
        self._adapted: dict[Any, tuple[Any, Any]] = {}  # ref or id(agent) -> (it, its adapter)
        self.started = False
        self.results = {"wins": 0, "draws": 0, "losses": 0}

    def set_sampler(self, sampler: Sampler) -> None:
        """Opponents of the games that start from now on come from `sampler`."""
        self.sampler = sampler

    def _opponent(self, picked: Any) -> Any:
        """The playable form of what the sampler returned (see the module docstring)."""
        if isinstance(picked, str | Agent):
            key = picked if isinstance(picked, str) else id(picked)
            if key not in self._adapted:
                agent = picked
                if isinstance(picked, str):
                    from agents.registry import make_agent

                    agent = make_agent(picked)
                seed = int(self.rng.integers(2**31))
                self._adapted[key] = (picked, AgentOpponent(agent, self.game, seed))
            return self._adapted[key][1]
        if not callable(getattr(picked, "act", None)):
            raise UserError(f"opponent sampler returned {picked!r}, which has no act(state)")
        return picked

    def _begin(self, i: int) -> None:
        self.states[i] = self.game.new_state()
        self.seats[i] = (i + self.episode_index[i]) % 2
        self.opponents[i] = self._opponent(self.sampler(self.rng))
        self.plies[i] = 0

    def start(self) -> None:
        """Start every game (the opponents of games where the learner is second move)."""
        self.states = [self.game.new_state() for _ in range(self.num_envs)]
        for i in range(self.num_envs):
            self._begin(i)
        self._opponents_move(range(self.num_envs))
        self.started = True

    def _opponents_move(self, envs: Sequence[int] | range) -> None:
        """Each listed game whose opponent is to move gets its move: one call per opponent."""
        groups: dict[int, list[int]] = {}
        for i in envs:
            state = self.states[i]
            if not state.is_terminal() and state.to_play != self.seats[i]:
                groups.setdefault(id(self.opponents[i]), []).append(i)
        for members in groups.values():
            opponent = self.opponents[members[0]]
            if callable(getattr(opponent, "act_batch", None)):
                actions = opponent.act_batch([self.states[i] for i in members])
            else:
                actions = [opponent.act(self.states[i].copy()) for i in members]
            for i, action in zip(members, actions, strict=True):
                state = self.states[i]
                if not state.legal_mask()[int(action)]:
                    raise RuntimeError(f"opponent {opponent!r} played the illegal action {action}")
                state.play(int(action))
                self.plies[i] += 1

    def observations(self) -> tuple[np.ndarray, np.ndarray]:
        """(planes (N, C, H, W) float32, legal masks (N, A) bool) of the learner's positions."""
        if not self.started:
            self.start()
        planes = self.features.encode_batch(self.states)
        masks = np.stack([s.legal_mask() for s in self.states]).astype(bool)
        return planes, masks

    def step(self, actions: Sequence[int] | np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, list[EpisodeEnd]]:
        """Play the learner's `actions` and the replies; (rewards, dones, finished episodes)."""
        n = self.num_envs
        rewards = np.zeros(n, dtype=np.float32)
        dones = np.zeros(n, dtype=bool)
        for i, action in enumerate(actions):
            state = self.states[i]
            if not state.legal_mask()[int(action)]:
                raise ValueError(f"env {i}: the learner chose the illegal action {int(action)}")
            state.play(int(action))
            self.plies[i] += 1
        self._opponents_move(range(n))
        finished: list[EpisodeEnd] = []
        restarted = []
        for i, state in enumerate(self.states):
            if state.is_terminal():
                reward = float(state.returns()[self.seats[i]])
                rewards[i], dones[i] = reward, True
                finished.append(EpisodeEnd(i, self.seats[i], reward, self.plies[i], state))
                key = "wins" if reward > 0 else "losses" if reward < 0 else "draws"
                self.results[key] += 1
                self.episode_index[i] += 1
                self._begin(i)
                restarted.append(i)
        if restarted:
            self._opponents_move(restarted)
        return rewards, dones, finished

    def state(self) -> dict[str, Any]:
        return {"episode_index": list(self.episode_index), "rng": self.rng.bit_generator.state,
                "results": dict(self.results)}

    def load_state(self, state: dict[str, Any]) -> None:
        index = state["episode_index"]
        if not isinstance(index, list) or len(index) != self.num_envs:
            raise ValueError(f"'episode_index' is not a list of {self.num_envs} counts")
        self.episode_index = [int(i) for i in index]
        self.rng.bit_generator.state = state["rng"]
        self.results = {k: int(v) for k, v in state.get("results", self.results).items()}
        self.started = False


# --- the trained network as an agent ----------------------------------------------------------


class BoardNetAgent(SearchAgent):
    """A board-game network in a match: it keeps the position from the moves it hears,
    encodes it as the mover's planes and lets `inner` (a PolicyAgent or DQNAgent, which
    mask illegal actions) choose among the legal moves. explain() is the inner agent's
    (probabilities or Q-values of the legal moves), labelled in the game's notation."""

    def __init__(self, inner: Agent, features: Any, labels: Sequence[str], name: str):
        self.inner = inner
        self.features = features
        self.labels = list(labels)
        self.name = name

    def start(self, ctx: MatchContext) -> None:
        super().start(ctx)
        self.inner.start(ctx)

    def reset(self) -> None:
        self.inner.reset()

    def act(self, observation: Any, action_mask: np.ndarray | None) -> int:
        mask = self.state.legal_mask()
        if action_mask is not None:
            mask = mask & np.asarray(action_mask).astype(mask.dtype)
        return int(self.inner.act(self.features.encode(self.state), mask))

    def explain(self) -> Insight | None:
        insight = self.inner.explain()
        if insight is None:
            return None
        insight.actions = [ActionInsight(a.action, self.labels[a.action], a.score, a.visits,
                                         a.prior) for a in insight.actions]
        return insight
