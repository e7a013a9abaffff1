"""The learning algorithms by name, their presets, and loading saved runs as agents."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml

from games.errors import UserError

PRESETS = Path(__file__).resolve().parent / "presets"

#: algorithm name -> (module, Learner class, Config class)
ALGOS: dict[str, tuple[str, str, str]] = {
    "dqn": ("agents.dqn", "DQN", "DQNConfig"),
    "pg": ("agents.pg", "REINFORCE", "REINFORCEConfig"),
    "a2c": ("agents.a2c", "A2C", "A2CConfig"),
    "ppo": ("agents.ppo", "PPO", "PPOConfig"),
    "alphazero": ("agents.alphazero.train", "AlphaZero", "AlphaZeroConfig"),
    "alphago": ("agents.alphago.train", "AlphaGo", "AlphaGoConfig"),
}
ALIASES = {"reinforce": "pg"}


def algo_name(name: str) -> str:
    """The canonical name of an algorithm; UserError for an unknown one."""
    name = ALIASES.get(name, name)
    if name not in ALGOS:
        raise UserError(f"unknown algorithm '{name}' (known: {', '.join(sorted(ALGOS))}, reinforce)")
    return name


def learner_classes(name: str) -> tuple[type, type]:
    """(Learner class, Config dataclass) of an algorithm."""
    module_name, cls_name, config_name = ALGOS[algo_name(name)]
    module = importlib.import_module(module_name)
    return getattr(module, cls_name), getattr(module, config_name)


def load_presets(algo: str) -> dict[str, dict[str, Any]]:
    """The presets file of an algorithm: preset name -> hyperparameters."""
    path = PRESETS / f"{algo_name(algo)}.yaml"
    if not path.is_file():
        return {}
    try:
        from games.inputs import load_yaml, read_text_bounded

        data = load_yaml(read_text_bounded(path, "YAML")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of preset names")
    return data


def preset(algo: str, game_id: str, name: str | None = None) -> dict[str, Any]:
    """Hyperparameters for `algo` on `game_id`: the named preset, else the game's, else default."""
    presets = load_presets(algo)
    if name is not None:
        if name not in presets:
            raise UserError(f"no preset '{name}' for {algo} (known: {', '.join(presets) or 'none'})")
        chosen = presets[name]
    else:
        chosen = presets.get(game_id, presets.get("default", {}))
    if not isinstance(chosen, dict):
        raise UserError(f"preset '{name or game_id}' for {algo} is not a mapping")
    return dict(chosen)


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``key=value`` strings -> a dict, values typed as YAML reads them (3, 1e-3, true, [64, 64])."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"argument --set: '{item}' is not key=value")
        from games.inputs import YamlLimitError, load_yaml

        try:  # aliases limited: a "billion laughs" value is refused
            value = load_yaml(text) if text.strip() else ""
        except YamlLimitError as exc:
            raise UserError(f"argument --set: {key.strip()}: {exc.problem}") from None
        except yaml.YAMLError:
            value = text
        if isinstance(value, str):
            try:  # YAML 1.1 reads 3e-4 as a string
                value = float(value)
            except ValueError:
                pass
        out[key.strip()] = value
    return out


def checkpoint_dir(path: Path) -> Path:
    """The checkpoint a path names: a checkpoint itself, or a run's best (else last) one."""
    for candidate in (path, path / "best", path / "last"):
        if (candidate / "meta.json").is_file():
            return candidate
    raise UserError(f"'{path}' is neither an Arena run nor a checkpoint (no meta.json)")


def load_run_agent(path: str | Path, device: str = "auto") -> Any:
    """The agent a saved run or checkpoint directory plays."""
    from agents.checkpoint import read_meta
    from agents.learner import resolve_device

    directory = checkpoint_dir(Path(path))
    meta = read_meta(directory)
    try:
        cls, _ = learner_classes(meta["algo"])
    except UserError as exc:
        raise UserError(f"'{directory / 'meta.json'}': field 'algo': {exc}") from None
    return cls.load(directory, resolve_device(device), for_training=False).agent()
