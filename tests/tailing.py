"""Read a whole file the way the live tailer does, for tests that compare readers."""

from __future__ import annotations

from pathlib import Path

from adminbot.models import Line, LineBatch
from adminbot.tail.follow import Follower, identify, open_regular


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
