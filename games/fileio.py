"""Atomic file writes that give the new file the mode any other new file gets.

`tempfile.mkstemp` creates its file with mode 0600 whatever the umask, and a
rename keeps that mode, so a file written "atomically" through it would be
private while the same file written with open() is 0644 under umask 022.
Every atomic writer in Arena (checkpoints, SGF, datasets, exports) goes through
here: `atomic_write` for bytes, `replacing` for a writer that fills a file by
its name (safetensors, matplotlib), `temp_file` for one that needs the fd.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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


def temp_file(path: Path, mode: int | None = None) -> tuple[int, str]:
    """(fd, name) of a new temporary file beside `path`, with `mode` (`new_file_mode()`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, new_file_mode() if mode is None else mode)
    except BaseException:
        os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    return fd, tmp


@contextmanager
def replacing(path: Path) -> Iterator[str]:
    """The name of a temporary file beside `path` for the block to write; renamed onto `path`.

    Readers see the old file or the whole new one; if the block raises, the
    temporary file is removed and `path` is untouched. A writer that makes
    its own file under that name (safetensors' save_file: mode 0600) has
    `new_file_mode()` set back on it before the rename.
    """
    path, mode = Path(path), new_file_mode()
    fd, tmp = temp_file(path, mode)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: Path, data: bytes, fsync: bool = False) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one."""
    with replacing(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        if fsync:
            f.flush()
            os.fsync(f.fileno())
