"""Files written atomically get the mode any new file gets (0666 less the umask), not 0600."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
import torch
from conftest import ARENA, ROOT

from agents.checkpoint import atomic_save_tensors, atomic_write_json, write_meta
from games.fileio import atomic_write, new_file_mode, umask
from games.fileio import atomic_write as write_atomic
from tournaments.league import export as league_export


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def with_umask():
    """Set the process umask for one test, restored after."""
    before = os.umask(0o022)
    os.umask(before)

    def use(mask: int) -> None:
        os.umask(mask)

    yield use
    os.umask(before)


def test_the_sgf_of_a_go_match_is_0644_under_umask_022(config):
    proc = subprocess.run([*ARENA, "match", "go5", "random", "random", "--games", "2"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=dict(os.environ), preexec_fn=lambda: os.umask(0o022))
    assert proc.returncode == 0, proc.stderr
    sgf_dir = config.parent / "data" / "sgf"
    files = sorted(sgf_dir.glob("*.sgf"))
    assert [f.name for f in files] == ["1.sgf", "2.sgf"]
    for f in files:
        assert _mode(f) == 0o644, oct(_mode(f))
    assert not list(sgf_dir.glob(".*"))  # no temporary file left behind


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_every_atomic_writer_follows_the_umask(tmp_path, with_umask, mask, expected):
    with_umask(mask)
    assert umask() == mask and new_file_mode() == expected
    written = []
    write_atomic(tmp_path / "game.sgf", b"(;GM[1])")
    written.append(tmp_path / "game.sgf")
    atomic_write(tmp_path / "plain.bin", b"x", fsync=True)
    written.append(tmp_path / "plain.bin")
    atomic_write_json(tmp_path / "ckpt" / "run.json", {"a": 1})
    written.append(tmp_path / "ckpt" / "run.json")
    write_meta(tmp_path / "ckpt", {"algo": "dqn", "game": "cartpole"})
    written.append(tmp_path / "ckpt" / "meta.json")
    atomic_save_tensors(tmp_path / "ckpt" / "model.safetensors", {"w": torch.zeros(2)})
    written.append(tmp_path / "ckpt" / "model.safetensors")
    league_export._atomic_text(tmp_path / "standings.csv", lambda f: f.write("a,b\n"))
    written.append(tmp_path / "standings.csv")
    for path in written:
        assert _mode(path) == expected, (path.name, oct(_mode(path)))
    # Replacing a file keeps to the rule too.
    write_atomic(tmp_path / "game.sgf", b"(;GM[1]SZ[9])")
    assert _mode(tmp_path / "game.sgf") == expected
    assert (tmp_path / "game.sgf").read_bytes() == b"(;GM[1]SZ[9])"
