"""Checkpoint files: safetensors + JSON, atomic, and never unpickled."""

from __future__ import annotations

import pickle

import pytest
import torch

from agents.algorithms import checkpoint_dir, parse_overrides, preset
from agents.checkpoint import (
    atomic_save_tensors,
    atomic_write_json,
    load_tensors,
    optimizer_from_tensors,
    optimizer_to_tensors,
    read_meta,
    write_meta,
)
from games.errors import UserError


class _Trap:
    """Unpickling this would create a file: the test checks it never appears."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_tensors_round_trip_and_leave_no_temp_files(tmp_path):
    path = tmp_path / "model.safetensors"
    atomic_save_tensors(path, {"w": torch.arange(6.0).reshape(2, 3)})
    assert torch.equal(load_tensors(path)["w"], torch.arange(6.0).reshape(2, 3))
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


@pytest.mark.parametrize("maker", ["pickle", "torch.save"])
def test_a_pickle_is_refused_and_never_executed(tmp_path, maker):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    if maker == "pickle":
        path.write_bytes(pickle.dumps(_Trap(str(marker))))
    else:
        torch.save({"x": _Trap(str(marker))}, path)
    with pytest.raises(UserError, match="never unpickles"):
        load_tensors(path)
    assert not marker.exists()


def test_garbage_is_a_clear_error(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(UserError, match="not a valid safetensors file"):
        load_tensors(path)


def test_optimizer_state_round_trips_exactly():
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 2)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(3):
        opt.zero_grad()
        net(torch.randn(8, 4)).pow(2).mean().backward()
        opt.step()
    tensors, rest = optimizer_to_tensors(opt)
    fresh = torch.optim.Adam(torch.nn.Linear(4, 2).parameters(), lr=1.0)
    optimizer_from_tensors(fresh, tensors, rest)
    a, b = opt.state_dict(), fresh.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for key in a["state"]:
        for name, value in a["state"][key].items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(b["state"][key][name]))


def test_meta_and_checkpoint_dirs(tmp_path):
    with pytest.raises(UserError, match="not an Arena checkpoint"):
        read_meta(tmp_path)
    write_meta(tmp_path / "best", {"algo": "dqn", "game": "cartpole"})
    assert read_meta(tmp_path / "best")["arena_version"]
    assert checkpoint_dir(tmp_path) == tmp_path / "best"
    atomic_write_json(tmp_path / "x" / "meta.json", {"no": "algo"})
    with pytest.raises(UserError, match="no 'algo' field"):
        read_meta(tmp_path / "x")


def test_overrides_are_typed_like_yaml():
    assert parse_overrides(["lr=3e-4", "hidden=[64, 64]", "double_dqn=true", "name=x"]) == {
        "lr": 3e-4, "hidden": [64, 64], "double_dqn": True, "name": "x"}
    with pytest.raises(UserError, match="not key=value"):
        parse_overrides(["lr"])
    with pytest.raises(UserError, match="unknown algorithm"):
        preset("sarsa", "cartpole")


def test_a_header_length_that_starts_with_0x80_is_still_safetensors(tmp_path):
    """The first byte is the low byte of the header length: 0x80 there is no pickle."""
    path = tmp_path / "model.safetensors"
    for pad in range(300):
        atomic_save_tensors(path, {"w": torch.zeros(2)}, metadata={"pad": "x" * pad})
        if path.read_bytes()[0] == 0x80:
            break
    else:
        raise AssertionError("no padding gave a header length of 128 mod 256")
    assert torch.equal(load_tensors(path)["w"], torch.zeros(2))



def test_rng_state_survives_json():
    import json

    import numpy as np

    from agents.checkpoint import rng_state, set_rng_state

    saved = json.loads(json.dumps(rng_state()))
    expected = (torch.rand(3), np.random.random(3))
    set_rng_state(saved)
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.random(3), expected[1])
