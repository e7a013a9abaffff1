"""Keyboard controls for single-player games: the keys held down -> an action.

Key names are "left", "right", "up", "down", "space" and the digits
"0".."9". Each map also names the game's actions for the HUD and gives a one
line hint. A keymap is pure (no pygame), so it is tested directly.

Promises: `action(held, tick)` always returns a valid action number of the
env's Discrete action space; for Atari the arrows and space are matched to
the names in ``env.unwrapped.get_action_meanings()``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from arena.window import theme

#: Games whose paddle moves up and down although ALE names the actions RIGHT/LEFT.
_VERTICAL_PADDLE = ("Pong",)


@dataclass
class KeyMap:
    """How the keys held map to actions of one game."""

    labels: list[str]  # a name per action, for the HUD
    hint: str  # e.g. "← → push the cart"
    choose: Callable[[frozenset[str], int], int]

    def action(self, held: Collection[str], tick: int = 0) -> int:
        """The action for the keys held now; `tick` counts steps (idle CartPole alternates)."""
        return self.choose(frozenset(held), tick)


def _arrows(left_right: str, up_down: str = "") -> str:
    text = theme.arrow("← →", "Left/Right") + " " + left_right
    if up_down:
        text += " · " + theme.arrow("↑ ↓", "Up/Down") + " " + up_down
    return text


def _horizontal(held: frozenset[str]) -> int:
    """-1 for left only, +1 for right only, 0 for neither or both."""
    return ("right" in held) - ("left" in held)


def atari_keymap(meanings: Sequence[str], vertical_paddle: bool = False) -> KeyMap:
    """Arrows and space matched to ALE action meanings (UP, RIGHT, DOWNLEFTFIRE, ...).

    The fullest meaning that exists wins: e.g. up+right+space plays UPRIGHTFIRE
    where there is one, else UPRIGHT, RIGHTFIRE, ... down to NOOP.
    """
    index = {name: i for i, name in enumerate(meanings)}
    noop = index.get("NOOP", 0)

    def choose(held: frozenset[str], tick: int) -> int:
        up, down = "up" in held, "down" in held
        v = "UP" if up and not down else "DOWN" if down and not up else ""
        h = {1: "RIGHT", -1: "LEFT", 0: ""}[_horizontal(held)]
        if vertical_paddle:
            # Pong's paddle goes up for RIGHT and down for LEFT: the up/down
            # arrows are what a player reaches for, so they drive it.
            h, v = ("RIGHT" if v == "UP" else "LEFT" if v == "DOWN" else h), ""
        f = "FIRE" if "space" in held else ""
        for name in (v + h + f, v + h, h + f, v + f, h, v, f):
            if name and name in index:
                return index[name]
        return noop

    if vertical_paddle:
        hint = theme.arrow("↑ ↓", "Up/Down") + " move the paddle · space fire"
    else:
        has_vertical = any("UP" in m or "DOWN" in m for m in meanings)
        hint = _arrows("move", "move" if has_vertical else "") + " · space fire"
    return KeyMap([m.lower() for m in meanings], hint, choose)


def _fixed(labels: list[str], hint: str, left: int, right: int, idle: int | None,
           up: int | None = None) -> KeyMap:
    def choose(held: frozenset[str], tick: int) -> int:
        if up is not None and "up" in held:
            return up
        direction = _horizontal(held)
        if direction < 0:
            return left
        if direction > 0:
            return right
        # CartPole has no "do nothing": pushing left and right in turn nets no push.
        return idle if idle is not None else (left if tick % 2 == 0 else right)

    return KeyMap(labels, hint, choose)


def _digits(n: int) -> KeyMap:
    def choose(held: frozenset[str], tick: int) -> int:
        for key in sorted(held):
            if key.isdigit() and int(key) < n:
                return int(key)
        direction = _horizontal(held)
        return 0 if direction <= 0 else n - 1

    hint = f"keys 0-{min(n, 10) - 1} pick an action"
    return KeyMap([str(a) for a in range(n)], hint, choose)


def keymap_for(env: Any) -> KeyMap | None:
    """The keyboard controls of a single-player env (the AEC env or a gymnasium env).

    None when its actions are not discrete (a person cannot play it by keys).
    """
    gym_env = getattr(env, "gym_env", env)
    space = getattr(gym_env, "action_space", None)
    n = getattr(space, "n", None)
    if n is None:
        return None
    n = int(n)
    base = getattr(gym_env, "unwrapped", gym_env)
    spec = getattr(gym_env, "spec", None) or getattr(base, "spec", None)
    env_id = getattr(spec, "id", "") or ""
    meanings = getattr(base, "get_action_meanings", None)
    if callable(meanings):
        return atari_keymap(list(meanings()), any(g in env_id for g in _VERTICAL_PADDLE))
    name = env_id.split("/")[-1].split("-")[0]
    if name == "CartPole" and n == 2:
        return _fixed(["push left", "push right"], _arrows("push the cart"), 0, 1, None)
    if name == "Acrobot" and n == 3:
        return _fixed(["torque -1", "no torque", "torque +1"], _arrows("swing"), 0, 2, 1)
    if name == "MountainCar" and n == 3:
        return _fixed(["push left", "no push", "push right"], _arrows("push the car"), 0, 2, 1)
    if name == "LunarLander" and n == 4:
        hint = _arrows("side engines") + " · " + theme.arrow("↑", "Up") + " main engine"
        labels = ["nothing", "left engine", "main engine", "right engine"]
        return _fixed(labels, hint, 1, 3, 0, up=2)
    return _digits(n)
