"""Input cannot exhaust memory: endless files, huge schedules and YAML bombs get one line.

Every file Arena reads from a user is read with a bound (16 MB), a YAML document's
aliases are limited, and a schedule's size is checked at spec validation. The
memory tests run the real `arena` command in a subprocess whose address space
is capped (RLIMIT_AS): what Arena needs to start, plus 500 MB.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import ARENA, ROOT, stored

from games.errors import UserError
from games.inputs import (
    MAX_INPUT_BYTES,
    MAX_YAML_ALIASES,
    InputTooLarge,
    YamlLimitError,
    load_yaml,
    read_bounded,
)

MB = 1024 * 1024
#: What the tests allow a command beyond the address space Arena needs to start.
HEADROOM = 500 * MB


# -- helpers ---------------------------------------------------------------------------------


def _baseline_address_space() -> int:
    """VmPeak of a process that has imported what `arena` commands start with (torch for
    training and the agents, the CLI, the games): the address space they need to start."""
    code = ("import torch\nfrom arena.cli import main\nmain(['games'])\n"
            "print(next(l for l in open('/proc/self/status') if l.startswith('VmPeak')))")
    proc = subprocess.run([ARENA[0], "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    kb = int(proc.stdout.strip().splitlines()[-1].split()[1])
    return kb * 1024


@pytest.fixture(scope="module")
def address_limit() -> int:
    return _baseline_address_space() + HEADROOM


def run_capped(limit: int, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real `arena ARGS` with its address space capped at `limit` bytes."""
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return subprocess.run([*ARENA, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=dict(os.environ), preexec_fn=cap)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr[:2000]
    assert len(lines[0]) < 300, lines[0]
    return lines[0]


def endless(path: Path) -> Path:
    """`path` made a symlink to /dev/zero: endless, and stat says its size is 0."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to("/dev/zero")
    assert path.stat().st_size == 0
    return path


def laughs(levels: int, field: str = "participants") -> str:
    """A "billion laughs" spec: `levels` lists of ten aliases of the one before."""
    lines = ['l0: &l0 ["random", "random", "random", "random", "random", "random", "random", '
             '"random", "random", "random"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]")
    lines += ["name: laughs", "game: tictactoe", f"{field}: *l{levels - 1}"]
    return "\n".join(lines) + "\n"


# -- bounded reads ---------------------------------------------------------------------------


def test_an_endless_file_is_refused_after_reading_its_limit(tmp_path):
    zero = endless(tmp_path / "zero.sgf")
    start = time.perf_counter()
    with pytest.raises(InputTooLarge) as caught:
        read_bounded(zero, "SGF", limit=64 * 1024)
    assert time.perf_counter() - start < 5
    assert str(caught.value) == (f"{zero}: larger than 64 kB, the limit for SGF files "
                                 f"(or endless); refused")
    assert isinstance(caught.value, UserError)


def test_a_file_at_the_limit_is_read_and_one_byte_more_is_not(tmp_path):
    path = tmp_path / "f.json"
    path.write_bytes(b"x" * 1000)
    assert read_bounded(path, "JSON", limit=1000) == b"x" * 1000
    path.write_bytes(b"x" * 1001)
    with pytest.raises(InputTooLarge):
        read_bounded(path, "JSON", limit=1000)
    assert MAX_INPUT_BYTES == 16 * MB


def test_read_sgf_refuses_an_endless_sgf(tmp_path):
    from games.go.sgf import read_sgf

    zero = endless(tmp_path / "game-00000.sgf")
    with pytest.raises(UserError, match=r"larger than 16 MB, the limit for SGF files"):
        read_sgf(zero)


def test_checkpoint_metadata_is_read_with_a_bound(tmp_path):
    from agents.checkpoint import read_meta
    from agents.registry import trained_game

    (tmp_path / "ckpt").mkdir()
    with open(tmp_path / "ckpt" / "meta.json", "wb") as f:  # 17 MB, sparse: zeros to read
        f.truncate(17 * MB)
    with pytest.raises(UserError, match=r"meta.json: larger than 16 MB, the limit for JSON "):
        read_meta(tmp_path / "ckpt")
    with pytest.raises(UserError, match=r"larger than 16 MB"):
        trained_game(str(tmp_path / "ckpt"))


# -- YAML ------------------------------------------------------------------------------------


def test_yaml_anchors_and_merge_keys_within_the_limits_still_load():
    text = ("base: &base {agent: 'mcts:sims=10', description: uct}\n"
            "a: {<<: *base, name: a}\nb: {<<: *base, name: b}\nlist: &l [1, 2, 3]\n"
            "again: [*l, *l]\n")
    data = load_yaml(text)
    assert data == yaml.safe_load(text)
    assert data["b"] == {"agent": "mcts:sims=10", "description": "uct", "name": "b"}


@pytest.mark.parametrize(("text", "expected"), [
    (laughs(9), "expands to more than 100,000 values through its aliases"),
    (laughs(12), f"more than {MAX_YAML_ALIASES} aliases"),
    ("a: &a [1, *a]\n", "an alias refers to a value that contains it"),
    ("[" * 5000 + "]" * 5000, "nested deeper than 100 levels"),
    ("seed: 1" + "0" * 5000 + "\n", "digits"),
])
def test_yaml_over_a_limit_is_refused(text, expected):
    start = time.perf_counter()
    with pytest.raises(YamlLimitError) as caught:
        load_yaml(text)
    assert time.perf_counter() - start < 5
    assert expected in caught.value.problem
    assert len(caught.value.problem) < 200


@pytest.mark.parametrize("levels", [9, 10])
def test_a_billion_laughs_spec_is_one_short_line_within_memory(config, tmp_path, address_limit,
                                                               levels):
    spec = tmp_path / "laughs.yaml"
    spec.write_text(laughs(levels))
    start = time.perf_counter()
    line = one_line_error(run_capped(address_limit, "tournament", "run", str(spec)))
    assert time.perf_counter() - start < 60
    # The line of the first list that expands past the limit: l4, of 10**5 values and more.
    assert line.startswith(f"arena: {spec}: invalid YAML at line 5, column 5: "), line
    assert "expands to more than 100,000 values through its aliases; refused" in line
    assert stored(config) == (0, 0)


def test_a_bomb_of_many_aliases_in_a_set_override_is_refused(config, tmp_path, capsys):
    from arena.cli import main

    bomb = "[" + ", ".join(["&a x"] + ["*a"] * (MAX_YAML_ALIASES + 1)) + "]"
    code = main(["train", "ppo", "cartpole", "--out", str(tmp_path / "run"),
                 "--set", f"hidden={bomb}"])
    assert code == 2
    line = capsys.readouterr().err.strip()
    assert line == (f"arena: argument --set: hidden: more than {MAX_YAML_ALIASES} aliases "
                    f"(*name); refused")
    assert not (tmp_path / "run").exists()


# -- memory: endless files and huge schedules through the real command -------------------------


def test_an_endless_sgf_in_a_dataset_is_one_line_within_memory(config, tmp_path, address_limit):
    dataset = tmp_path / "dataset"
    endless(dataset / "game-00000.sgf")
    proc = run_capped(address_limit, "train", "alphago", "go9", "--out", str(tmp_path / "run"),
                      "--set", f"dataset_dir={dataset}", "--set", "dataset_games=1",
                      timeout=180)
    # Training's progress lines come first on stderr; the error is one line after them.
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert all(earlier.startswith("step ") for earlier in proc.stderr.strip().splitlines()[:-1])
    assert line == (f"arena: {dataset / 'game-00000.sgf'}: larger than 16 MB, the limit for SGF "
                    f"files (or endless); refused"), line
    assert stored(config) == (0, 0)


def test_an_endless_spec_is_one_line_within_memory(config, tmp_path, address_limit):
    spec = endless(tmp_path / "spec.yaml")
    line = one_line_error(run_capped(address_limit, "tournament", "run", str(spec)))
    assert line == (f"arena: {spec}: larger than 16 MB, the limit for YAML files (or endless); "
                    f"refused")
    assert stored(config) == (0, 0)


def test_an_endless_arena_toml_is_one_line_within_memory(tmp_path, address_limit, monkeypatch):
    toml = endless(tmp_path / "arena.toml")
    monkeypatch.setenv("ARENA_CONFIG", str(toml))
    line = one_line_error(run_capped(address_limit, "match", "tictactoe", "random", "random"))
    assert line == (f"arena: {toml}: larger than 16 MB, the limit for arena.toml files "
                    f"(or endless); refused")
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(("fields", "expected"), [
    ({"games_per_pairing": 100000000000000000000},
     "field 'games_per_pairing': 100000000000000000000 is above 1,000,000, the most a "
     "tournament takes"),
    ({"games_per_pairing": 5000000},
     "field 'games_per_pairing': 5000000 is above 1,000,000, the most a tournament takes"),
    ({"games_per_pairing": 100000,
      "participants": [{"name": f"r{i}", "agent": "random"} for i in range(10)]},
     "field 'games_per_pairing': 100,000 games per pairing make 4,500,000 games in this "
     "round-robin of 10 participants; a tournament plays at most 1,000,000"),
    ({"format": "swiss", "rounds": 10**9},
     "field 'rounds': 1000000000 is above 10,000, the most a tournament takes"),
    ({"format": "gauntlet", "challengers": 10**12},
     "field 'challengers': 1000000000000 is above 1,000, the most a tournament takes"),
    ({"participants": [{"name": f"p{i}", "agent": "random"} for i in range(1001)]},
     "field 'participants': 1001 is above 1,000, the most a tournament takes"),
])
def test_a_huge_schedule_is_refused_within_memory_before_anything_is_stored(
        config, tmp_path, address_limit, fields, expected):
    data = {"name": "huge", "game": "tictactoe", "participants": ["random", "greedy"], **fields}
    spec = tmp_path / "huge.yaml"
    spec.write_text(json.dumps(data))  # JSON is YAML
    start = time.perf_counter()
    line = one_line_error(run_capped(address_limit, "tournament", "run", str(spec)))
    assert time.perf_counter() - start < 60
    assert line == f"arena: {spec}: {expected}", line
    assert stored(config) == (0, 0)


def test_a_huge_league_is_refused(tmp_path):
    from tournaments.league.spec import parse_league_spec

    base = {"name": "l", "game": "tictactoe", "references": ["random"],
            "learners": [{"name": "a", "algo": "ppo"}]}
    for change, expected in [
        ({"rounds": 10**20}, "field 'rounds': 100000000000000000000 is above 10,000, the most "
                             "a league takes"),
        ({"games_per_round": 5_000_000}, "field 'games_per_round': 5000000 is above 1,000,000"),
        ({"rounds": 1000, "games_per_round": 10_000},
         "field 'games_per_round': 10,000 games in each of 1,000 rounds for 1 learner(s) make "
         "10,000,000 games; a league plays at most 1,000,000"),
    ]:
        with pytest.raises(UserError) as caught:
            parse_league_spec({**base, **change}, "l.yaml")
        assert str(caught.value).startswith(f"l.yaml: {expected}"), str(caught.value)


def test_run_files_that_never_end_are_skipped_within_memory(tmp_path, address_limit):
    """The Training and Agents screens, `arena agents`: a run's meta.json or heartbeat that
    is a link to /dev/zero reads as none, after 16 MB, instead of filling memory."""
    runs = tmp_path / "runs"
    endless(runs / "r1" / "meta.json")
    endless(runs / "r1" / "heartbeat.json")
    code = ("from pathlib import Path\n"
            "from arena.tui.catalog import learned_entries\n"
            "from arena.heartbeat import read_heartbeat\n"
            f"print(len(learned_entries(Path({str(runs)!r}), 'run')), "
            f"read_heartbeat(Path({str(runs / 'r1')!r})))\n")

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_limit, address_limit))

    proc = subprocess.run([ARENA[0], "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=dict(os.environ), preexec_fn=cap)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["0", "None"]


def test_a_league_spec_error_quoting_a_huge_value_stays_short():
    from tournaments.league.spec import parse_league_spec

    spec = {"name": "l", "game": "tictactoe", "references": ["random"],
            "learners": [{"name": "a" * 100_000, "algo": "ppo"}]}
    with pytest.raises(UserError) as caught:
        parse_league_spec(spec, "l.yaml")
    assert len(str(caught.value)) < 300, str(caught.value)[:400]
