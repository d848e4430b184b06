"""The child's output on its way to its log file: cut into bounded lines, appended to a file.

`Supervisor` reads the child's pipe; `LineSplitter` turns the bytes into lines without
letting a newline-free flood grow adminbot, and `LogWriter` appends them to the file that
adminbot's own tailer watches, reopening it when logrotate moves it away.
"""

from __future__ import annotations

import logging
import os
import time
from io import BufferedWriter
from pathlib import Path

from adminbot.store.files import private_dir, private_opener

logger = logging.getLogger(__name__)


class LineSplitter:
    """Cuts a byte stream into lines of at most `limit` bytes, holding no more than that.

    The part of a line beyond the limit is dropped and counted, so a child that
    writes megabytes without a newline cannot make adminbot grow.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._line = bytearray()
        self._dropped = 0

    def feed(self, chunk: bytes) -> list[tuple[bytes, int]]:
        lines: list[tuple[bytes, int]] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            room = self.limit - len(self._line)
            self._line += piece[:room]
            self._dropped += max(len(piece) - room, 0)
            if end < 0:
                return lines
            lines.append(self._take())
            start = end + 1

    def close(self) -> list[tuple[bytes, int]]:
        """The last line when the stream ended without a newline."""
        return [self._take()] if self._line or self._dropped else []

    def _take(self) -> tuple[bytes, int]:
        line = (bytes(self._line), self._dropped)
        self._line.clear()
        self._dropped = 0
        return line


class LogWriter:
    """Appends lines to the child's log and reopens it after logrotate moved it away."""

    def __init__(self, path: Path, *, reopen_check_seconds: float) -> None:
        self.path = path
        self.reopen_check_seconds = reopen_check_seconds
        self._file = _open_log(path)
        self._checked = time.monotonic()

    def write(self, text: str) -> None:
        if self._file.closed:
            return  # output that arrived after the run was finished
        now = time.monotonic()
        if now - self._checked >= self.reopen_check_seconds:
            self._checked = now
            if not _same_file(self.path, self._file):
                logger.info("%s was moved or removed: reopening it", self.path)
                fresh = _open_log(self.path)  # if this fails, keep the old file
                self._file.close()
                self._file = fresh
        self._file.write(text.encode("utf-8") + b"\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _open_log(path: Path) -> BufferedWriter:
    private_dir(path.parent)
    return open(path, "ab", opener=private_opener)


def _same_file(path: Path, file: BufferedWriter) -> bool:
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    ours = os.fstat(file.fileno())
    return (on_disk.st_dev, on_disk.st_ino) == (ours.st_dev, ours.st_ino)
