"""The data dir and the files in it are adminbot's alone: 0700 and 0600.

Outside systemd (no StateDirectory, no UMask) the usual umask 022 made the store and
the logs, which hold incidents, paths and command output, readable by every local
user. Files are created with these modes, never widened: a stricter umask still wins.
Files that already exist keep their mode (an admin may have chosen it).
"""

from __future__ import annotations

import io
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (0700) if it is missing; its parents get the usual mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir(mode=DIR_MODE, exist_ok=True)
    return path


def private_opener(path: str, flags: int) -> int:
    """An `open(opener=...)` that creates the file 0600."""
    return os.open(path, flags, FILE_MODE)


def create_private(path: Path) -> Path:
    """Create `path` empty (0600) if it is missing, in a private data dir."""
    private_dir(path.parent)
    os.close(private_opener(str(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND))
    return path


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A RotatingFileHandler whose files, the first and every rotated one, are 0600."""

    def __init__(self, filename: Path, **kwargs: Any) -> None:
        private_dir(filename.parent)
        super().__init__(filename, **kwargs)

    def _open(self) -> io.TextIOWrapper:
        stream = open(  # noqa: SIM115 - the handler owns and closes it
            self.baseFilename,
            self.mode,
            encoding=self.encoding,
            errors=self.errors,
            opener=private_opener,
        )
        assert isinstance(stream, io.TextIOWrapper)  # text mode: the handler writes str
        return stream
