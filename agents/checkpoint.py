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
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from arena import __version__
from arena.errors import UserError
from games.fileio import atomic_write, new_file_mode, temp_file

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
    fd, tmp = temp_file(path)
    os.close(fd)
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, tmp,
                  metadata=dict(metadata) if metadata else None)
        os.chmod(tmp, new_file_mode())  # save_file makes its own file, with mode 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def optimizer_from_tensors(optimizer: torch.optim.Optimizer, tensors: Mapping[str, torch.Tensor],
                           rest: Mapping[str, Any], prefix: str = "opt") -> None:
    """Restore what optimizer_to_tensors saved."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in list(tensors.items()) + list(rest.get("scalars", {}).items()):
        if not key.startswith(prefix + "."):
            continue
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": rest["param_groups"]})


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
