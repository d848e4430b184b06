"""Read back the lines around an occurrence from the file it came from.

The path comes from the store, never from log text, and is read only if the tailer
watches it now: an incident's source is untrusted until it is one of ours. Lines are
found by their physical number (the tailer counts every newline); a file rotated
since is read as it is now, so the excerpt may miss the line: it says so.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

MAX_LINE_CHARS = 2000


class NotWatched(Exception):
    """The path is not one of the files adminbot watches: it is not read."""


@dataclass(frozen=True, slots=True)
class Excerpt:
    """Numbered lines of one file; `found` says whether the asked line was among them."""

    path: str
    line_no: int
    lines: tuple[tuple[int, str], ...]
    found: bool


def watched_path(path: str, watched: Collection[str]) -> Path:
    """The real path of `path` if adminbot watches that very file, else refuse."""
    real = Path(path).resolve(strict=False)
    if not any(real == Path(w).resolve(strict=False) for w in watched):
        raise NotWatched(f"{path} is not a watched file")
    return real


def around(
    path: Path,
    line_no: int,
    *,
    before: int = 10,
    after: int = 10,
    clean: Callable[[str], str] = str,
) -> Excerpt:
    """Lines `line_no - before` to `line_no + after` of `path` (1-based)."""
    first, last = max(1, line_no - before), line_no + after
    return _read(path, line_no, lambda n: first <= n <= last, last, clean)


def leading_to(
    path: Path, line_no: int, *, count: int = 200, clean: Callable[[str], str] = str
) -> Excerpt:
    """The last `count` lines of `path` up to and including `line_no`."""
    return _read(path, line_no, lambda n: n > line_no - count, line_no, clean)


def _read(
    path: Path,
    line_no: int,
    wanted: Callable[[int], bool],
    last: int,
    clean: Callable[[str], str],
) -> Excerpt:
    kept: deque[tuple[int, str]] = deque()
    with path.open("r", encoding="utf-8", errors="replace", newline="\n") as handle:
        for number, raw in enumerate(handle, start=1):
            if number > last:
                break
            if wanted(number):
                kept.append((number, clean(raw.rstrip("\r\n")[:MAX_LINE_CHARS])))
    found = any(number == line_no for number, _ in kept)
    return Excerpt(str(path), line_no, tuple(kept), found)
