"""Game ids -> factories.

Built-in ids name Arena's own games; ``gym:<ID>`` reaches any gymnasium env
and ``pz:<module>`` any PettingZoo AEC env, so nothing needs registering to be
played. Every factory returns a PettingZoo AEC env.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pettingzoo import AECEnv

from games.errors import UserError, did_you_mean
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
    #: Single-player games: make_gym(render_mode=None, train=False) -> gymnasium.Env,
    #: the env learners train on (train=True adds training-only wrappers, e.g. reward clipping).
    make_gym: Callable[..., Any] | None = field(default=None, repr=False)
    #: Go (go5 ... go19): its board's side; None for every other game.
    board_size: int | None = None

    @property
    def is_go(self) -> bool:
        """True for the Go games."""
        return self.board_size is not None

    def env(self, render_mode: str | None = None) -> AECEnv:
        """A fresh AEC env for this game."""
        return self.make_env(render_mode=render_mode)

    @property
    def has_state(self) -> bool:
        """True when search agents (greedy, mcts) can play it."""
        return self.new_state is not None


def _plain_gym(gym_id: str) -> Callable[..., Any]:
    def make(render_mode: str | None = None, train: bool = False) -> Any:
        import gymnasium as gym

        return gym.make(gym_id, render_mode=render_mode)

    return make


def aec_from_gym(make_gym: Callable[..., Any], name: str) -> Callable[..., AECEnv]:
    """An AEC env factory over a gymnasium env factory (evaluation wrappers only)."""

    def make(render_mode: str | None = None) -> AECEnv:
        from games.gym_adapter import GymAECEnv

        return GymAECEnv(make_gym(render_mode=render_mode, train=False), name=name)

    return make


def single_player(id: str, title: str, make_gym: Callable[..., Any], description: str) -> GameSpec:
    """A GameSpec for a gymnasium game."""
    return GameSpec(id, title, 1, aec_from_gym(make_gym, id), description=description,
                    make_gym=make_gym)


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


def go_size(game_id: str) -> int | None:
    """The board size a Go game's id names (go5 ... go19), None for any other id.

    For ids read from stored data (a match's game, a checkpoint's meta.json), where
    there is no GameSpec at hand; a GameSpec has `board_size` and `is_go` itself.
    """
    digits = game_id[2:] if game_id.startswith("go") else ""
    if digits.isdigit() and digits == str(int(digits)) and 5 <= int(digits) <= 19:
        return int(digits)
    return None


def _go_env(size: int) -> Callable[..., AECEnv]:
    def make(render_mode: str | None = None) -> AECEnv:
        from games.go.env import GoEnv

        return GoEnv(board_size=size, render_mode=render_mode)

    return make


def _go_state(size: int) -> Callable[[], GameState]:
    def make() -> GameState:
        from games.go.state import GoState

        return GoState(size)

    return make


_GAMES: dict[str, GameSpec] = {}


def register(spec: GameSpec) -> None:
    """Add a game under its id (later games replace earlier ones of that id)."""
    _GAMES[spec.id] = spec


register(single_player("cartpole", "CartPole-v1", _plain_gym("CartPole-v1"),
                       "balance a pole on a cart (gymnasium)"))
register(single_player("acrobot", "Acrobot-v1", _plain_gym("Acrobot-v1"),
                       "swing a two-link arm up (gymnasium)"))
register(GameSpec("tictactoe", "Tic-tac-toe", 2, _tictactoe_env, _tictactoe_state,
                  description="3x3, three in a row (equals PettingZoo tictactoe_v3)"))
register(GameSpec("connect4", "Connect four", 2, _connect4_env, _connect4_state,
                  description="6x7, four in a row (equals PettingZoo connect_four_v3)"))


for _size in (5, 7, 9, 13, 19):
    register(GameSpec(f"go{_size}", f"Go {_size}x{_size}", 2, _go_env(_size), _go_state(_size),
                      description=f"Go on {_size}x{_size}, area scoring, komi 7.5 (equals go_v5)",
                      board_size=_size))


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
    hint = did_you_mean(ref, _GAMES)
    raise UserError(f"unknown game '{ref}'{': ' + hint if hint else ''} (known: {_known()})")


def _resolve_gym(gym_id: str, ref: str) -> GameSpec:
    import gymnasium as gym

    try:
        gym.spec(gym_id)
    except Exception as exc:  # gymnasium raises several error types for a bad id
        raise UserError(f"unknown gymnasium id '{gym_id}' in game '{ref}': {exc}") from None
    return single_player(ref, gym_id, _plain_gym(gym_id), "gymnasium env")


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


import games.atari  # noqa: F401  (registers pong and space-invaders; ale_py loads lazily)
