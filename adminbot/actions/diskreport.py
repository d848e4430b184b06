"""What fills the disk: usage of each download folder and its largest subfolders.

Walking a big download tree can take long, so the walk has a time budget and says
when its sizes are a lower bound.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from adminbot.checks.base import human_bytes
from adminbot.checks.probes import UsageReader, disk_usage

TOP = 3


def disk_report(
    paths: Sequence[Path],
    *,
    top: int = TOP,
    budget_seconds: float = 3.0,
    monotonic: Callable[[], float] = time.monotonic,
    usage_reader: UsageReader = disk_usage,
) -> str:
    """One line per folder: percent used, free space, and the `top` largest subfolders."""
    deadline = monotonic() + budget_seconds
    lines = []
    for path in dict.fromkeys(paths):
        try:
            usage = usage_reader(str(path))
        except OSError as exc:
            lines.append(f"{path}: {exc.strerror or exc}")
            continue
        sizes, complete = _subfolder_sizes(path, deadline, monotonic)
        largest = sorted(sizes.items(), key=lambda item: item[1], reverse=True)[:top]
        biggest = ", ".join(f"{name} {human_bytes(size)}" for name, size in largest)
        partial = "" if complete else " (partial)"
        line = f"{path}: {usage.percent:.0f}% used, {human_bytes(usage.free)} free"
        lines.append(f"{line}; largest{partial}: {biggest}" if biggest else line)
    return "\n".join(lines)


def _subfolder_sizes(
    root: Path, deadline: float, monotonic: Callable[[], float]
) -> tuple[dict[str, int], bool]:
    """Total size of each immediate subfolder (files directly in root count as '.')."""
    sizes: dict[str, int] = {}
    try:
        entries = list(os.scandir(root))
    except OSError:
        return sizes, False
    for entry in entries:
        if monotonic() > deadline:
            return sizes, False
        try:
            if entry.is_dir(follow_symlinks=False):
                size, complete = _tree_size(entry.path, deadline, monotonic)
                sizes[entry.name] = size
                if not complete:
                    return sizes, False
            elif entry.is_file(follow_symlinks=False):
                sizes["."] = sizes.get(".", 0) + entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
    return sizes, True


def _tree_size(top: str, deadline: float, monotonic: Callable[[], float]) -> tuple[int, bool]:
    total = 0
    pending = [top]
    while pending:
        if monotonic() > deadline:
            return total, False
        folder = pending.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
    return total, True
