"""One adminbot per data dir: a second one would read every line again and count it twice.

The lock is `flock` on `<data_dir>/adminbot.lock`, which holds the owner's pid so the
refusal can name it. The kernel drops the lock when the process ends, however it
ends, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path

from adminbot.errors import ConfigError
from adminbot.store.files import FILE_MODE, private_dir

logger = logging.getLogger(__name__)

LOCK_FILE = "adminbot.lock"


class DataDirInUse(ConfigError):
    """Another adminbot owns the data dir; the CLI prints this one line and exits 2."""


class DataDirLock:
    """An exclusive, non-blocking lock on a data dir, held until `release()` or exit."""

    def __init__(self, data_dir: Path) -> None:
        self.path = private_dir(data_dir) / LOCK_FILE
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = self._owner()
            self.release()
            raise DataDirInUse(
                "data_dir", f"{data_dir} is in use by another adminbot (pid {owner})"
            ) from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, f"{os.getpid()}\n".encode())

    def _owner(self) -> str:
        assert self._fd is not None
        with contextlib.suppress(OSError, ValueError):
            return str(int(os.pread(self._fd, 32, 0).decode().strip()))
        return "unknown"

    def release(self) -> None:
        """Let another adminbot take the data dir (closing the file drops the lock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
