"""arena.toml: loading, defaults, and one clear line for every kind of bad file."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, run_arena

from arena.config import load_settings
from games.errors import UserError


def test_project_arena_toml_is_valid(monkeypatch):
    monkeypatch.delenv("ARENA_DATA_DIR", raising=False)
    settings = load_settings(ROOT / "arena.toml")
    assert settings.data_dir == ROOT / "data"
    assert settings.roster_refs()["uct-strong"] == "mcts:sims=3000"


def test_values_and_relative_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("ARENA_DATA_DIR", raising=False)
    path = tmp_path / "a.toml"
    path.write_text('data_dir = "store"\ndevice = "cpu"\ntime_per_move = 2.5\n'
                    '[roster.me]\nagent = "greedy"\ndescription = "mine"\n')
    s = load_settings(path)
    assert s.data_dir == tmp_path / "store" and s.device == "cpu" and s.time_per_move == 2.5
    assert s.roster_refs() == {"me": "greedy"}
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path / "elsewhere"))
    assert load_settings(path).data_dir == tmp_path / "elsewhere"


def test_no_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ARENA_CONFIG", raising=False)
    monkeypatch.delenv("ARENA_DATA_DIR", raising=False)
    s = load_settings()
    assert s.device == "auto" and s.data_dir == Path("~/.local/share/arena").expanduser()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('device = "gpu"', "field 'device': input should be 'auto', 'cpu' or 'cuda' (got 'gpu')"),
        ("time_per_move = -1", "field 'time_per_move': input should be greater than 0 (got -1)"),
        ("colour = 3", "unknown field 'colour'"),
        ("data_dir = [", "invalid TOML"),
        ('[roster.x]\nagent = ""', "field 'roster.x.agent'"),
        ('[roster.x]\nagnet = "mcts"', "field 'roster.x.agent': field required"),
    ],
)
def test_bad_files_give_one_line(tmp_path, text, message):
    path = tmp_path / "arena.toml"
    path.write_text(text + "\n")
    with pytest.raises(UserError) as err:
        load_settings(path)
    assert str(err.value).startswith(str(path))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_malformed_config_exits_2_from_the_command_line(tmp_path, monkeypatch):
    path = tmp_path / "arena.toml"
    path.write_text('device = "tpu"\n')
    monkeypatch.setenv("ARENA_CONFIG", str(path))
    proc = run_arena("games")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"arena: {path}: field 'device': input should be 'auto', 'cpu' or 'cuda' (got 'tpu')")
    proc = run_arena("--config", str(tmp_path / "missing.toml"), "games")
    assert proc.returncode == 2 and "does not exist" in proc.stderr
