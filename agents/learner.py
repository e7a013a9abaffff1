"""The Learner contract: what `arena train` drives.

Each algorithm keeps its own training loop readable in one module (the
Bellman target or the PPO clip in plain view); they share only this small
contract, checkpoints (agents/checkpoint.py) and the hooks below, through
which the trainer shows progress, logs, evaluates and checkpoints.
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from pathlib import Path
from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from agents.base import Agent
from games.errors import UserError


class TrainHooks:
    """What the trainer hands a learner while it trains: the declared second contract.

    A learner reports through `episode`, `log` and `tick`, plays every evaluation game
    it needs (AlphaZero's gate, its reference games) through `play_series`, and says
    `new_best` when its own gate accepts a network. It never opens the store, reads
    arena.toml or writes best/: the trainer (arena/train.py) does, and it also runs the
    periodic evaluation of the learners that have no gate of their own (PPO and DQN on
    board games, every learner on single-player games) from `tick`, as
    Stable-Baselines3's EvalCallback does. The defaults here do nothing and record
    nothing: a learner trained without a trainer (tests, the league) writes nothing.
    """

    #: The run's directory: a learner may keep its own logs and stage checkpoints there
    #: (AlphaZero's generations.csv, AlphaGo's stages). None: it writes nothing.
    run_dir: Path | None = None
    #: Arena's data directory (arena.toml data_dir): data runs share, such as AlphaGo's
    #: GnuGo dataset. None: a learner that needs it asks for an explicit directory.
    data_dir: Path | None = None
    #: What the evaluation games are stored as, e.g. "alphazero:<run name>".
    tag: str | None = None
    #: Observers of every evaluation game besides the trainer's own recording.
    observers: Sequence[Any] = ()

    def episode(self, step: int, episode_return: float, length: int) -> None:
        """An episode of the training env ended at env step `step`."""

    def log(self, step: int, metrics: dict[str, float]) -> None:
        """Scalars worth plotting (loss, epsilon, entropy...)."""

    def tick(self, step: int) -> bool:
        """Called every few env steps; return False to stop training now."""
        return True

    def play_series(self, game: Any, agents: Sequence[Agent], names: Sequence[str], *,
                    games: int, seed: int) -> Any:
        """An evaluation series (agents.series.run_series), seen by `observers`; the
        trainer's also records every game in the store (and Go's SGF files)."""
        from agents.series import run_series

        return run_series(game, agents, names, games=games, seed=seed,
                          observers=list(self.observers))

    def rate(self, score: float, games: int) -> float | None:
        """The Elo difference a series score implies (the trainer's: tournaments.ratings);
        None here, where nothing rates: a learner then records no Elo gain."""
        return None

    def new_best(self, step: int) -> None:
        """The learner's own gate accepted a network as its best at `step`: the trainer
        writes best/ (`Learner.save_playable`)."""


def resolve_device(device: str) -> torch.device:
    """'auto' -> cuda when there is one, else cpu."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("device 'cuda' asked for, but torch sees no CUDA device")
    if device not in ("cpu", "cuda"):
        raise UserError(f"unknown device '{device}' (auto, cpu or cuda)")
    return torch.device(device)


def config_from_dict(cls: type, values: dict[str, Any], where: str) -> Any:
    """A hyperparameter dataclass from a dict, with one clear line for an unknown or bad key."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if not isinstance(values, dict):
        raise UserError(f"{where}: the hyperparameters {_short(values)} are not a mapping")
    clean: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            raise UserError(f"{where}: unknown hyperparameter '{key}' "
                            f"(known: {', '.join(sorted(fields))})")
        default = fields[key].default
        if isinstance(value, str) and isinstance(default, int | float) and not isinstance(default, bool):
            try:  # YAML 1.1 reads 3e-4 as a string
                value = float(value)
            except ValueError:
                pass
        if isinstance(default, bool) and not isinstance(value, bool):
            raise UserError(f"{where}: {key}={_short(value)} is not true/false")
        if isinstance(default, int) and not isinstance(default, bool):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, int) or isinstance(value, bool):
                raise UserError(f"{where}: {key}={_short(value)} is not a whole number")
        if isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise UserError(f"{where}: {key}={_short(value)} is not a number")
            value = float(value)
            if not math.isfinite(value):
                raise UserError(f"{where}: {key}={value!r} is not a finite number")
        if isinstance(default, tuple):  # layer sizes: hidden, conv_channels
            value = _sizes(key, value, where)
        if isinstance(default, str) and not isinstance(value, str):
            raise UserError(f"{where}: {key}={_short(value)} is not a string")
        _check_range(key, value, where)
        clean[key] = value
    return cls(**clean)


def _check_range(key: str, value: Any, where: str) -> None:
    """UserError for a hyperparameter with no sense: a learning rate of 0 or below, a
    discount outside (0, 1], a batch size below 1, a GAE lambda outside [0, 1], a PPO
    clip range of 0 or below."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if (key == "lr" or key.endswith("_lr")) and not value > 0:
        raise UserError(f"{where}: {key}={_short(value)} is not a learning rate (above 0)")
    if key == "gamma" and not 0 < value <= 1:
        raise UserError(f"{where}: {key}={_short(value)} is not a discount (above 0, at most 1)")
    if (key.endswith("batch_size") or key.endswith("_batch")) and value < 1:
        raise UserError(f"{where}: {key}={_short(value)} is not a batch size (at least 1)")
    if key.endswith("_lambda") and not 0 <= value <= 1:
        raise UserError(f"{where}: {key}={_short(value)} is not a GAE lambda (0 to 1)")
    if key == "clip_coef" and not value > 0:
        raise UserError(f"{where}: {key}={_short(value)} is not a clip range (above 0)")


#: Config fields that hold agent references (comma-separated) the trainer builds.
REFERENCE_FIELDS = ("eval_opponents", "references")


def check_stored_references(config: Any, where: str) -> None:
    """UserError when a config read from a checkpoint or run file (`where`) names an
    agent that would start a program or import code (agents/registry.py
    stored_reference_problem): resuming a run never runs what a file on disk names."""
    from agents.registry import stored_reference_problem

    for key in REFERENCE_FIELDS:
        value = getattr(config, key, None)
        if not isinstance(value, str):
            continue
        for ref in (r.strip() for r in value.split(",")):
            why = stored_reference_problem(ref) if ref else None
            if why:
                raise UserError(f"'{where}': field 'config.{key}': {_short(ref)} {why}; "
                                "a stored run names only built-ins and checkpoint directories")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _sizes(key: str, value: Any, where: str) -> tuple[int, ...]:
    """A list of layer sizes (whole numbers of at least 1) as a tuple; UserError otherwise."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = [value]  # --set hidden=64 means one layer of 64
    if not isinstance(value, list | tuple) or len(value) > 64:
        raise UserError(f"{where}: {key}={_short(value)} is not a list of layer sizes")
    sizes = []
    for size in value:
        if isinstance(size, float) and math.isfinite(size) and size.is_integer():
            size = int(size)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise UserError(f"{where}: {key}={_short(value)} is not a list of layer sizes "
                            "(whole numbers, each at least 1)")
        sizes.append(size)
    return tuple(sizes)


class Learner(ABC):
    """A trainable agent. Subclasses set `algo` and `Config` (a dataclass)."""

    algo: ClassVar[str]
    Config: ClassVar[type]
    #: The games it trains on: single-player gymnasium games, two-player board games
    #: (by self-play against opponents; see agents/board_selfplay.py).
    trains_single_player: ClassVar[bool] = True
    trains_board_games: ClassVar[bool] = False
    #: It judges its own networks (AlphaZero's gate, AlphaGo's stages): the trainer runs
    #: no periodic evaluation of it, writes best/ when it says `hooks.new_best`, and
    #: reports its `summary()`.
    judges_itself: ClassVar[bool] = False

    steps: int  # env steps trained so far

    @abstractmethod
    def __init__(self, game_id: str, config: Any, device: torch.device, seed: int): ...

    @abstractmethod
    def train(self, until_step: int, hooks: TrainHooks) -> None:
        """Train until `self.steps` reaches `until_step` or a hook says stop."""

    @abstractmethod
    def agent(self) -> Agent:
        """An Agent that plays with the current network (greedy / most likely action)."""

    @abstractmethod
    def save(self, directory: Path, with_train_state: bool = True) -> None:
        """Write a checkpoint (see agents/checkpoint.py) to `directory`."""

    def summary(self) -> dict[str, Any]:
        """What a learner that judges itself reports at the end of `arena train`."""
        return {}

    def save_playable(self, directory: Path) -> None:
        """Write the checkpoint a person plays against (the run's best/): by default the
        current network without the training state; a learner with a gate, its best."""
        self.save(directory, with_train_state=False)

    @classmethod
    @abstractmethod
    def load(cls, directory: Path, device: torch.device, for_training: bool = False) -> Learner:
        """Read a checkpoint; with `for_training`, also optimizer, schedules and counters."""
