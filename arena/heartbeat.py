"""A training run's heartbeat: ``heartbeat.json`` in its run directory.

The trainer rewrites the file (atomically) every few seconds while it trains
and once at the end, so any process can tell whether the run is alive, how
fast it goes and how to stop it, whoever started it::

    {"pid": 4242, "pid_start": "123456", "host": "box", "command": "arena train ppo cartpole",
     "started": 1700000000.0, "updated_at": 1700000042.5, "state": "running",
     "step": 20480, "total_steps": 100000, "steps_per_s": 812.3, "eta_s": 98.0}

``state`` is ``running`` while it trains, then ``finished`` (reached its
target), ``stopped`` (Ctrl-C or SIGINT: a checkpoint was saved) or
``crashed`` (an error, named in ``error``). A run whose file still says
running but whose process is gone was killed: it reads as crashed.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.checkpoint import atomic_write_json
from arena.progress import RateMeter, eta_seconds

HEARTBEAT_NAME = "heartbeat.json"
#: seconds between beats
BEAT_S = 2.0
#: a beat older than this means the trainer is not responding (or gone)
STALE_S = 20.0
FINAL_STATES = ("finished", "stopped", "crashed")


def process_start(pid: int) -> str | None:
    """The start time of process `pid` as the kernel counts it (Linux), to tell a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[-1].split()
    except OSError:
        return None
    return fields[19].decode() if len(fields) > 19 else None


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


class Heartbeat:
    """Writes run_dir/heartbeat.json every BEAT_S seconds from a thread, and a final state.

    A thread, not the learner's tick: a learner may go many seconds between
    ticks (an evaluation, a self-play batch) and the run must not look dead.
    `step` is read through the callable each beat.
    """

    def __init__(self, run_dir: Path, step: Callable[[], int], total_steps: int,
                 beat_s: float = BEAT_S):
        self.path = Path(run_dir) / HEARTBEAT_NAME
        self.step = step
        self.total_steps = total_steps
        self.beat_s = beat_s
        self.meter = RateMeter(window_s=60.0)
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        pid = os.getpid()
        self.base: dict[str, Any] = {
            "pid": pid, "pid_start": process_start(pid), "host": socket.gethostname(),
            "command": " ".join(["arena", *sys.argv[1:]]) if sys.argv else "arena train",
            "started": time.time(),
        }
        self.thread = threading.Thread(target=self._run, name="arena-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self.beat()
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stopped.wait(self.beat_s):
            try:
                self.beat()
            except OSError:
                pass  # a full disk must not kill the training; the next beat tries again

    def beat(self, state: str = "running", **extra: Any) -> None:
        """Write the heartbeat now."""
        with self.lock:
            step = int(self.step())
            self.meter.add(step)
            rate = self.meter.rate()
            eta = eta_seconds(step, self.total_steps, rate) if state == "running" else 0.0
            atomic_write_json(self.path, {
                **self.base, "updated_at": time.time(), "state": state, "step": step,
                "total_steps": self.total_steps, "steps_per_s": rate, "eta_s": eta, **extra,
            })

    def end(self, state: str, error: str | None = None) -> None:
        """Stop beating and write the final state (finished, stopped or crashed)."""
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)
        extra = {"error": error} if error else {}
        try:
            self.beat(state, **extra)
        except OSError:
            pass


def read_heartbeat(run_dir: Path) -> dict[str, Any] | None:
    """The run's heartbeat, or None when it has none (or it cannot be read)."""
    from games.errors import UserError
    from games.inputs import read_bounded

    try:  # bounded: an endless file is no heartbeat, not a read that never ends
        data = json.loads(read_bounded(Path(run_dir) / HEARTBEAT_NAME, "JSON"))
    except (OSError, ValueError, UserError):
        return None
    return data if isinstance(data, dict) else None


def local_pid(heartbeat: dict[str, Any]) -> int | None:
    """The heartbeat's training process if it runs on this machine and is alive, else None.

    The pid must still be the same process: its start time is compared where
    the kernel tells it (Linux), so a reused pid is not taken for the trainer.
    """
    if heartbeat.get("host") != socket.gethostname():
        return None
    pid = heartbeat.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, someone else's
    except OSError:
        return None
    if _zombie(pid):
        return None
    recorded = heartbeat.get("pid_start")
    if recorded is not None and Path("/proc").is_dir() and process_start(pid) != recorded:
        return None
    return pid


def heartbeat_state(heartbeat: dict[str, Any], now: float | None = None) -> str:
    """running, not responding, or the final state (finished, stopped, crashed)."""
    state = heartbeat.get("state")
    if state in FINAL_STATES:
        return str(state)
    now = time.time() if now is None else now
    updated = heartbeat.get("updated_at")
    fresh = isinstance(updated, (int, float)) and now - updated <= STALE_S
    if heartbeat.get("host") != socket.gethostname():  # no pid to look at: trust the clock
        return "running" if fresh else "not responding"
    if local_pid(heartbeat) is None:
        return "crashed"  # gone without a final beat: killed, or the machine went down
    return "running" if fresh else "not responding"
