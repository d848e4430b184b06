"""Read a whole file the way the live tailer does, and the odd bytes to try it on, for
tests that compare readers."""

from __future__ import annotations

from pathlib import Path

from adminbot.models import Line, LineBatch
from adminbot.tail.follow import Follower, identify, open_regular

ODD_PIECES = [
    b"2026-11-29 10:00:01,123 ERROR x: fallo",
    b"Traceback (most recent call last):",
    b'  File "/x.py", line 1, in f',
    "PermissionError: denegado ñ ☃".encode(),
    b"\xc3",  # a character cut short
    b"\xe2\x98",
    b"\xff\xfe",
    b"\x00",
    b"\r",
    b"x" * 90,  # over the cap of 64 bytes once a line has two
    b" ",
]
"""Pieces of log lines that test a reader: headers, tracebacks, UTF-8 cut short and
invalid, NULs, CRs, and a run that puts a line over a cap of 64 bytes."""


def tailer_lines(path: Path, cap: int, source: str | None = None) -> list[Line]:
    """Every line the tailer reads from `path` (one without its newline waits)."""
    fd, st = open_regular(str(path))
    follower = Follower(source or str(path), fd, identify(fd, st), max_line_bytes=cap)
    lines: list[Line] = []
    try:
        while (batch := follower.read_batch()) is not None:
            found, checkpoint = batch
            assert isinstance(found, LineBatch)
            lines += found
            follower.commit(checkpoint)
    finally:
        follower.close()
    return lines
