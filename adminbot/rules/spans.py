"""A big log file cut into spans that each start a record, classified side by side.

`check-rules` on a file of hundreds of megabytes is bound by one core. Each span
starts at a header line, where the record before it ends whatever follows, so
classifying the spans apart and joining the results in order gives what one pass
over the file gives. The spans run in forked processes (nothing is re-imported or
pickled on the way in); each hands back what it found, compactly.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

from adminbot.rules.records import is_header

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


_work: Callable[[Span], object] | None = None  # what a forked worker runs on its span


def _run(span: Span) -> object:
    assert _work is not None
    return _work(span)


def run(spans: Sequence[Span], work: Callable[[Span], T]) -> list[T]:
    """`work` on every span, in order; the first in this process, the others in forked
    processes running at the same time. A worker that dies (the OOM killer) breaks the
    pool instead of hanging it: its spans are then worked here, one after the other."""
    if len(spans) == 1:
        return [work(spans[0])]
    import multiprocessing  # only a big file pays for these
    from concurrent.futures import Future, ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    global _work  # handed to the forked workers, which inherit it
    _work = work
    context = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(len(spans) - 1, mp_context=context) as pool:
            futures: list[Future[object]] = [pool.submit(_run, span) for span in spans[1:]]
            results: list[T] = [work(spans[0])]
            for span, future in zip(spans[1:], futures, strict=True):
                try:
                    results.append(future.result())  # type: ignore[arg-type]  # work's T
                except BrokenProcessPool:
                    logger.warning("a check-rules worker died; its part is read here")
                    results.append(work(span))
    finally:
        _work = None
    return results
