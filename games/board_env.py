"""One PettingZoo AEC env for every two-player board game with a `GameState`.

`BoardGameEnv` plays the rules of a `GameState` and reproduces, step for
step, what PettingZoo's classic envs do once wrapped by their own ``env()``
factories, i.e. the raw env inside ``TerminateIllegalWrapper(illegal_reward=-1)``,
``AssertOutOfBoundsWrapper`` and ``OrderEnforcingWrapper``:

* agent names, action numbers, observations and action masks are PettingZoo's
  (the mask is all zeros except for ``agent_selection``, and, as in
  PettingZoo, that agent keeps a mask of the still-empty places even after the
  game has ended);
* the game's end gives ``rewards`` (+1/-1 or 0/0, ints) and terminates both
  agents; then each agent takes one "dead step" (action None) and leaves
  ``agents``, in PettingZoo's order;
* an in-bounds but illegal action ends the game: the mover gets -1.0, the other
  0, both are terminated AND truncated, and the dead steps start with the
  first agent;
* an out-of-bounds action raises AssertionError, a non-None action from a
  dead agent ValueError, and calls before ``reset()`` fail as they do there.

The three wrappers' checks are done inline rather than by wrapper objects,
because a Python-level call per wrapper per step is most of what makes
PettingZoo's envs slow.

The live position is ``env.unwrapped.state`` (note: this attribute takes the
place of AECEnv's optional global-state method ``state()``), and the last
action applied is ``env.unwrapped.last_action`` (None at reset).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv
from pettingzoo.utils.env_logger import EnvLogger

from games.state import GameState

ILLEGAL_MOVE_REWARD = -1


class BoardGameEnv(AECEnv):
    """A two-player AEC env over a `GameState`, equal to a wrapped PettingZoo classic env.

    new_state: makes the starting position (called at construction and on
        every reset).
    agent_names: the two agent names, the first one moving first.
    name: ``metadata["name"]``, also what ``str(env)`` returns.
    render_mode: None, "ansi" (``render()`` returns the board text) or
        "human" (the board text is printed after every move).
    mask_after_end: the action mask ``agent_selection`` sees once the game is
        over (PettingZoo's envs keep showing the empty places); None means
        all zeros.
    render_fps: ``metadata["render_fps"]``.
    """

    def __init__(
        self,
        new_state: Callable[[], GameState],
        agent_names: Sequence[str],
        name: str,
        render_mode: str | None = None,
        mask_after_end: Callable[[GameState], np.ndarray] | None = None,
        render_fps: int = 1,
        render_modes: Sequence[str] = ("human", "ansi"),
    ) -> None:
        super().__init__()
        if len(agent_names) != 2 or len(set(agent_names)) != 2:
            raise ValueError(f"a board game needs two distinct agent names, got {agent_names!r}")
        self.metadata = {
            "render_modes": list(render_modes),
            "name": name,
            "is_parallelizable": False,
            "render_fps": render_fps,
        }
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, "
                f"got {render_mode!r}"
            )
        self.render_mode = render_mode
        self._new_state = new_state
        self._mask_after_end = mask_after_end
        self.possible_agents = list(agent_names)
        self._player_of = {agent: index for index, agent in enumerate(agent_names)}
        self._opponent_of = {agent_names[0]: agent_names[1], agent_names[1]: agent_names[0]}

        self.state: GameState = new_state()
        self.last_action: int | None = None
        self._num_actions = self.state.num_actions
        self._no_actions = np.zeros(self._num_actions, dtype=np.int8)
        self._action_space = spaces.Discrete(self._num_actions)
        first_observation = self.state.observation(0)
        self._observation_space = spaces.Dict(
            {
                "observation": spaces.Box(low=0, high=1, shape=first_observation.shape,
                                          dtype=first_observation.dtype),
                "action_mask": spaces.Box(low=0, high=1, shape=(self._num_actions,), dtype=np.int8),
            }
        )
        self.action_spaces = {agent: self._action_space for agent in agent_names}
        self.observation_spaces = {agent: self._observation_space for agent in agent_names}
        # As with OrderEnforcingWrapper: agents, rewards, terminations,
        # truncations, infos and agent_selection do not exist before reset().
        self._has_reset = False
        self._has_updated = False

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """Start a new game. The rules are deterministic, so `seed` and `options` are ignored."""
        self._has_reset = True
        self._has_updated = True
        self.state = self._new_state()
        self.last_action = None
        self.agents = self.possible_agents[:]
        self.rewards = dict.fromkeys(self.agents, 0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {agent: {} for agent in self.agents}
        self.agent_selection = self.agents[0]
        # `_skip_agent_selection` is deliberately left alone, as PettingZoo's
        # envs leave it: it only matters if a reset interrupts the dead steps.

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        """``{"observation": planes, "action_mask": mask}`` for `agent`, as fresh arrays."""
        if not self._has_reset:
            EnvLogger.error_observe_before_reset()
        try:
            player = self._player_of[agent]
        except KeyError:
            raise ValueError(f"{agent!r} is not one of {self.possible_agents}") from None
        state = self.state
        if agent != self.agent_selection:
            mask = self._no_actions.copy()
        elif not state.is_terminal():
            mask = state.legal_mask()
        elif self._mask_after_end is not None:
            mask = self._mask_after_end(state)
        else:
            mask = self._no_actions.copy()
        return {"observation": state.observation(player), "action_mask": mask}

    def step(self, action: int | None) -> None:
        """Play `action` for ``agent_selection`` (None for an agent already done).

        An in-bounds illegal action ends the game as a loss for the mover.
        """
        # OrderEnforcingWrapper
        if not self._has_reset:
            EnvLogger.error_step_before_reset()
        self._has_updated = True
        agents = self.agents
        if not agents:
            EnvLogger.warn_step_after_terminated_truncated()
            return
        agent = self.agent_selection
        done = self.terminations[agent] or self.truncations[agent]
        # AssertOutOfBoundsWrapper (the plain-int test is a fast path of the same check)
        if not (type(action) is int and 0 <= action < self._num_actions) and not (
            (action is None and done) or self._action_space.contains(action)
        ):
            raise AssertionError("action is not in action space")
        # TerminateIllegalWrapper and the raw env both hand dead steps to AECEnv.
        if done:
            self._was_dead_step(action)
            return
        action = int(action)
        state = self.state
        if action not in state.legal_actions():
            self._end_by_illegal_move(agent)
            return
        state.play(action)
        self.last_action = action
        if state.is_terminal():
            for name, value in zip(self.possible_agents, self.terminal_rewards(state)):
                self.rewards[name] += int(value) if float(value).is_integer() else value
            self.terminations = dict.fromkeys(agents, True)
            self._accumulate_rewards()
        self.agent_selection = self._opponent_of[agent]
        if self.render_mode == "human":
            self.render()

    def terminal_rewards(self, state: GameState) -> Sequence[float]:
        """Each agent's reward when the game ends (the game's own returns by default)."""
        return state.returns()

    def adjudicate(self) -> Sequence[float] | None:
        """Each agent's reward when a move cap stops the game in the current position.

        None (the default) when the game has no rule for an unfinished position:
        the capped game is a draw. Go scores the board (see GoEnv).
        """
        return None

    def _end_by_illegal_move(self, mover: str) -> None:
        """What TerminateIllegalWrapper does: the mover loses, everyone is done."""
        EnvLogger.warn_on_illegal_move()
        self._cumulative_rewards[mover] = 0
        self.terminations = dict.fromkeys(self.agents, True)
        self.truncations = dict.fromkeys(self.agents, True)
        self.rewards = dict.fromkeys(self.truncations, 0)
        self.rewards[mover] = float(ILLEGAL_MOVE_REWARD)
        self._accumulate_rewards()
        self._deads_step_first()

    def agent_iter(self, max_iter: int = 2**63) -> _AgentIterable:
        """The agents to act, in turn, until all are done or `max_iter` turns.

        As with OrderEnforcingWrapper, each turn must be followed by step() or reset().
        """
        if not self._has_reset:
            EnvLogger.error_agent_iter_before_reset()
        return _AgentIterable(self, max_iter)

    def render(self) -> str | None:
        """The board text ("ansi"), or print it ("human"); None without a render mode."""
        if not self._has_reset:
            EnvLogger.error_render_before_reset()
        if self.render_mode is None:
            gymnasium.logger.warn(
                "You are calling render method without specifying any render mode."
            )
            return None
        text = self.state.render_text(self.last_action)
        if self.render_mode == "human":
            print(text, flush=True)
            return None
        return text

    def close(self) -> None:
        """Nothing to release."""


class _AgentIterable:
    """What `agent_iter` returns: each iter() of it is a fresh run of turns, as PettingZoo's."""

    __slots__ = ("_env", "_max_iter")

    def __init__(self, env: BoardGameEnv, max_iter: int) -> None:
        self._env = env
        self._max_iter = max_iter

    def __iter__(self) -> Iterator[str]:
        env, turns_left = self._env, self._max_iter
        while env.agents and turns_left > 0:
            turns_left -= 1
            if not env._has_updated:
                raise AssertionError("need to call step() or reset() in a loop over `agent_iter`")
            env._has_updated = False
            yield env.agent_selection
