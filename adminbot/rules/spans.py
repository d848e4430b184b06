"""A big log file cut into spans that each start a record, classified side by side.

`check-rules` on a file of hundreds of megabytes is bound by one core. Each span
starts at a header line, where the record before it ends whatever follows, so
classifying the spans apart and joining the results in order gives what one pass
over the file gives. The spans run in forked processes (nothing is re-imported or
pickled on the way in); each hands back what it found, compactly, through a pipe.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

from adminbot.rules.headers import is_header

logger = logging.getLogger(__name__)

PARALLEL_MIN_BYTES = 8 << 20
"""Below this a file is read in one pass: a fork would cost more than it saves."""
_LOOK_AHEAD = 1 << 20  # how far past a cut point a header line is looked for
_COUNT_CHUNK = 1 << 22

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Span:
    """Bytes [start, stop) of a file (stop None: to its end); the line before the first."""

    start: int
    stop: int | None
    line_no: int


def default_jobs() -> int:
    """The cores this process may run on, at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def split(path: Path, jobs: int) -> list[Span]:
    """`jobs` spans of about equal size, each starting at a header line; one span
    when the file is small (PARALLEL_MIN_BYTES) or no header line is near a cut point."""
    size = path.stat().st_size
    if jobs <= 1 or size < PARALLEL_MIN_BYTES:
        return [Span(0, None, 0)]
    starts = [0]
    with path.open("rb") as handle:
        for part in range(1, jobs):
            start = _header_at_or_after(handle, size * part // jobs)
            if start is not None and start > starts[-1]:
                starts.append(start)
        line_nos = _line_numbers(handle, starts)
    stops: list[int | None] = [*starts[1:], None]
    return [Span(a, b, n) for a, b, n in zip(starts, stops, line_nos, strict=True)]


def _header_at_or_after(handle: BinaryIO, offset: int) -> int | None:
    """Byte offset of the first header line starting after `offset`, if one is near."""
    handle.seek(offset)
    data = handle.read(_LOOK_AHEAD)
    at = data.find(b"\n")
    while 0 <= at < len(data) - 1:
        end = data.find(b"\n", at + 1)
        if end < 0:
            return None
        if is_header(data[at + 1 : end].decode("utf-8", errors="replace")):
            return offset + at + 1
        at = end
    return None


def _line_numbers(handle: BinaryIO, starts: Sequence[int]) -> list[int]:
    """How many lines come before each of `starts` (sorted byte offsets)."""
    handle.seek(0)
    found: list[int] = []
    lines = 0
    position = 0
    for start in starts:
        while position < start:
            chunk = handle.read(min(_COUNT_CHUNK, start - position))
            if not chunk:
                break
            lines += chunk.count(b"\n")
            position += len(chunk)
        found.append(lines)
    return found


def run(spans: Sequence[Span], work: Callable[[Span], T]) -> list[T]:
    """`work` on every span, in order; the first in this process, the others in forked
    processes running at the same time, each handing its result back pickled through
    a pipe. A worker that dies (the OOM killer) hands back nothing: its span is then
    worked here, after the others are collected. Plain fork and pipe, not a process
    pool: the pool's start and its queues were 35 ms of a 0.8 s storm file."""
    if len(spans) == 1:
        return [work(spans[0])]
    children: list[_Child] = []
    try:
        children = [_fork(work, span) for span in spans[1:]]
        results = [work(spans[0])]
        for span, child in zip(spans[1:], children, strict=True):
            found = child.collect()
            if found is None:
                logger.warning("a check-rules worker died; its part is read here")
                found = work(span)
            results.append(found)  # type: ignore[arg-type]  # what `work` gave, unpickled
    finally:
        for child in children:
            child.end()
    return results


@dataclass(slots=True)
class _Child:
    """A forked worker and the pipe its pickled result comes through."""

    pid: int
    reader: int | None

    def collect(self) -> object | None:
        """Its result, or None when it died before handing one back."""
        assert self.reader is not None
        with os.fdopen(self.reader, "rb") as pipe:
            self.reader = None
            data = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        if status != 0 or not data:
            return None
        found: object = pickle.loads(data)  # noqa: S301 - our own child's, through our pipe
        return found

    def end(self) -> None:
        """Kill and reap it if it still runs (this process is leaving early)."""
        if self.reader is not None:
            os.close(self.reader)
            self.reader = None
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = 0


def _fork(work: Callable[[Span], object], span: Span) -> _Child:
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: its result down the pipe, then out without any cleanup
        status = 1
        try:
            os.close(reader)
            with os.fdopen(writer, "wb") as pipe:
                pickle.dump(work(span), pipe, protocol=pickle.HIGHEST_PROTOCOL)
            status = 0
        finally:
            os._exit(status)
    os.close(writer)
    return _Child(pid, reader)
