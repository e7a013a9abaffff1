"""Environment sources: a vector of N games a learner acts in, behind one interface.

A model-free learner (REINFORCE's envs aside: it plays whole episodes from chosen
seeds) sees its training games as a source of N lock-stepped games, whatever
they are:

- `GymSource`: N copies of a single-player gymnasium game (CartPole, Atari) in a
  gymnasium vector env, with seeded episodes;
- `SelfPlaySource`: N two-player board games (tic-tac-toe, connect four, Go)
  where the learner holds one seat and sampled opponents reply at once
  (agents/board_selfplay.py `SelfPlayEnvs`: the opponents, the seats, the pool).

Both have the same methods:

``observations() -> (obs, masks)``
    The learner's current observation of every game, ``(N, *shape)`` of
    ``dtype``, and the legal-action masks ``(N, num_actions)`` bool, or None on
    a single-player game (every action is legal). Calling it again before
    `step` returns the same arrays.
``step(actions) -> Step``
    Plays one action per game. ``Step`` (a named tuple) has ``rewards`` (N,)
    float32, ``terminated`` (N,) bool (the game ended: nothing to bootstrap),
    ``truncated`` (N,) bool (cut by a time limit, not ended: bootstrap from
    ``next_obs``), ``finished`` (an `EpisodeEnd` per real episode that ended in
    this step: env, reward, length; on a board game also the learner's seat and
    the final position), ``next_obs`` and ``next_masks``: the observation each
    action led to, for a single-player game **the real last observation** where
    an episode ended (the env has been reset since; `observations()` gives the
    next episode's first), for a board game the learner's next decision point,
    after the opponent's reply (after a finished game: the next game's start,
    which a target drops, since the game terminated). Games restart on their
    own: after `step`, `observations()` is where each game goes on from.
``num_envs``, ``shape``, ``dtype``, ``num_actions``, ``features``
    N, the observation shape and numpy dtype name, the number of actions, and
    the board game's planes encoder (games.features GameFeatures; None on a
    single-player game).
``state() -> dict`` / ``load_state(state)``
    The JSON that puts the games back where they were (train_state.json's
    ``envs``). A single-player source keeps each env's episode number and the
    actions of its current episode: on resume each env is reset with that
    episode's seed and the actions are replayed, so the run continues exactly
    as the uninterrupted one would. A self-play source keeps its episode
    counters and its rng; games in progress start afresh.
``close()``
    Closes the envs (a later `observations()` starts them again).

A single-player episode's reset seed is fixed by (seed, env, episode number).
Nothing in a source draws from a learner's generators: the actions are the
learner's, so its draws keep their order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from agents.checkpoint import field_actions, field_counts
from games.errors import UserError


@dataclass
class EpisodeEnd:
    """A real episode that ended: in which env, its return and length (the learner's
    steps; on a board game the plies of both sides), and on a board game the learner's
    seat (0 moved first) and the final position."""

    env: int
    reward: float
    length: int
    seat: int | None = None
    state: Any = None

    @property
    def plies(self) -> int:
        return self.length


class Step(NamedTuple):
    """What one `step(actions)` of a source gives back (see the module docstring)."""

    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    finished: list[EpisodeEnd]
    next_obs: np.ndarray
    next_masks: np.ndarray | None


def make_train_env(game_id: str) -> gym.Env:
    """The game's training env (make_gym(train=True)) with episode statistics.

    Promises: a Discrete action space, and info["episode"] = {"r", "l"} on the step a
    real episode ends, with the unclipped return. When the game's own wrappers already
    record statistics (Atari: inside reward clipping and life-loss resets), theirs are
    used; otherwise RecordEpisodeStatistics is added on the outside.
    """
    from games.registry import resolve_game

    spec = resolve_game(game_id)
    if spec.make_gym is None:
        raise UserError(f"game '{game_id}' is not a single-player gymnasium game; "
                        "the policy-gradient learners train only on those")
    env = spec.make_gym(render_mode=None, train=True)
    if not isinstance(env.action_space, gym.spaces.Discrete):
        raise UserError(f"game '{game_id}' has action space {env.action_space}; "
                        "the policy-gradient learners need a discrete one")
    inner = env
    while isinstance(inner, gym.Wrapper):
        if isinstance(inner, gym.wrappers.RecordEpisodeStatistics):
            return env
        inner = inner.env
    return gym.wrappers.RecordEpisodeStatistics(env)


class GymSource:
    """``num_envs`` copies of a single-player gymnasium game, in lock-step, seeded.

    Envs are not auto-reset: at an episode's end the real last observation is
    handed out (`Step.next_obs`; truncation bootstraps from it), then that env is
    reset with its next episode seed. `episode_index` and `episode_actions` are
    all a checkpoint needs to rebuild the envs exactly. `make_env(game_id)` builds
    one env (default `make_train_env`); `shape`, `dtype` and `num_actions` come
    from `spaces` when given, else from one probe env.
    """

    features = None

    def __init__(self, game_id: str, num_envs: int, seed: int,
                 make_env: Callable[[str], gym.Env] = make_train_env,
                 spaces: tuple[Sequence[int], str, int] | None = None):
        self.game_id, self.num_envs, self.seed = game_id, num_envs, seed
        self.make_env = make_env
        self._spaces = None if spaces is None else (tuple(int(d) for d in spaces[0]),
                                                    str(spaces[1]), int(spaces[2]))
        self.episode_index = [0] * num_envs
        self.episode_actions: list[list[int]] = [[] for _ in range(num_envs)]
        self.envs: gym.vector.SyncVectorEnv | None = None
        self.obs: np.ndarray | None = None

    def _probe(self) -> tuple[tuple[int, ...], str, int]:
        if self._spaces is None:
            env = self.make_env(self.game_id)
            try:
                space = env.observation_space
                self._spaces = (tuple(int(d) for d in space.shape), str(space.dtype),
                                int(env.action_space.n))
            finally:
                env.close()
        return self._spaces

    @property
    def shape(self) -> tuple[int, ...]:
        return self._probe()[0]

    @property
    def dtype(self) -> str:
        return self._probe()[1]

    @property
    def num_actions(self) -> int:
        return self._probe()[2]

    def episode_seed(self, env: int) -> int:
        return int(np.random.SeedSequence([self.seed, env, self.episode_index[env]])
                   .generate_state(1)[0])

    def start(self) -> None:
        """Make the envs; reset each with its current episode seed and replay that episode."""
        self.envs = gym.vector.SyncVectorEnv(
            [lambda: self.make_env(self.game_id) for _ in range(self.num_envs)],
            autoreset_mode=gym.vector.AutoresetMode.DISABLED)
        obs, _ = self.envs.reset(seed=[self.episode_seed(i) for i in range(self.num_envs)])
        for i, actions in enumerate(self.episode_actions):
            for action in actions:
                step = self.envs.envs[i].step(action)
                if step[2] or step[3]:
                    raise UserError("resume: a replayed episode ended early; the game is not "
                                    "deterministic given its seed, so it cannot be resumed exactly")
                obs[i] = step[0]
        self.obs = obs

    def observations(self) -> tuple[np.ndarray, None]:
        if self.envs is None:
            self.start()
        return self.obs, None

    def step(self, actions: Sequence[int] | np.ndarray) -> Step:
        if self.envs is None:
            self.start()
        actions = np.asarray(actions)
        next_obs, reward, term, trunc, infos = self.envs.step(actions)
        for history, a in zip(self.episode_actions, actions.tolist()):
            history.append(a)
        done = term | trunc
        finished: list[EpisodeEnd] = []
        if done.any():  # report real episode ends; reset those envs with their next seeds
            stats = infos.get("episode", {})
            has = infos.get("_episode", np.zeros(len(done), dtype=bool))
            for i in np.flatnonzero(done):
                if has[i]:
                    finished.append(EpisodeEnd(int(i), float(stats["r"][i]), int(stats["l"][i])))
                self.episode_index[i] += 1
                self.episode_actions[i] = []
            seeds = [self.episode_seed(i) if done[i] else None for i in range(len(done))]
            self.obs, _ = self.envs.reset(seed=seeds, options={"reset_mask": done.copy()})
        else:
            self.obs = next_obs
        return Step(np.asarray(reward, dtype=np.float32), np.asarray(term, dtype=bool),
                    np.asarray(trunc, dtype=bool), finished, next_obs, None)

    def state(self) -> dict[str, Any]:
        return {"episode_index": list(self.episode_index),
                "episode_actions": [list(a) for a in self.episode_actions]}

    def load_state(self, state: dict[str, Any]) -> None:
        """Take back `state()` (each field checked; the envs restart on the next use)."""
        field_counts(state, "episode_index", None, self.num_envs)
        field_actions(state, "episode_actions", None, self.num_envs, self.num_actions)
        self.episode_index = [int(i) for i in state["episode_index"]]
        self.episode_actions = [[int(a) for a in acts] for acts in state["episode_actions"]]
        self.close()

    def close(self) -> None:
        if self.envs is not None:
            self.envs.close()
        self.envs = self.obs = None


class SelfPlaySource:
    """``num_envs`` board games, the learner against opponents from `sampler`
    (agents/board_selfplay.py `SelfPlayEnvs`, which this adapts: its planes, legal
    masks, seats, opponents' replies and state are unchanged). `games` is that
    SelfPlayEnvs; `set_sampler` and `results` are its."""

    dtype = "float32"

    def __init__(self, game_id: str, num_envs: int, seed: int, sampler: Any):
        from agents.board_selfplay import SelfPlayEnvs

        self.games = SelfPlayEnvs(game_id, num_envs, seed, sampler)
        self.num_envs = num_envs
        self.features = self.games.features
        self.shape = tuple(self.features.shape)
        self.num_actions = int(self.features.num_actions)
        self._current: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def results(self) -> dict[str, int]:
        """Wins, draws and losses of the learner so far."""
        return self.games.results

    def set_sampler(self, sampler: Any) -> None:
        """Opponents of the games that start from now on come from ``sampler(rng)``."""
        self.games.set_sampler(sampler)

    def observations(self) -> tuple[np.ndarray, np.ndarray]:
        if self._current is None:
            self._current = self.games.observations()
        return self._current

    def step(self, actions: Sequence[int] | np.ndarray) -> Step:
        rewards, dones, ends = self.games.step(actions)
        self._current = None
        next_obs, next_masks = self.observations()
        finished = [EpisodeEnd(e.env, e.reward, e.plies, e.seat, e.state) for e in ends]
        return Step(rewards, dones, np.zeros_like(dones), finished, next_obs, next_masks)

    def state(self) -> dict[str, Any]:
        return self.games.state()

    def load_state(self, state: dict[str, Any]) -> None:
        self.games.load_state(state)
        self._current = None

    def close(self) -> None:
        """Nothing to close: the games live in memory."""
