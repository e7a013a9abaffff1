"""Training runs as the app sees them: read from their run directories, started and stopped.

A run directory (see arena/train.py) is read, never written, except for
``train.log`` and ``train.pid`` when the app itself starts the run: the log
keeps the subprocess's output. Whether a run trains now, how fast, and which
process to stop, comes from the trainer's ``heartbeat.json``, so a run started
anywhere (a terminal, another session) is followed and stopped alike; the pid
file only covers the seconds before a run's first heartbeat.
Everything here is cheap enough to call once a second.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.checkpoint import atomic_write_json
from arena.heartbeat import FINAL_STATES, heartbeat_state, local_pid, read_heartbeat

LOG_NAME = "train.log"
PID_NAME = "train.pid"
#: in the data dir: the paths opened on the Training screen, kept between sessions
OPENED_NAME = "opened_runs.json"


@dataclass
class Checkpoint:
    """One saved checkpoint of a run (last/ or best/)."""

    name: str
    steps: int | None
    eval_mean: float | None


@dataclass
class RunStatus:
    """Everything the Training screen shows about a run, read at one moment."""

    path: Path
    algo: str = "?"
    game: str = "?"
    total_steps: int | None = None
    step: int = 0
    episodes: int = 0
    returns: list[float] = field(default_factory=list)  # every episode's return, in order
    evals: list[tuple[int, float, float]] = field(default_factory=list)  # (step, mean, ci95)
    losses: list[float] = field(default_factory=list)
    steps_per_s: float | None = None
    eta_s: float | None = None
    checkpoints: list[Checkpoint] = field(default_factory=list)
    pid: int | None = None  # the training process on this machine, while it runs
    host: str | None = None  # where the training process runs (from its heartbeat)
    live_state: str | None = None  # from the heartbeat or the pid: running, crashed, ...
    log_tail: list[str] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.live_state == "running"

    @property
    def best_eval(self) -> float | None:
        return max((m for _, m, _ in self.evals), default=None)

    @property
    def state(self) -> str:
        """running, not responding, finished, stopped, crashed, or not started.

        From the heartbeat when the run has one; older runs from their files:
        finished (reached its target), stopped (has a checkpoint).
        """
        if self.live_state is not None:
            return self.live_state
        if self.total_steps is not None and self.step >= self.total_steps:
            return "finished"
        if self.checkpoints:
            return "stopped"
        return "not started"


def _read_json(path: Path) -> dict[str, Any]:
    from games.errors import UserError
    from games.inputs import read_bounded

    try:  # bounded: an endless file (a link to /dev/zero) reads as none
        data = json.loads(read_bounded(path, "JSON"))
    except (OSError, ValueError, UserError):
        return {}
    return data if isinstance(data, dict) else {}


def _read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV log; a half-written last line (the writer is live) is dropped."""
    try:
        text = path.read_text()
    except OSError:
        return []
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    return list(csv.DictReader(text.splitlines()))


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def is_run_dir(path: Path) -> bool:
    """True for a directory arena train writes (it has run.json)."""
    return (path / "run.json").is_file()


def list_runs(runs_dir: Path) -> list[Path]:
    """The run directories under `runs_dir`, newest first."""
    if not runs_dir.is_dir():
        return []
    try:
        runs = [p for p in runs_dir.iterdir()
                if p.is_dir() and (is_run_dir(p) or (p / LOG_NAME).exists())]
    except OSError:
        return []
    return sorted(runs, key=_mtime, reverse=True)


def _mtime(path: Path) -> tuple[float, str]:
    try:
        return (path.stat().st_mtime, path.name)
    except OSError:
        return (0.0, path.name)


def gather_runs(runs_dir: Path, opened: list[Path]) -> list[Path]:
    """The runs under `runs_dir` and under each opened path, newest first, each once.

    An opened path is a run directory (listed itself) or a folder of runs.
    """
    found: dict[Path, Path] = {}
    for root in [runs_dir, *opened]:
        for path in ([root] if is_run_dir(root) else list_runs(root)):
            found.setdefault(path.resolve(), path)
    return sorted(found.values(), key=_mtime, reverse=True)


def load_opened(data_dir: Path) -> list[Path]:
    """The paths opened on the Training screen in earlier sessions (that still exist)."""
    from games.errors import UserError
    from games.inputs import read_bounded

    try:
        data = json.loads(read_bounded(data_dir / OPENED_NAME, "JSON"))
    except (OSError, ValueError, UserError):
        return []
    paths = data.get("paths", []) if isinstance(data, dict) else []
    return [Path(p) for p in paths if isinstance(p, str) and Path(p).is_dir()]


def remember_opened(data_dir: Path, path: Path) -> list[Path]:
    """Add `path` (made absolute) to the opened paths kept in the data dir; the new list."""
    path = Path(path).expanduser().resolve()
    opened = [p for p in load_opened(data_dir) if p.resolve() != path] + [path]
    try:
        atomic_write_json(data_dir / OPENED_NAME, {"paths": [str(p) for p in opened]})
    except OSError:
        pass  # a read-only data dir: remembered for this session only
    return opened


def live_state(path: Path) -> tuple[str | None, dict[str, Any] | None]:
    """(state, heartbeat): the state from the heartbeat or the app's pid file, else None.

    A process the app started counts as running before its first heartbeat
    (and while a resumed run has not yet replaced the last one's final beat).
    """
    heartbeat = read_heartbeat(path)
    state = heartbeat_state(heartbeat) if heartbeat is not None else None
    if state in (None, *FINAL_STATES) and training_pid(path) is not None:
        state = "running"
    return state, heartbeat


def read_run(path: Path) -> RunStatus:
    """The status of the run at `path`, from run.json, the CSV logs, checkpoints and the log."""
    path = Path(path)
    info = _read_json(path / "run.json")
    status = RunStatus(path, algo=str(info.get("algo", "?")), game=str(info.get("game", "?")))
    if "total_steps" in info:
        status.total_steps = int(info["total_steps"])
    rows = _read_csv(path / "episodes.csv")
    points: list[tuple[float, float]] = []  # (seconds, step) to measure speed
    for row in rows:
        step, ret, seconds = _number(row.get("step")), _number(row.get("return")), _number(row.get("seconds"))
        if step is None or ret is None:
            continue
        status.returns.append(ret)
        status.step = max(status.step, int(step))
        if seconds is not None:
            points.append((seconds, step))
    status.episodes = len(status.returns)
    for row in _read_csv(path / "evals.csv"):
        step, mean, ci = _number(row.get("step")), _number(row.get("mean")), _number(row.get("ci95"))
        if step is not None and mean is not None:
            status.evals.append((int(step), mean, ci or 0.0))
            status.step = max(status.step, int(step))
    for name in ("last", "best"):
        meta = _read_json(path / name / "meta.json")
        if meta:
            steps = meta.get("steps")
            status.checkpoints.append(Checkpoint(
                name, int(steps) if isinstance(steps, (int, float)) else None,
                float(meta["eval_mean"]) if isinstance(meta.get("eval_mean"), (int, float)) else None))
            if isinstance(steps, (int, float)):
                status.step = max(status.step, int(steps))
    status.losses = read_scalars(path / "tb", "train/loss")
    status.live_state, heartbeat = live_state(path)
    if heartbeat is not None:
        status.host = heartbeat.get("host") if isinstance(heartbeat.get("host"), str) else None
        if isinstance(heartbeat.get("step"), int):
            status.step = max(status.step, heartbeat["step"])
        if isinstance(heartbeat.get("total_steps"), int):
            status.total_steps = heartbeat["total_steps"]
    status.pid = stoppable_pid(path, heartbeat)
    if status.running:
        rate = heartbeat.get("steps_per_s") if heartbeat is not None else None
        known = isinstance(rate, (int, float)) and rate > 0
        status.steps_per_s = float(rate) if known else _speed(points)
        if status.steps_per_s and status.total_steps:
            status.eta_s = max(status.total_steps - status.step, 0) / status.steps_per_s
    status.log_tail = _tail(path / LOG_NAME, 6)
    return status


def _speed(points: list[tuple[float, float]]) -> float | None:
    """Steps per second over the last ~30 seconds of logged episodes."""
    if len(points) < 2:
        return None
    end_s, end_step = points[-1]
    start_s, start_step = points[0]
    for seconds, step in reversed(points):
        start_s, start_step = seconds, step
        if end_s - seconds >= 30:
            break
    if end_s - start_s <= 0:
        return None
    return (end_step - start_step) / (end_s - start_s)


def _tail(path: Path, lines: int) -> list[str]:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    # The trainer redraws its progress line with carriage returns; keep the latest drawing.
    shown = [line.rsplit("\r", 1)[-1].rstrip() for line in text.splitlines()]
    return [line for line in shown if line][-lines:]


# -- TensorBoard scalars -------------------------------------------------------------------
#
# The trainer logs losses only to TensorBoard. Its event files are TFRecord
# files of `Event` protocol buffers; the handful of fields needed here are
# read with a small wire-format decoder rather than importing TensorBoard,
# which is slow to import and not needed to run Arena.


def _varint(data: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, i
        shift += 7


def _fields(data: bytes) -> list[tuple[int, Any]]:
    """(field number, value) of a protobuf message: ints, or bytes for the other wire types."""
    out = []
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        elif wire == 2:
            length, i = _varint(data, i)
            value, i = data[i:i + length], i + length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((number, value))
    return out


def read_scalars(tb_dir: Path, tag: str) -> list[float]:
    """The values logged under `tag` in the event files of `tb_dir`, in file order.

    Unreadable or half-written records end the reading of that file; an
    absent directory gives [].
    """
    if not tb_dir.is_dir():
        return []
    values: list[float] = []
    wanted = tag.encode()
    for path in sorted(tb_dir.glob("events.out.tfevents.*")):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        offset = 0
        while offset + 12 <= len(data):
            (length,) = struct.unpack_from("<Q", data, offset)
            end = offset + 12 + length + 4  # length, its crc, the record, its crc
            if end > len(data):
                break
            record = data[offset + 12: offset + 12 + length]
            offset = end
            if wanted not in record:  # cheap test before decoding
                continue
            try:
                for number, summary in _fields(record):
                    if number != 5:  # Event.summary
                        continue
                    for vnumber, value in _fields(summary):
                        if vnumber != 1:  # Summary.value
                            continue
                        parts = dict(_fields(value))
                        if parts.get(1) == wanted and isinstance(parts.get(2), bytes):
                            values.append(struct.unpack("<f", parts[2])[0])  # simple_value
            except (ValueError, IndexError, struct.error):
                break
    return values


# -- starting and stopping ------------------------------------------------------------------


def train_command(algo: str, game: str, out: Path, steps: int | None = None) -> list[str]:
    """The `arena train` command line that starts a run in `out`."""
    command = [sys.executable, "-m", "arena", "train", algo, game, "--out", str(out)]
    if steps is not None:
        command += ["--steps", str(steps)]
    return command


def new_run_dir(runs_dir: Path, algo: str, game: str) -> Path:
    """A fresh run directory name under `runs_dir` (not created)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = runs_dir / f"{algo}-{game}-{stamp}"
    n = 2
    while path.exists():
        path = runs_dir / f"{algo}-{game}-{stamp}-{n}"
        n += 1
    return path


def start_training(command: list[str], run_dir: Path) -> subprocess.Popen:
    """Start `command` as its own process session, output to run_dir/train.log.

    Its own session: closing the app, or Ctrl-C in the app's terminal, does
    not reach the run; only `stop_training` (SIGINT, so the run saves) does.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / LOG_NAME).open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    (run_dir / PID_NAME).write_text(f"{process.pid}\n")
    return process


def training_pid(run_dir: Path) -> int | None:
    """The pid of the process training `run_dir`, if the app started it and it still runs."""
    try:
        pid = int((run_dir / PID_NAME).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        with open(f"/proc/{pid}/stat", "rb") as f:
            zombie = f.read().rsplit(b")", 1)[-1].split()[0] == b"Z"
    except OSError:
        return _alive_without_proc(pid)
    # A recycled pid belongs to some other program: it must be training this run.
    if zombie or "train" not in cmdline or run_dir.name not in cmdline:
        return None
    return pid


def _alive_without_proc(pid: int) -> int | None:
    """Where /proc is missing (macOS): trust the pid file while the process exists."""
    if Path("/proc").is_dir():
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return pid


def stoppable_pid(run_dir: Path, heartbeat: dict[str, Any] | None = None) -> int | None:
    """The process training `run_dir` on this machine, whoever started it; None if none runs.

    The heartbeat's pid while it says the run trains (and it is still that
    process), else the pid file of a run the app started.
    """
    heartbeat = read_heartbeat(run_dir) if heartbeat is None else heartbeat
    if heartbeat is not None and heartbeat.get("state") not in FINAL_STATES:
        pid = local_pid(heartbeat)
        if pid is not None:
            return pid
    return training_pid(run_dir)


def stop_training(run_dir: Path) -> bool:
    """SIGINT to the run's process (it saves a checkpoint, then exits); False if none runs here."""
    pid = stoppable_pid(run_dir)
    if pid is None:
        return False
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return False  # it ended just now
    return True
