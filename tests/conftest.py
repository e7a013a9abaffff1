"""Shared fixtures: every test gets its own data dir and config; nothing touches ~/."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ARENA = [sys.executable, "-m", "arena"]


def load_benchmark(name: str):
    """benchmarks/<name>.py imported as a module (benchmarks/ is not a package)."""
    path = ROOT / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh arena.toml in a temp dir, used by in-process and subprocess CLI calls."""
    path = tmp_path / "arena.toml"
    path.write_text('data_dir = "data"\ntime_per_move = 5.0\n\n[roster]\nquick = "mcts:sims=50"\n')
    monkeypatch.setenv("ARENA_CONFIG", str(path))
    monkeypatch.delenv("ARENA_DATA_DIR", raising=False)
    return path


def run_arena(*args: str, input: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real `arena` command in a subprocess (the environment carries ARENA_CONFIG)."""
    return subprocess.run(
        [*ARENA, *args], capture_output=True, text=True, input=input, timeout=timeout,
        cwd=ROOT, env=dict(os.environ),
    )


def stored(config: Path) -> tuple[int, int]:
    """(matches, tournaments) in the store beside `config` (the `config` fixture's); (0, 0)
    when there is none."""
    import sqlite3

    db = config.parent / "data" / "arena.db"
    if not db.is_file():
        return 0, 0
    conn = sqlite3.connect(db)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        matches = conn.execute("SELECT COUNT(*) FROM matches").fetchone()[0]
        tournaments = (conn.execute("SELECT COUNT(*) FROM tournaments").fetchone()[0]
                       if "tournaments" in tables else 0)
        return matches, tournaments
    finally:
        conn.close()


def matches_stored(config: Path) -> int:
    """How many matches the store beside `config` holds; 0 when there is none."""
    return stored(config)[0]


@pytest.fixture
def one_thread():
    """torch on one thread for the test (the machine's cores are shared), restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class TrainRecorder:
    """Training hooks (agents/learner.py TrainHooks) that remember every finished episode
    (step, return, length) and every log line (step, metrics); tick never stops."""

    def __init__(self) -> None:
        self.episodes: list[tuple[int, float, int]] = []
        self.logs: list[tuple[int, dict[str, float]]] = []

    def episode(self, step: int, episode_return: float, length: int) -> None:
        self.episodes.append((step, episode_return, length))

    def log(self, step: int, metrics: dict[str, float]) -> None:
        self.logs.append((step, metrics))

    def tick(self, step: int) -> bool:
        return True


def assert_same_run(resumed, resumed_hooks, straight, straight_hooks) -> None:
    """A run resumed from a checkpoint ended as the uninterrupted one did: the same
    episodes reported, the same steps, the same weights to the last bit."""
    import torch

    assert resumed_hooks.episodes == straight_hooks.episodes
    assert resumed.steps == straight.steps
    for key, value in straight.net.state_dict().items():
        assert torch.equal(resumed.net.state_dict()[key], value), key
