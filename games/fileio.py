"""Atomic file writes that give the new file the mode any other new file gets.

`tempfile.mkstemp` creates its file with mode 0600 whatever the umask, and a
rename keeps that mode, so a file written "atomically" through it would be
private while the same file written with open() is 0644 under umask 022.
Every atomic writer in Arena (checkpoints, SGF, datasets, exports) goes through
here, or sets `new_file_mode()` on its temporary file itself.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

_UMASK_LOCK = threading.Lock()


def umask() -> int:
    """The process's umask, read without changing it where Linux tells it (/proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:  # elsewhere: set and restore at once
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode open() gives a new file: 0666 less the umask (0644 under umask 022)."""
    return 0o666 & ~umask()


def temp_file(path: Path) -> tuple[int, str]:
    """(fd, name) of a new temporary file beside `path`, with `new_file_mode()`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, new_file_mode())
    except BaseException:
        os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    return fd, tmp


def atomic_write(path: Path, data: bytes, fsync: bool = False) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one."""
    path = Path(path)
    fd, tmp = temp_file(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
