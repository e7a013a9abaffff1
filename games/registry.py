"""Game ids -> factories.

Built-in ids name Arena's own games; ``gym:<ID>`` reaches any gymnasium env
and ``pz:<module>`` any PettingZoo AEC env, so nothing needs registering to be
played. Every factory returns a PettingZoo AEC env.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from pettingzoo import AECEnv

from arena.errors import UserError
from games.state import GameState


@dataclass(frozen=True)
class GameSpec:
    """What Arena knows about a game before it is played."""

    id: str
    title: str
    players: int
    make_env: Callable[..., AECEnv] = field(repr=False)
    new_state: Callable[[], GameState] | None = field(default=None, repr=False)
    description: str = ""

    def env(self, render_mode: str | None = None) -> AECEnv:
        """A fresh AEC env for this game."""
        return self.make_env(render_mode=render_mode)

    @property
    def has_state(self) -> bool:
        """True when search agents (greedy, mcts) can play it."""
        return self.new_state is not None


def _gym_factory(gym_id: str, name: str) -> Callable[..., AECEnv]:
    def make(render_mode: str | None = None) -> AECEnv:
        import gymnasium as gym

        from games.gym_adapter import GymAECEnv

        return GymAECEnv(gym.make(gym_id, render_mode=render_mode), name=name)

    return make


def _tictactoe_env(render_mode: str | None = None) -> AECEnv:
    from games import tictactoe

    return tictactoe.env(render_mode=render_mode)


def _tictactoe_state() -> GameState:
    from games.tictactoe import TicTacToeState

    return TicTacToeState()


def _connect4_env(render_mode: str | None = None) -> AECEnv:
    from games import connect4

    return connect4.env(render_mode=render_mode)


def _connect4_state() -> GameState:
    from games.connect4 import Connect4State

    return Connect4State()


_GAMES: dict[str, GameSpec] = {}


def register(spec: GameSpec) -> None:
    """Add a game under its id (later games replace earlier ones of that id)."""
    _GAMES[spec.id] = spec


register(GameSpec("cartpole", "CartPole-v1", 1, _gym_factory("CartPole-v1", "cartpole"),
                  description="balance a pole on a cart (gymnasium)"))
register(GameSpec("acrobot", "Acrobot-v1", 1, _gym_factory("Acrobot-v1", "acrobot"),
                  description="swing a two-link arm up (gymnasium)"))
register(GameSpec("tictactoe", "Tic-tac-toe", 2, _tictactoe_env, _tictactoe_state,
                  description="3x3, three in a row (equals PettingZoo tictactoe_v3)"))
register(GameSpec("connect4", "Connect four", 2, _connect4_env, _connect4_state,
                  description="6x7, four in a row (equals PettingZoo connect_four_v3)"))


def builtin_games() -> list[GameSpec]:
    """The registered games, in registration order."""
    return list(_GAMES.values())


def _known() -> str:
    return ", ".join(_GAMES) + "; or gym:<ID>, pz:<module>"


def resolve_game(ref: str) -> GameSpec:
    """The GameSpec a game reference names; UserError if it names none."""
    if ref in _GAMES:
        return _GAMES[ref]
    if ref.startswith("gym:"):
        return _resolve_gym(ref[4:], ref)
    if ref.startswith("pz:"):
        return _resolve_pettingzoo(ref[3:], ref)
    raise UserError(f"unknown game '{ref}' (known: {_known()})")


def _resolve_gym(gym_id: str, ref: str) -> GameSpec:
    import gymnasium as gym

    try:
        gym.spec(gym_id)
    except Exception as exc:  # gymnasium raises several error types for a bad id
        raise UserError(f"unknown gymnasium id '{gym_id}' in game '{ref}': {exc}") from None
    return GameSpec(ref, gym_id, 1, _gym_factory(gym_id, ref), description="gymnasium env")


def _resolve_pettingzoo(module_name: str, ref: str) -> GameSpec:
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # an import can fail in many ways; the user only needs the reason
        raise UserError(f"cannot import PettingZoo module '{module_name}' for game '{ref}': {exc}") from None
    factory = getattr(module, "env", None)
    if not callable(factory):
        raise UserError(f"module '{module_name}' has no env() factory (game '{ref}')")
    players = len(factory().possible_agents)
    return GameSpec(ref, module_name.rsplit(".", 1)[-1], players, factory,
                    description="PettingZoo AEC env")
