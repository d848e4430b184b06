"""What fills the disk: usage of each download folder and its largest subfolders.

Walking a big download tree can take long, so the walk has a time budget and says
when its sizes are a lower bound.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adminbot.checks.disk import UsageReader, disk_usage
from adminbot.facts import Size, human_bytes

TOP = 3
NO_BYTES = Size(0)


@dataclass(frozen=True, slots=True)
class Subfolder:
    """One immediate subfolder and its total size ("." is the files directly inside)."""

    name: str
    size: Size


@dataclass(frozen=True, slots=True)
class FolderUsage:
    """One download folder's disk: usage, and its largest subfolders; `error` if unreadable."""

    path: str
    percent: float = 0.0
    free: Size = NO_BYTES
    largest: tuple[Subfolder, ...] = ()
    partial: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DiskReport:
    """What fills the disk, as facts; the views turn it into a readable list."""

    folders: tuple[FolderUsage, ...]

    def english(self) -> str:
        """Plain English for the audit row's text column and the log."""
        lines = []
        for folder in self.folders:
            if folder.error is not None:
                lines.append(f"{folder.path}: {folder.error}")
                continue
            line = f"{folder.path}: {folder.percent:.0f}% used, {human_bytes(folder.free)} free"
            biggest = ", ".join(f"{sub.name} {human_bytes(sub.size)}" for sub in folder.largest)
            partial = " (partial)" if folder.partial else ""
            lines.append(f"{line}; largest{partial}: {biggest}" if biggest else line)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "disk": [
                {
                    "path": f.path,
                    "percent": f.percent,
                    "free": int(f.free),
                    "largest": [[sub.name, int(sub.size)] for sub in f.largest],
                    "partial": f.partial,
                    "error": f.error,
                }
                for f in self.folders
            ]
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DiskReport:
        return cls(
            tuple(
                FolderUsage(
                    path=str(f["path"]),
                    percent=float(f.get("percent") or 0.0),
                    free=Size(int(f.get("free") or 0)),
                    largest=tuple(Subfolder(str(n), Size(int(b))) for n, b in f.get("largest", ())),
                    partial=bool(f.get("partial")),
                    error=f.get("error"),
                )
                for f in data.get("disk", ())
            )
        )


def disk_report(
    paths: Sequence[Path],
    *,
    top: int = TOP,
    budget_seconds: float = 3.0,
    monotonic: Callable[[], float] = time.monotonic,
    usage_reader: UsageReader = disk_usage,
) -> DiskReport:
    """For each folder: percent used, free space, and the `top` largest subfolders."""
    deadline = monotonic() + budget_seconds
    folders = []
    for path in dict.fromkeys(paths):
        try:
            usage = usage_reader(str(path))
        except OSError as exc:
            folders.append(FolderUsage(str(path), error=exc.strerror or str(exc)))
            continue
        sizes, complete = _subfolder_sizes(path, deadline, monotonic)
        largest = sorted(sizes.items(), key=lambda item: item[1], reverse=True)[:top]
        folders.append(
            FolderUsage(
                path=str(path),
                percent=float(usage.percent),
                free=Size(usage.free),
                largest=tuple(Subfolder(name, Size(size)) for name, size in largest),
                partial=not complete,
            )
        )
    return DiskReport(tuple(folders))


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
