"""Arena's board-game envs against PettingZoo's own, step by step.

Both envs are driven with the same actions and compared after every step:
agent order, last(), rewards, cumulative rewards, terminations, truncations,
infos and both agents' observations (arrays, dtypes and action masks).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import zip_longest
from typing import Any

import numpy as np
import pytest
from pettingzoo.classic.connect_four import connect_four as connect_four_v3
from pettingzoo.classic.tictactoe import tictactoe as tictactoe_v3
from pettingzoo.utils.env_logger import EnvLogger

from games import connect4, tictactoe

ENV_PAIRS: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
    "tictactoe": (tictactoe.env, tictactoe_v3.env),
    "connect4": (connect4.env, connect_four_v3.env),
}


@pytest.fixture(autouse=True)
def quiet_illegal_move_warnings():
    """PettingZoo logs (and queues) a warning per illegal move; hundreds are noise here."""
    EnvLogger.suppress_output()
    yield
    EnvLogger.unsuppress_output()
    EnvLogger.flush()


def assert_same_dict(ours: dict, theirs: dict, what: str) -> None:
    assert list(ours.items()) == list(theirs.items()), f"{what}: {ours} != {theirs}"
    for key in theirs:
        assert type(ours[key]) is type(theirs[key]), (
            f"{what}[{key}]: {ours[key]!r} vs {theirs[key]!r}"
        )


def assert_same_observation(ours: dict, theirs: dict, what: str) -> None:
    assert list(ours) == list(theirs), what
    for key in theirs:
        mine, pz = ours[key], theirs[key]
        assert mine.dtype == pz.dtype, f"{what} {key}: {mine.dtype}"
        assert mine.shape == pz.shape, f"{what} {key}: {mine.shape}"
        assert np.array_equal(mine, pz), f"{what} {key}:\n{mine}\n!=\n{pz}"


def assert_same_env(ours: Any, theirs: Any, what: str) -> None:
    assert ours.agents == theirs.agents, what
    assert ours.agent_selection == theirs.agent_selection, what
    assert_same_dict(ours.rewards, theirs.rewards, f"{what} rewards")
    assert_same_dict(ours._cumulative_rewards, theirs._cumulative_rewards, f"{what} cumulative")
    assert_same_dict(ours.terminations, theirs.terminations, f"{what} terminations")
    assert_same_dict(ours.truncations, theirs.truncations, f"{what} truncations")
    assert ours.infos == theirs.infos, what
    for agent in theirs.possible_agents:
        mine, pz = ours.observe(agent), theirs.observe(agent)
        assert_same_observation(mine, pz, f"{what} observe({agent})")
        # PettingZoo returns fresh arrays, so scribbling on ours must not reach later
        # observations. (Not on PettingZoo's: TerminateIllegalWrapper keeps the mask it returned.)
        for array in mine.values():
            array.fill(7)


def play_side_by_side(
    ours: Any,
    theirs: Any,
    rng: np.random.Generator,
    illegal_from: int | None = None,
    reset_after: int | None = None,
    favourite_column: int | None = None,
) -> bool:
    """Play one game on both envs with the same random actions, comparing at every turn.

    illegal_from: from this turn on, play an in-bounds illegal action as soon as one exists.
    reset_after: stop after this many steps (the next game's reset interrupts this one).
    favourite_column: play this action half the time when legal (fills a column early).
    Returns whether an illegal action was played.
    """
    ours.reset(seed=int(rng.integers(1000)))
    theirs.reset(seed=int(rng.integers(1000)))
    assert ours.possible_agents == theirs.possible_agents
    assert_same_env(ours, theirs, "after reset")
    kept_observations = []
    illegal_played = False
    steps = 0
    for agent, pz_agent in zip_longest(ours.agent_iter(), theirs.agent_iter()):
        what = f"step {steps}"
        assert agent == pz_agent, what
        mine, pz = ours.last(), theirs.last()
        assert_same_observation(mine[0], pz[0], f"{what} last()")
        assert mine[1:] == pz[1:], f"{what}: {mine[1:]} != {pz[1:]}"
        assert type(mine[1]) is type(pz[1]), f"{what}: reward {mine[1]!r} vs {pz[1]!r}"
        assert_same_env(ours, theirs, what)
        kept_observations.append((mine[0]["observation"], mine[0]["observation"].copy()))

        terminated, truncated = mine[2], mine[3]
        mask = mine[0]["action_mask"]
        if terminated or truncated:
            action = None
        elif illegal_from is not None and not illegal_played and steps >= illegal_from and (
            mask == 0
        ).any():
            action = rng.choice(np.flatnonzero(mask == 0))
            illegal_played = True
        elif favourite_column is not None and mask[favourite_column] and rng.random() < 0.5:
            action = favourite_column
        else:
            action = rng.choice(np.flatnonzero(mask))
        if action is not None and rng.random() < 0.5:
            action = int(action)  # both plain ints and numpy ints must be accepted
        ours.step(action)
        theirs.step(action)
        steps += 1
        if steps == reset_after:
            assert_same_env(ours, theirs, "at the interrupting reset")
            return illegal_played
    assert not ours.agents
    assert_same_env(ours, theirs, "after the game")
    for returned, snapshot in kept_observations:
        assert np.array_equal(returned, snapshot), "a returned observation changed later"
    return illegal_played


@pytest.mark.parametrize("game", ENV_PAIRS)
def test_random_games_match_pettingzoo(game: str) -> None:
    make_ours, make_theirs = ENV_PAIRS[game]
    ours, theirs = make_ours(), make_theirs()  # one pair for all games: resets must also agree
    rng = np.random.default_rng(20240 + len(game))
    for _ in range(500):
        play_side_by_side(ours, theirs, rng)


@pytest.mark.parametrize("game", ENV_PAIRS)
def test_illegal_moves_match_pettingzoo(game: str) -> None:
    make_ours, make_theirs = ENV_PAIRS[game]
    ours, theirs = make_ours(), make_theirs()
    rng = np.random.default_rng(777 + len(game))
    num_actions = ours.action_space(ours.possible_agents[0]).n
    games_with_illegal_move = 0
    for _ in range(200):
        games_with_illegal_move += play_side_by_side(
            ours,
            theirs,
            rng,
            illegal_from=int(rng.integers(0, 12)),
            favourite_column=int(rng.integers(num_actions)) if game == "connect4" else None,
        )
        if games_with_illegal_move >= 60:
            break
    assert games_with_illegal_move >= 60


@pytest.mark.parametrize("game", ENV_PAIRS)
def test_resets_in_mid_game_match_pettingzoo(game: str) -> None:
    """Resets at any point, including between the dead steps at the end, on a reused env."""
    make_ours, make_theirs = ENV_PAIRS[game]
    ours, theirs = make_ours(), make_theirs()
    rng = np.random.default_rng(99)
    for _ in range(100):
        play_side_by_side(
            ours,
            theirs,
            rng,
            illegal_from=int(rng.integers(0, 30)) if rng.random() < 0.3 else None,
            reset_after=int(rng.integers(0, 25)),
        )
        play_side_by_side(ours, theirs, rng)


@pytest.mark.parametrize("game", ENV_PAIRS)
def test_reset_after_one_dead_step_matches_pettingzoo(game: str) -> None:
    """PettingZoo keeps `_skip_agent_selection` across such a reset.

    The next game's last dead step shows it in `agent_selection`.
    """
    make_ours, make_theirs = ENV_PAIRS[game]
    ours, theirs = make_ours(), make_theirs()
    rng = np.random.default_rng(5)
    for _ in range(20):
        ours.reset()
        theirs.reset()
        while not ours.terminations[ours.agent_selection]:
            action = int(rng.choice(np.flatnonzero(ours.last()[0]["action_mask"])))
            ours.step(action)
            theirs.step(action)
        ours.step(None)
        theirs.step(None)
        assert_same_env(ours, theirs, "after one dead step")
        play_side_by_side(ours, theirs, rng)


@pytest.mark.parametrize("game", ENV_PAIRS)
def test_misuse_fails_as_in_pettingzoo(game: str) -> None:
    make_ours, make_theirs = ENV_PAIRS[game]
    ours, theirs = make_ours(), make_theirs()
    agent = theirs.possible_agents[0]
    num_actions = theirs.action_space(agent).n

    for env in (ours, theirs):
        with pytest.raises(AttributeError):
            env.agent_selection  # noqa: B018 - the access itself must fail
        with pytest.raises(AttributeError):
            env.agents  # noqa: B018
        with pytest.raises(AssertionError):
            env.step(0)
        with pytest.raises(AssertionError):
            env.observe(agent)
        with pytest.raises(AssertionError):
            env.agent_iter()
        env.reset()

    for bad_action in (-1, num_actions, None, 1.0, np.int64(num_actions)):
        for env in (ours, theirs):
            with pytest.raises(AssertionError):
                env.step(bad_action)
        assert_same_env(ours, theirs, f"after rejecting {bad_action!r}")

    for env in (ours, theirs):
        iterator = iter(env.agent_iter())
        next(iterator)
        with pytest.raises(AssertionError):
            next(iterator)  # no step() in between

    # An illegal move (a taken cell, a full column) ends the game; then each
    # agent must step with None.
    moves_to_illegal = [0, 0] if game == "tictactoe" else [0] * 7
    for env in (ours, theirs):
        for action in moves_to_illegal:
            env.step(action)
    assert_same_env(ours, theirs, "after an illegal move")
    for env in (ours, theirs):
        with pytest.raises(ValueError):
            env.step(1)
    assert_same_env(ours, theirs, "after refusing an action from a dead agent")
    for env in (ours, theirs):
        while env.agents:
            env.step(None)
        env.step(None)  # after the end: a warning and nothing else
    assert_same_env(ours, theirs, "after stepping a finished game")
