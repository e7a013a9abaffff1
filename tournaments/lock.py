"""One runner per tournament: an OS lock on a file in the data dir.

``fcntl.flock`` on ``<data_dir>/tournaments/<name>.lock``. The kernel drops the
lock when its holder exits in any way (SIGKILL included), so a crashed runner
never leaves a stale lock behind. The holder writes its pid, host and start
time into the file, so a refused runner can say who holds it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

from games.errors import UserError


def lock_path(data_dir: Path, name: str) -> Path:
    """Where tournament `name`'s lock file lives."""
    return Path(data_dir) / "tournaments" / f"{name}.lock"


class TournamentLock:
    """Held while a runner plays tournament `name`; a second holder gets a UserError."""

    def __init__(self, data_dir: Path, name: str):
        self.name = name
        self.path = lock_path(data_dir, name)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise UserError naming the runner that holds it."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if isinstance(exc, IsADirectoryError) or self.path.is_dir():
                why = "is a directory, not a lock file"
            elif isinstance(exc, (FileExistsError, NotADirectoryError)):
                why = f"is inside '{exc.filename or self.path.parent}', which is not a directory"
            else:
                why = f"cannot be opened: {exc.strerror or exc}"
            raise UserError(f"cannot lock '{self.name}': {self.path} {why}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe_holder(fd)
            os.close(fd)
            raise UserError(f"tournament '{self.name}' is already being run by {holder} "
                            f"(lock {self.path}); wait for it to finish or stop it") from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(),
                "argv": sys.argv}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
        except OSError as exc:  # a full disk: the lock itself is held, but say so and stop
            os.close(fd)
            raise UserError(f"cannot write the lock file {self.path}: "
                            f"{exc.strerror or exc}") from None
        self._fd = fd

    def release(self) -> None:
        """Give the lock up (the file stays; an unlocked file means nobody runs it)."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> TournamentLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _describe_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        info = {}
    if "pid" not in info:
        return "another runner"  # it has the lock but has not written its name yet
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("since", 0)))
    return f"pid {info['pid']} on {info.get('host', '?')} since {since}"
