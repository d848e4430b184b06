"""Quarantine for corrupt downloads: files are moved aside, never deleted, then expire by age.

A quarantined file is named `<UTC timestamp>-<sanitised original name>`; the
timestamp in the name (not the file's mtime, which a move keeps) is what its age is
measured from, so pruning does not depend on file system details.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import stat
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from adminbot.actions.paths import Located, open_parent, shown_path
from adminbot.errors import ActionRefused
from adminbot.facts import Size

logger = logging.getLogger(__name__)

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_STAMPED = re.compile(r"(\d{8}T\d{6}Z)-")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME_CHARS = 100
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True, slots=True)
class QuarantinedFile:
    """One file in quarantine, for /status."""

    name: str
    size: int
    quarantined_at: datetime
    age_seconds: float


def quarantine_name(original: str, now: datetime) -> str:
    """Return `<timestamp>-<name>` with the name reduced to safe characters."""
    clean = _UNSAFE_NAME.sub("_", original).strip("._") or "file"
    return f"{now.astimezone(UTC).strftime(STAMP_FORMAT)}-{clean[:MAX_NAME_CHARS]}"


def move_to_quarantine(located: Located, quarantine_dir: Path, now: datetime) -> Path:
    """Move the regular file at `located` into quarantine under a new unique name.

    1. Reach the file's folder from its allowed root without following symlinks.
    2. Refuse anything but a regular file (links, folders, devices stay untouched).
    3. Reserve a unique destination with O_EXCL, so two moves never overwrite each other.
    4. Rename over the reservation; across file systems copy then unlink the original.
    """
    quarantine_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open_parent(located) as (dir_fd, name):
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if not stat.S_ISREG(info.st_mode):
            raise ActionRefused(f"{shown_path(located.real)} is not a regular file")
        destination = _reserve(quarantine_dir, quarantine_name(name, now))
        try:
            os.rename(name, destination, src_dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                destination.unlink(missing_ok=True)
                raise
            _copy_across(dir_fd, name, destination)
            # Only a complete copy lets the original go; if this fails both copies remain.
            os.unlink(name, dir_fd=dir_fd)
    logger.info("quarantined %s as %s", shown_path(located.real), destination.name)
    return destination


def _reserve(quarantine_dir: Path, name: str) -> Path:
    stem, dot, suffix = name.rpartition(".")
    if not stem:
        stem, dot, suffix = name, "", ""
    for index in range(1000):
        candidate = name if index == 0 else f"{stem}-{index}{dot}{suffix}"
        path = quarantine_dir / candidate
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            continue
        os.close(fd)
        return path
    raise ActionRefused("too many quarantined files with the same name")


def _copy_across(dir_fd: int, name: str, destination: Path) -> None:
    """Copy the file into the reserved destination; on any failure remove the partial copy."""
    try:
        # O_NONBLOCK: a file swapped for a FIFO must not hang the bot on open.
        source_flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        source_fd = os.open(name, source_flags, dir_fd=dir_fd)
        with os.fdopen(source_fd, "rb") as source:
            if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
                raise ActionRefused("the file changed into something else while moving")
            target_flags = os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
            with os.fdopen(os.open(destination, target_flags), "wb") as target:
                shutil.copyfileobj(source, target)
                target.flush()
                os.fsync(target.fileno())
    except (OSError, ActionRefused):
        destination.unlink(missing_ok=True)
        raise


def quarantined_at(path: Path) -> float:
    """Return when `path` was quarantined (epoch seconds), from its name or else its mtime."""
    match = _STAMPED.match(path.name)
    if match:
        stamp = datetime.strptime(match.group(1), STAMP_FORMAT).replace(tzinfo=UTC)
        return stamp.timestamp()
    return path.lstat().st_mtime


def _regular_files(quarantine_dir: Path) -> list[Path]:
    """Regular files only: a link or folder someone put there is neither listed nor deleted."""
    if not quarantine_dir.is_dir():
        return []
    files = []
    for path in quarantine_dir.iterdir():
        try:
            if stat.S_ISREG(path.lstat().st_mode):
                files.append(path)
        except FileNotFoundError:
            continue  # removed while we looked
    return sorted(files)


def prune_quarantine(quarantine_dir: Path, max_age_days: float, now: float) -> list[Path]:
    """Delete quarantined files older than `max_age_days` (at epoch `now`); return them."""
    limit = now - max_age_days * SECONDS_PER_DAY
    removed: list[Path] = []
    for path in _regular_files(quarantine_dir):
        if quarantined_at(path) >= limit:
            continue
        try:
            path.unlink()
        except OSError as exc:
            logger.warning("cannot prune %s: %s", path.name, exc.strerror)
            continue
        removed.append(path)
    if removed:
        logger.info("pruned %s quarantined files older than %s days", len(removed), max_age_days)
    return removed


def quarantined(quarantine_dir: Path, now: float | None = None) -> list[QuarantinedFile]:
    """List quarantined files with size and age, oldest first."""
    current = time.time() if now is None else now
    files = []
    for path in _regular_files(quarantine_dir):
        at = quarantined_at(path)
        files.append(
            QuarantinedFile(
                name=path.name,
                size=path.lstat().st_size,
                quarantined_at=datetime.fromtimestamp(at, UTC),
                age_seconds=max(0.0, current - at),
            )
        )
    return sorted(files, key=lambda item: item.quarantined_at)


@dataclass(frozen=True, slots=True)
class QuarantineStats:
    """What /status shows of the quarantine: how many files, their total size, the newest."""

    files: int
    size: Size
    newest: str


def quarantine_stats(quarantine_dir: Path, now: float | None = None) -> QuarantineStats | None:
    """Count and size of the quarantined files, or None when there are none."""
    files = quarantined(quarantine_dir, now)
    if not files:
        return None
    newest = min(files, key=lambda f: f.age_seconds)
    return QuarantineStats(len(files), Size(sum(f.size for f in files)), newest.name)
