"""Retention: what the store forgets after `[store] keep_days`, and how big it is.

Without it, 100,000 distinct keys grew the store to 84 MB with no end. Closed
incidents (resolved or ignored, with their occurrences, transitions and alert
message ids), audit rows, disk samples, per-minute rule counts and delivered or
failed outbox rows older than the cutoff
are deleted in one transaction; open incidents and pending messages never are. When
most of the file is then free pages, it is vacuumed so the disk gets them back.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from adminbot.facts import Size
from adminbot.models import IncidentState

if TYPE_CHECKING:
    from adminbot.store.sqlbase import SqlStore

logger = logging.getLogger(__name__)

VACUUM_MIN_PAGES = 256  # below ~1 MB a vacuum is not worth the pause
VACUUM_FREE_SHARE = 0.5

_DOOMED = (
    "SELECT id FROM incidents WHERE state IN (?, ?) AND last_seen < ? "
    "AND coalesce(resolved_at, last_seen) < ?"
)


@dataclass(frozen=True, slots=True)
class StoreSize:
    """The store as /status shows it: its size, and how long closed things are kept."""

    size: Size
    keep_days: float
    """0 keeps everything forever."""


@dataclass(frozen=True, slots=True)
class Pruned:
    """How many rows one pass removed."""

    incidents: int = 0
    audit: int = 0
    outbox: int = 0
    samples: int = 0
    """Disk samples and per-minute rule counts (adminbot/store/trends.py)."""

    def __bool__(self) -> bool:
        return bool(self.incidents or self.audit or self.outbox or self.samples)


def prune(store: SqlStore, before: datetime, *, vacuum: bool = True) -> Pruned:
    """Delete what is closed and older than `before`; vacuum if most pages are free."""
    cutoff = before.astimezone(UTC).isoformat(timespec="microseconds")
    doomed = (IncidentState.RESOLVED.value, IncidentState.IGNORED.value, cutoff, cutoff)
    with store.transaction():
        for table in ("occurrences", "transitions", "alert_messages"):
            store._run(f"DELETE FROM {table} WHERE incident_id IN ({_DOOMED})", doomed)  # noqa: S608 - fixed table names
        incidents = store._run(f"DELETE FROM incidents WHERE id IN ({_DOOMED})", doomed)  # noqa: S608 - fixed text
        audit = store._run("DELETE FROM audit WHERE at < ?", (cutoff,))
        outbox = store._run(
            "DELETE FROM outbox WHERE state IN ('sent', 'failed') "
            "AND coalesce(sent_at, created_at) < ?",
            (cutoff,),
        )
        samples = store._run("DELETE FROM disk_samples WHERE at < ?", (cutoff,))
        samples += store._run("DELETE FROM rule_counts WHERE minute < ?", (cutoff,))
    pruned = Pruned(incidents, audit, outbox, samples)
    if pruned and vacuum:
        _vacuum_if_mostly_free(store)
    return pruned


def _vacuum_if_mostly_free(store: SqlStore) -> None:
    with store._lock:
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        free = store._db.execute("PRAGMA freelist_count").fetchone()[0]
        if pages < VACUUM_MIN_PAGES or free < pages * VACUUM_FREE_SHARE:
            return
        logger.info("Vacuuming the store: %s of %s pages are free", free, pages)
        store._db.execute("VACUUM")
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def size_bytes(store: SqlStore) -> int:
    """The store's size on disk: the database file and its write-ahead log."""
    if store.path == ":memory:":
        with store._lock:
            pages = store._db.execute("PRAGMA page_count").fetchone()[0]
            size = store._db.execute("PRAGMA page_size").fetchone()[0]
        return int(pages * size)
    total = 0
    for path in (Path(store.path), Path(f"{store.path}-wal")):
        with contextlib.suppress(FileNotFoundError):
            total += path.stat().st_size
    return total
