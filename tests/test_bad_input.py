"""Every bad value gets one line: exit code 2, one line under 300 characters naming the
argument, field or file and the value, no traceback, and nothing new in the store."""

from __future__ import annotations

import os
import resource
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ARENA, ROOT, run_arena, stored

from arena.cli import main
from games.errors import UserError

MAX_SEED = 2**63 - 1


def one_line(code: int, err: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert len(lines[0]) < 300, lines[0]
    return lines[0]


def refused(capsys: pytest.CaptureFixture, *argv: str) -> str:
    """The one line `arena ARGV` (in this process) prints on stderr, exiting with code 2."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert out == ""
    return one_line(code, err)


def refused_proc(proc: subprocess.CompletedProcess) -> str:
    assert proc.stdout == "", proc.stdout
    return one_line(proc.returncode, proc.stderr)


def spec_file(tmp_path: Path, **fields) -> Path:
    data = {"name": "t", "game": "tictactoe", "participants": ["random", "greedy"], **fields}
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def write_config(config: Path, text: str) -> None:
    config.write_text('data_dir = "data"\ntime_per_move = 5.0\n' + text)


# -- seeds ------------------------------------------------------------------------------------

SEED_COMMANDS = [
    ["match", "tictactoe", "random", "random"],
    ["eval", "random", "cartpole"],
    ["gtp", "random"],
    ["train", "ppo", "cartpole"],
    ["watch", "tictactoe", "random", "random"],
    ["play", "tictactoe", "--vs", "random"],
    ["data", "gnugo", "--games", "1"],
]


@pytest.mark.parametrize("seed", ["-1", "1180591620717411303424", "9223372036854775808"])
@pytest.mark.parametrize("command", SEED_COMMANDS, ids=lambda c: c[0])
def test_a_seed_outside_the_stores_integers_is_one_line(config, capsys, tmp_path, command, seed):
    line = refused(capsys, *command, "--seed", seed)
    assert f"argument --seed: {seed} is outside 0..{MAX_SEED}" in line, line
    assert stored(config) == (0, 0)


def test_the_largest_seed_is_stored_and_one_past_it_is_refused(config):
    assert run_arena("match", "tictactoe", "random", "random", "--games", "1",
                     "--seed", str(MAX_SEED)).returncode == 0
    assert f"seed {MAX_SEED}" in run_arena("replay", "1").stdout
    line = refused_proc(run_arena("match", "tictactoe", "random", "random", "--games", "2",
                                  "--seed", str(MAX_SEED)))
    assert line.startswith(f"arena: argument --seed: {MAX_SEED} with 2 games passes the "
                           f"largest seed {MAX_SEED}"), line
    assert f"at most {MAX_SEED - 1} for 2 games" in line
    assert stored(config) == (1, 0)


@pytest.mark.parametrize(("seed", "games", "expected"), [
    (10**23, 2, "field 'seed': 100000000000000000000000 is above 9223372036854775806"),
    (MAX_SEED, 2, f"field 'seed': {MAX_SEED} is above {MAX_SEED - 1}, the largest seed here"),
    (-1, 2, f"field 'seed': -1 is negative; seeds are 0..{MAX_SEED}"),
])
def test_a_spec_seed_outside_the_stores_integers_is_one_line(config, capsys, tmp_path, seed,
                                                             games, expected):
    spec = spec_file(tmp_path, seed=seed, games_per_pairing=games)
    line = refused(capsys, "tournament", "run", str(spec))
    assert line.startswith(f"arena: {spec}: {expected}"), line
    assert stored(config) == (0, 0)


def test_the_largest_spec_seed_for_its_games_is_accepted(tmp_path):
    from tournaments.spec import load_spec

    spec = load_spec(spec_file(tmp_path, seed=MAX_SEED - 1, games_per_pairing=2))
    assert spec.seed == MAX_SEED - 1


# -- time per move ----------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("inf", "argument --time-per-move: inf is above 86400 seconds (a day)"),
    ("1e300", "argument --time-per-move: 1e300 is above 86400 seconds (a day)"),
    ("nan", "argument --time-per-move: nan is not above 0"),
])
def test_time_per_move_on_the_command_line_is_bounded(config, capsys, value, expected):
    line = refused(capsys, "match", "tictactoe", "random", "random", "--time-per-move", value)
    assert expected in line, line
    assert stored(config) == (0, 0)


@pytest.mark.parametrize(("text", "expected"), [
    ("inf", "field 'time_per_move': input should be less than or equal to 86400 (got inf)"),
    ("1e300", "field 'time_per_move': input should be less than or equal to 86400 (got 1e+300)"),
    ("nan", "field 'time_per_move': input should be less than or equal to 86400 (got nan)"),
])
def test_time_per_move_in_arena_toml_is_bounded(config, capsys, text, expected):
    config.write_text(f'data_dir = "data"\ntime_per_move = {text}\n')
    line = refused(capsys, "match", "tictactoe", "random", "random")
    assert line == f"arena: {config}: {expected}", line
    assert stored(config) == (0, 0)


@pytest.mark.parametrize(("value", "expected"), [
    (float("inf"), "field 'time_per_move': inf is above 86400 seconds (a day)"),
    (1e300, "field 'time_per_move': 1e+300 is above 86400 seconds (a day)"),
])
def test_time_per_move_in_a_spec_is_bounded(config, capsys, tmp_path, value, expected):
    spec = spec_file(tmp_path, time_per_move=value)
    line = refused(capsys, "tournament", "run", str(spec))
    assert line.startswith(f"arena: {spec}: {expected}"), line
    assert stored(config) == (0, 0)


# -- strict numbers ---------------------------------------------------------------------------


def test_max_moves_true_in_arena_toml_is_refused(config, capsys):
    write_config(config, "max_moves = true\n")
    line = refused(capsys, "match", "tictactoe", "random", "random")
    assert line == f"arena: {config}: field 'max_moves': input should be a valid integer (got True)"
    assert stored(config) == (0, 0)


@pytest.mark.parametrize("field", ["max_moves", "games_per_pairing", "seed"])
def test_true_is_no_number_in_a_spec(config, capsys, tmp_path, field):
    spec = spec_file(tmp_path, **{field: True})
    line = refused(capsys, "tournament", "run", str(spec))
    assert line == f"arena: {spec}: field '{field}': input should be a valid integer (got True)"
    assert stored(config) == (0, 0)


@pytest.mark.parametrize(("ref", "param"), [
    ("mcts:c=nan", "c=nan"), ("mcts:c=inf", "c=inf"), ("mcts:sims=100,time=inf", "time=inf"),
    ("mcts:c=1e999", "c=1e999"),
])
def test_agent_parameters_must_be_finite(config, capsys, ref, param):
    line = refused(capsys, "match", "tictactoe", ref, "random")
    assert line == f"arena: agent '{ref}': parameter {param} is not a finite number", line
    assert stored(config) == (0, 0)


def test_mcts_refuses_a_c_of_nan_built_directly():
    from agents.uct import MCTSAgent

    for c in (float("nan"), float("inf"), -1.0):
        with pytest.raises(ValueError, match="c must be a finite number of at least 0"):
            MCTSAgent(c=c)


# -- the roster -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "name", "what"), [
    ('[roster.random]\nagent = "greedy"\n', "random", "the built-in agent 'random'"),
    ('[roster]\nmcts = "random"\n', "mcts", "the built-in agent 'mcts'"),
    ('[roster]\ngtp = "random"\n', "gtp", "the 'gtp:' references"),
    ('[roster]\n"greedy:x=1" = "random"\n', "greedy:x=1", "the built-in agent 'greedy'"),
])
def test_a_roster_name_that_hides_a_built_in_is_refused(config, capsys, text, name, what):
    write_config(config, text)
    line = refused(capsys, "match", "tictactoe", "random", "greedy")
    assert line == (f"arena: {config}: field 'roster': roster name '{name}' would hide {what}; "
                    f"pick another name"), line
    assert stored(config) == (0, 0)


# -- the data dir and the store ---------------------------------------------------------------


def test_a_data_dir_that_is_a_file_is_one_line(config, capsys):
    (config.parent / "afile").write_text("not a directory\n")
    config.write_text('data_dir = "afile"\n')
    line = refused(capsys, "match", "tictactoe", "random", "random")
    afile = config.parent / "afile"
    assert line == f"arena: {config}: field 'data_dir': '{afile}' is not a directory"
    config.write_text('data_dir = "afile/deeper/data"\n')
    line = refused(capsys, "match", "tictactoe", "random", "random")
    assert line == (f"arena: {config}: field 'data_dir': '{config.parent / 'afile/deeper/data'}' "
                    f"is inside '{config.parent / 'afile'}', which is not a directory"), line


def test_arena_data_dir_that_is_a_file_is_one_line(config, capsys, monkeypatch):
    afile = config.parent / "afile"
    afile.write_text("x\n")
    monkeypatch.setenv("ARENA_DATA_DIR", str(afile))
    line = refused(capsys, "tournament", "list")
    assert line == f"arena: ARENA_DATA_DIR: '{afile}' is not a directory"


def test_a_store_that_is_a_directory_is_one_line(config, capsys):
    (config.parent / "data" / "arena.db").mkdir(parents=True)
    line = refused(capsys, "match", "tictactoe", "random", "random", "--games", "1")
    assert line == (f"arena: cannot open the store at {config.parent / 'data' / 'arena.db'}: "
                    f"is a directory"), line


def test_a_data_dir_that_cannot_be_made_is_one_line(config, capsys):
    from tournaments.store import Store, StoreError

    with pytest.raises(StoreError) as caught:
        Store(Path("/proc/self/arena-data/arena.db"))
    assert str(caught.value).startswith("cannot open the store at /proc/self/arena-data/arena.db:")


def _sqlite_integrity(db: Path) -> tuple[str, int]:
    conn = sqlite3.connect(db)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        orphans = conn.execute(
            "SELECT COUNT(*) FROM matches m WHERE NOT EXISTS "
            "(SELECT 1 FROM match_agents a WHERE a.match_id = m.id)").fetchone()[0]
        return check, orphans
    finally:
        conn.close()


def test_a_store_write_that_fails_is_one_line_and_the_store_stays_whole(config):
    """Writes beyond a file size limit fail as on a full disk (EFBIG, SIGXFSZ ignored)."""
    assert run_arena("match", "tictactoe", "random", "random", "--games", "1").returncode == 0
    db = config.parent / "data" / "arena.db"

    def cap() -> None:  # the WAL may hold a few pages, not a match's worth many times over
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))

    proc = subprocess.run([*ARENA, "match", "tictactoe", "random", "random", "--games", "40"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=dict(os.environ), preexec_fn=cap)
    line = one_line(proc.returncode, proc.stderr)
    assert line == (f"arena: cannot write the store at {db}: disk I/O error while writing "
                    f"(is the disk full?)"), line
    assert _sqlite_integrity(db) == ("ok", 0)
    assert 1 <= stored(config)[0] < 41


def _tmpfs_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            "mount -t tmpfs -o size=64k none /mnt"],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


@pytest.mark.skipif(not _tmpfs_works(), reason="no unprivileged mount namespace for a small tmpfs")
def test_a_full_disk_is_one_line_and_the_store_stays_whole(config, tmp_path):
    """A real full filesystem: a small tmpfs in a mount namespace, filled up."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    data = mnt / "data"
    arena = " ".join(ARENA)
    script = f"""
set -e
mount -t tmpfs -o size=1m none {mnt}
mkdir {data}
export ARENA_DATA_DIR={data}
{arena} match tictactoe random random --games 1 > /dev/null
free=$(( $(stat -f -c %a {mnt}) * $(stat -f -c %S {mnt}) ))
head -c $(( free - 40000 )) /dev/zero > {mnt}/filler
set +e
{arena} match tictactoe random random --games 40 > /dev/null
echo rc=$? >&2
rm {mnt}/filler
{ARENA[0]} -c "import sqlite3; c = sqlite3.connect('{data}/arena.db'); \\
print(c.execute('PRAGMA integrity_check').fetchone()[0], \\
c.execute('SELECT COUNT(*) FROM matches').fetchone()[0])"
"""
    proc = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
                          capture_output=True, text=True, timeout=180, cwd=ROOT,
                          env=dict(os.environ))
    lines = proc.stderr.strip().splitlines()
    assert lines[-1] == "rc=2", proc.stderr
    assert len(lines) == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0] == f"arena: cannot write the store at {data / 'arena.db'}: disk full", lines[0]
    check, count = proc.stdout.split()
    assert check == "ok" and 1 <= int(count) < 41


# -- the tournament lock ----------------------------------------------------------------------


def test_a_lock_path_that_is_a_directory_is_one_line(config, capsys, tmp_path):
    lock = config.parent / "data" / "tournaments" / "t.lock"
    lock.mkdir(parents=True)
    spec = spec_file(tmp_path)
    line = refused(capsys, "tournament", "run", str(spec))
    assert line == f"arena: cannot lock 't': {lock} is a directory, not a lock file", line
    assert stored(config) == (0, 0)


# -- error lines stay short -------------------------------------------------------------------


def test_a_huge_bad_value_is_cut_to_one_readable_line(config, capsys, tmp_path):
    spec = spec_file(tmp_path, format="x" * 100_000)
    line = refused(capsys, "tournament", "run", str(spec))
    assert line.startswith(f"arena: {spec}: field 'format': input should be 'round-robin'")
    assert line.endswith("xxx')") and "xxx...xxx" in line, line  # reprlib cuts the middle
    ref = "y" * 100_000
    line = refused(capsys, "match", "tictactoe", ref, "random")
    assert line.startswith("arena: unknown agent 'yyy") and line.endswith("..."), line
    assert stored(config) == (0, 0)
