"""Telling a damaged store from a healthy one, and moving a damaged one aside.

A store that SQLite calls malformed, or that was emptied while adminbot was stopped,
is never repaired in place nor deleted: it is renamed `<store>.damaged-<UTC time>`
(with its -wal and -shm, so SQLite can still open the copy for a post-mortem) and a
fresh store starts. A file that is not SQLite at all is not ours to move: the store
refuses to start with one line (`StoreError`).
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

logger = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
SIDE_FILES = ("-wal", "-shm", "-journal")


class DamageReason(StrEnum):
    EMPTY = "empty"  # emptied (0 bytes) although a previous run's positions exist
    MISSING = "missing"  # gone although a previous run's positions exist
    CHECK_FAILED = "check_failed"  # `PRAGMA quick_check` at start found damage
    MALFORMED = "malformed"  # SQLite said "malformed" / "not a database" while running


class ResumeFrom(StrEnum):
    POSITIONS = "positions"  # each log from its saved position
    CURRENT = "current"  # while running: each log from where the tailer stands
    UNKNOWN = "unknown"  # nothing saved: each log from its end, as on a first start


@dataclass(frozen=True, slots=True)
class Recovery:
    """What happened to a damaged store and from where tailing goes on."""

    reason: DamageReason
    detail: str
    at: datetime
    moved_to: str | None
    resume: ResumeFrom
    positions_at: datetime | None = None
    files: int = 0


def is_damage(exc: BaseException) -> bool:
    """SQLite's own words for a damaged file: SQLITE_CORRUPT or SQLITE_NOTADB."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def is_full(exc: BaseException) -> bool:
    """The store cannot grow: its disk (or SQLite's size limit) is full."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "disk is full" in str(exc).lower()


def is_sqlite_file(path: Path) -> bool:
    """Whether the file starts with SQLite's header (an empty file is a new database)."""
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    return head in (b"", SQLITE_MAGIC)


def move_aside(path: Path, now: datetime) -> Path:
    """Rename the store and its side files to `<name>.damaged-<UTC time>`; return the new name."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    path.replace(target)
    for suffix in SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.replace(target.with_name(target.name + suffix))
    logger.warning("Moved the damaged store %s aside to %s", path, target)
    return target
