"""Checkpoints: safetensors for tensors, JSON for everything else. Never pickle.

A checkpoint is a directory:

- ``meta.json``: algorithm, game, hyperparameters, steps, Arena version, the
  command that made it, and anything else the learner records;
- ``model.safetensors``: the network weights (what playing needs);
- ``train_state.safetensors`` + ``train_state.json`` (optional): optimizer
  moments, target networks, RNG states and counters (what resuming needs);
- ``replay.safetensors`` (optional): DQN's replay buffer.

Every file is written to a temporary name and renamed, so a kill never leaves
a half-written file under the real name; meta.json is written last, so a
directory with a meta.json is complete.

Reading one back trusts nothing in it: the `field_*` helpers check each field
of meta.json or train_state.json, `load_weights` checks the weights' names and
shapes against the network the meta describes, and `refusing` turns whatever
else goes wrong while a learner is rebuilt from them into one line naming the
file. Each fault is a UserError (exit code 2), never a traceback.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from games import __version__
from games.errors import UserError, did_you_mean
from games.fileio import atomic_write, replacing

META = "meta.json"
MODEL = "model.safetensors"
TRAIN_STATE = "train_state.safetensors"
TRAIN_STATE_JSON = "train_state.json"
REPLAY = "replay.safetensors"

# The first bytes of a pickle (protocol 2+) or of torch.save's zip archive.
_PICKLE_MAGIC = (b"\x80", b"PK\x03\x04")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename (mode 0666 less the umask)."""
    atomic_write(path, data, fsync=True)


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


def atomic_save_tensors(path: Path, tensors: Mapping[str, torch.Tensor],
                        metadata: Mapping[str, str] | None = None) -> None:
    """safetensors' save_file, through a temporary file and a rename (mode 0666 less the umask)."""
    with replacing(path) as tmp:  # save_file makes its own file (0600); replacing resets it
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, tmp,
                  metadata=dict(metadata) if metadata else None)


def load_tensors(path: Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Tensors from a safetensors file; UserError (never unpickling) for anything else."""
    if not path.is_file():
        raise UserError(f"checkpoint file '{path}' does not exist")
    with open(path, "rb") as f:
        head = f.read(9)
    # A safetensors file is an 8-byte header length, then the JSON header.
    looks_safetensors = len(head) == 9 and head[8:9] == b"{"
    if not looks_safetensors and any(head.startswith(m) for m in _PICKLE_MAGIC):
        raise UserError(f"'{path}' is a pickle or torch.save file; Arena loads only safetensors "
                        "checkpoints and never unpickles")
    try:
        return load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError) as exc:
        raise UserError(f"'{path}' is not a valid safetensors file: {exc}") from None


def read_meta(directory: Path) -> dict[str, Any]:
    """The checkpoint's meta.json; UserError if the directory is not a checkpoint."""
    path = Path(directory) / META
    if not path.is_file():
        raise UserError(f"'{directory}' is not an Arena checkpoint (no {META})")
    from games.inputs import read_bounded

    try:  # at most 16 MB: an endless meta.json (a link to /dev/zero) is refused, not read
        meta = json.loads(read_bounded(path, "JSON metadata"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, ...
        raise UserError(f"'{path}' is not valid JSON: {exc}") from None
    except OSError as exc:
        raise UserError(f"'{path}': cannot read: {exc.strerror or exc}") from None
    if not isinstance(meta, dict) or "algo" not in meta:
        raise UserError(f"'{path}' has no 'algo' field")
    if not isinstance(meta["algo"], str):
        raise UserError(f"'{path}': field 'algo': {short(meta['algo'])} is not an algorithm name")
    return meta


def write_meta(directory: Path, meta: Mapping[str, Any]) -> None:
    data = dict(meta)
    data.setdefault("arena_version", __version__)
    data.setdefault("command", " ".join(["arena", *sys.argv[1:]]) if sys.argv else "")
    atomic_write_json(Path(directory) / META, data)


def optimizer_to_tensors(optimizer: torch.optim.Optimizer, prefix: str = "opt"
                         ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimizer's state as (tensors, JSON-able rest), for safetensors + JSON."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for index, entry in state["state"].items():
        for name, value in entry.items():
            key = f"{prefix}.{index}.{name}"
            if isinstance(value, torch.Tensor):
                tensors[key] = value
            else:
                scalars[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


#: The optimizer settings that are numbers (Adam, AdamW, RMSprop); a checkpoint's must be
#: finite and not negative.
_OPTIMIZER_NUMBERS = ("lr", "initial_lr", "eps", "weight_decay", "alpha", "momentum", "betas")


def optimizer_from_tensors(optimizer: torch.optim.Optimizer, tensors: Mapping[str, torch.Tensor],
                           rest: Mapping[str, Any], prefix: str = "opt") -> None:
    """Restore what optimizer_to_tensors saved."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in list(tensors.items()) + list(rest.get("scalars", {}).items()):
        if not key.startswith(prefix + "."):
            continue
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = value
    groups = rest["param_groups"]
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise ValueError("optimizer 'param_groups' is not a list of groups")
    for group in groups:
        for name, value in group.items():
            if name not in _OPTIMIZER_NUMBERS:
                continue
            numbers = value if name == "betas" and isinstance(value, list | tuple) else [value]
            if (name == "betas" and len(numbers) != 2) or not all(
                    isinstance(v, int | float) and not isinstance(v, bool)
                    and math.isfinite(v) and v >= 0 for v in numbers):
                raise ValueError(f"optimizer setting {name}={short(value)} is not "
                                 f"{'two' if name == 'betas' else 'a'} finite number"
                                 f"{'s' if name == 'betas' else ''} >= 0")
    # A moment of the wrong shape would only fail at the first step, mid-training.
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for index, entry in state.items():
        if not 0 <= index < len(params):
            raise ValueError(f"optimizer state for parameter {index}; the network has "
                             f"{len(params)}")
        for name, value in entry.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0 and \
                    value.shape != params[index].shape:
                raise ValueError(f"optimizer tensor '{prefix}.{index}.{name}' has shape "
                                 f"{list(value.shape)}, its parameter {list(params[index].shape)}")
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def rng_state() -> dict[str, Any]:
    """torch's and numpy's global RNG states, JSON-able (torch's as a list of bytes)."""
    numpy_state = np.random.get_state(legacy=False)
    numpy_state = dict(numpy_state, state=dict(numpy_state["state"],
                                               key=numpy_state["state"]["key"].tolist()))
    return {"torch": torch.get_rng_state().tolist(), "numpy": numpy_state}


def set_rng_state(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    numpy_state = dict(state["numpy"])
    numpy_state["state"] = dict(numpy_state["state"],
                                key=np.array(numpy_state["state"]["key"], dtype=np.uint32))
    np.random.set_state(numpy_state)


# --- reading checkpoints back: every field checked, every fault one line -------------------

_MISSING = object()


def short(value: Any, limit: int = 60) -> str:
    """`value` as repr() writes it, cut to `limit` characters (a hostile file's values
    can be any length; an error line stays short)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def first_line(exc: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message, cut to `limit` characters."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def field_error(path: Path | None, field: str, value: Any, why: str) -> UserError:
    """The error for a bad field; with `path` None the caller's `refusing` names the file."""
    where = f"'{path}': " if path is not None else ""
    return UserError(f"{where}field '{field}': {short(value)} {why}")


def _get(data: Mapping[str, Any], key: str, path: Path | None, default: Any) -> Any:
    if not isinstance(data, Mapping):
        where = f"'{path}': " if path is not None else ""
        raise UserError(f"{where}expected a mapping with a '{key}' field, not {short(data)}")
    if key in data:
        return data[key]
    if default is _MISSING:
        raise UserError(f"'{path}' has no '{key}' field" if path is not None
                        else f"no '{key}' field")
    return default


def field_int(data: Mapping[str, Any], key: str, path: Path | None, *,
              minimum: int | None = None, maximum: int | None = None,
              default: Any = _MISSING) -> int:
    """data[key] as a whole number (JSON's 3.0 too) within [minimum, maximum]."""
    value = _get(data, key, path, default)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise field_error(path, key, value, "is not a whole number")
    if minimum is not None and value < minimum:
        raise field_error(path, key, value, f"is below {minimum}")
    if maximum is not None and value > maximum:
        raise field_error(path, key, value, f"is above {maximum:,}")
    return value


def field_str(data: Mapping[str, Any], key: str, path: Path | None,
              default: Any = _MISSING) -> str:
    value = _get(data, key, path, default)
    if not isinstance(value, str) or not value:
        raise field_error(path, key, value, "is not a non-empty string")
    return value


def field_mapping(data: Mapping[str, Any], key: str, path: Path | None,
                  default: Any = _MISSING) -> dict[str, Any]:
    value = _get(data, key, path, default)
    if not isinstance(value, dict):
        raise field_error(path, key, value, "is not a mapping")
    return value


#: Bounds on one dimension of an observation and on the number of actions; the network's
#: total size is checked against agents/nets.py MAX_PARAMETERS before it is built.
MAX_DIMENSION = 1_000_000
MAX_ACTIONS = 1_000_000


def field_shape(data: Mapping[str, Any], key: str, path: Path) -> tuple[int, ...]:
    """data[key] as an observation shape: 1 to 4 whole numbers, each 1..MAX_DIMENSION."""
    value = _get(data, key, path, _MISSING)
    ok = isinstance(value, list | tuple) and 1 <= len(value) <= 4 and all(
        isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= MAX_DIMENSION
        for d in value)
    if not ok:
        raise field_error(path, key, value, f"is not a shape (1 to 4 sizes, each "
                          f"1..{MAX_DIMENSION:,})")
    return tuple(value)


def field_dtype(data: Mapping[str, Any], key: str, path: Path) -> str:
    value = _get(data, key, path, _MISSING)
    import numpy as np

    try:
        if not isinstance(value, str):
            raise TypeError
        np.dtype(value)
    except (TypeError, ValueError):
        raise field_error(path, key, value, "is not a numpy dtype name") from None
    return value


def field_game(data: Mapping[str, Any], path: Path, key: str = "game") -> str:
    """data[key] as a game Arena trains networks on: a built-in id or ``gym:<ID>`` of a
    registered gymnasium env.

    Nothing is made to check it, and no module is imported (``pz:<module>`` or a
    gymnasium ``module:ID`` would import one, so they are refused here).
    """
    from games.registry import builtin_games

    game = field_str(data, key, path)
    ids = [spec.id for spec in builtin_games()]
    if game in ids:
        return game
    if game.startswith("gym:") and ":" not in game[4:]:
        import gymnasium

        if game[4:] in gymnasium.registry:
            return game
        raise field_error(path, key, game, "names no registered gymnasium env")
    hint = did_you_mean(game, ids)
    raise UserError(f"'{path}': field '{key}': unknown game {short(game)}"
                    f"{': ' + hint if hint else ''} (known: {', '.join(ids)}, gym:<ID>)")


def field_counts(data: Mapping[str, Any], key: str, path: Path | None, n: int) -> list[int]:
    """data[key] as `n` whole numbers >= 0 (e.g. each env's episode count)."""
    value = _get(data, key, path, _MISSING)
    if not isinstance(value, list) or len(value) != n or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        raise field_error(path, key, value, f"is not a list of {n} whole numbers >= 0")
    return list(value)


def field_actions(data: Mapping[str, Any], key: str, path: Path | None, n: int,
                  n_actions: int) -> list[list[int]]:
    """data[key] as `n` lists of actions, each in 0..n_actions-1 (each env's episode so far)."""
    value = _get(data, key, path, _MISSING)
    if not isinstance(value, list) or len(value) != n or not all(
            isinstance(acts, list) and all(isinstance(a, int) and not isinstance(a, bool)
                                           and 0 <= a < n_actions for a in acts)
            for acts in value):
        raise field_error(path, key, value, f"is not {n} lists of actions "
                          f"(0..{n_actions - 1})")
    return [list(acts) for acts in value]


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in `path`; one line for a missing file, bad JSON or not an object."""
    if not path.is_file():
        raise UserError(f"checkpoint file '{path}' does not exist")
    from games.inputs import read_bounded

    try:  # at most 16 MB: an endless file (a link to /dev/zero) is refused, not read
        data = json.loads(read_bounded(path, "JSON checkpoint"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise UserError(f"'{path}' is not valid JSON: {exc}") from None
    except OSError as exc:
        raise UserError(f"cannot read '{path}': {exc.strerror or exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"'{path}' does not hold a JSON object")
    return data


def save_checkpoint(directory: Path, meta: Mapping[str, Any],
                    model: Mapping[str, torch.Tensor],
                    train_tensors: Mapping[str, torch.Tensor] | None = None,
                    train_json: Mapping[str, Any] | None = None) -> None:
    """Write a checkpoint directory: the one train-state layout of every learner.

    - ``model.safetensors``: `model` (the network's state_dict: what playing needs);
    - with the training state (`train_tensors` and `train_json` both given):
      ``train_state.safetensors`` (optimizer moments, RNG states, snapshot weights...)
      and ``train_state.json`` (counters, the optimizer's scalars, env positions);
      without it, any old training state in the directory is removed, so stale
      moments are never resumed with these weights;
    - ``meta.json`` last (`write_meta` adds arena_version and command), so a directory
      with a meta.json is complete.

    Each file is written to a temporary name and renamed (a kill leaves the old file
    or the new one). Read the training state back with `read_train_state`.
    """
    directory = Path(directory)
    atomic_save_tensors(directory / MODEL, model)
    if train_tensors is not None and train_json is not None:
        atomic_save_tensors(directory / TRAIN_STATE, train_tensors)
        atomic_write_json(directory / TRAIN_STATE_JSON, train_json)
    else:  # a stale training state must not be resumed with these weights
        (directory / TRAIN_STATE).unlink(missing_ok=True)
        (directory / TRAIN_STATE_JSON).unlink(missing_ok=True)
    write_meta(directory, meta)


def read_train_state(directory: Path, device: str | torch.device = "cpu", *,
                     counters: tuple[str, ...] = ("steps", "updates"),
                     mappings: tuple[str, ...] = ("optimizer",)
                     ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, JSON) of the training state `save_checkpoint` wrote in `directory`.

    UserError (one line naming the file) when the checkpoint was saved without one,
    when train_state.json is not a JSON object, when a field of `mappings` is not an
    object or a field of `counters` not a whole number of at least 0, and when
    train_state.safetensors is missing or not a safetensors file. The caller checks
    the rest while it restores (inside `refusing(train_state.json)`).
    """
    path = Path(directory) / TRAIN_STATE_JSON
    if not path.is_file():
        raise UserError(f"'{directory}' was saved without training state; it cannot be resumed")
    state = read_json_object(path)
    for key in mappings:
        field_mapping(state, key, path)
    for key in counters:
        field_int(state, key, path, minimum=0)
    return load_tensors(Path(directory) / TRAIN_STATE, device), state


def load_weights(net: torch.nn.Module, path: Path, device: str | torch.device = "cpu",
                 tensors: Mapping[str, torch.Tensor] | None = None) -> None:
    """Load `path` (or already-read `tensors` from it) into `net`, after checking that it
    has exactly the network's tensors with the network's shapes; UserError naming the
    file and the first tensor that differs otherwise."""
    if tensors is None:
        tensors = load_tensors(path, device)
    expected = net.state_dict()
    described = "the network meta.json describes (obs_shape, n_actions, config)"
    missing = [k for k in expected if k not in tensors]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise UserError(f"'{path}' lacks tensor {short(missing[0])}{more} of {described}")
    extra = [k for k in tensors if k not in expected]
    if extra:
        more = f" and {len(extra) - 1} more" if len(extra) > 1 else ""
        raise UserError(f"'{path}' has tensor {short(extra[0])}{more} that {described} lacks")
    for key, want in expected.items():
        got = tensors[key]
        if tuple(got.shape) != tuple(want.shape):
            raise UserError(f"'{path}': tensor {short(key)} has shape {list(got.shape)}; "
                            f"{described} needs {list(want.shape)}")
        if got.dtype.is_complex or (want.dtype.is_floating_point
                                    and not (got.dtype.is_floating_point
                                             or got.dtype == want.dtype)):
            raise UserError(f"'{path}': tensor {short(key)} is {got.dtype}, not a float tensor")
    net.load_state_dict(dict(tensors))


#: What goes wrong when code is handed values of the wrong kind or size.
_BAD_VALUE_ERRORS = (TypeError, ValueError, IndexError, AttributeError, RuntimeError,
                     OverflowError, AssertionError)


@contextmanager
def refusing(path: Path, what: str = "cannot be used") -> Iterator[None]:
    """Anything that fails in the block, because of what was read from `path`, becomes
    one UserError line naming `path`: a missing key as the field it is, any other
    error by the first line of its message. UserErrors get the path put in front."""
    try:
        yield
    except UserError as exc:
        if str(path.parent) in str(exc):
            raise
        raise UserError(f"'{path}': {exc}") from None
    except KeyError as exc:
        raise UserError(f"'{path}': missing field {short(exc.args[0] if exc.args else exc)}"
                        ) from None
    except _BAD_VALUE_ERRORS as exc:
        raise UserError(f"'{path}' {what}: {first_line(exc)}") from None
