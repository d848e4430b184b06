"""The `work` table: a fix tapped on the front for another host's incident.

The front inserts a pending row; the agent of that host claims it with
compare-and-set (`UPDATE ... WHERE id = ? AND state = 'pending'`, one row changed
or none), so a fix runs once even if two processes poll for the same host. A row
nobody claims in time is expired, also by compare-and-set, so it can never be both
run and expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from adminbot.store.rows import stored_time
from adminbot.store.sqlite import Store


class WorkState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One fix asked of one host."""

    id: int
    host: str
    incident_id: int
    action: str
    actor: str
    created_at: datetime
    state: WorkState
    claimed_by: str | None = None


class WorkStore:
    """The `work` table, through the store's connection."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def request(
        self, host: str, incident_id: int, action: str, actor: str, now: datetime
    ) -> int | None:
        """Queue a fix for `host`; None when the same fix is already waiting or running."""
        with self._store.transaction(), self._store.connection() as db:
            waiting = db.execute(
                "SELECT id FROM work WHERE incident_id = ? AND action = ? "
                "AND state IN ('pending', 'running')",
                (incident_id, action),
            ).fetchone()
            if waiting is not None:
                return None
            cursor = db.execute(
                "INSERT INTO work (host, incident_id, action, actor, created_at, state) "
                "VALUES (?, ?, ?, ?, ?, 'pending')",
                (host, incident_id, action, actor, stored_time(now)),
            )
            return int(cursor.lastrowid or 0)

    def pending(self, host: str, limit: int = 20) -> list[WorkItem]:
        """The fixes waiting for `host`, oldest first."""
        with self._store.connection() as db:
            rows = db.execute(
                "SELECT * FROM work WHERE host = ? AND state = 'pending' ORDER BY id LIMIT ?",
                (host, limit),
            ).fetchall()
        return [_item(row) for row in rows]

    def claim(self, item_id: int, claimed_by: str) -> bool:
        """Take a pending fix to run it; False if another process took it (or it expired)."""
        with self._store.connection() as db:
            changed = db.execute(
                "UPDATE work SET state = 'running', claimed_by = ? "
                "WHERE id = ? AND state = 'pending'",
                (claimed_by, item_id),
            ).rowcount
        return changed == 1

    def finish(self, item_id: int, now: datetime) -> None:
        with self._store.connection() as db:
            db.execute(
                "UPDATE work SET state = 'done', done_at = ? WHERE id = ? AND state = 'running'",
                (stored_time(now), item_id),
            )

    def interrupted(self, host: str, now: datetime) -> int:
        """At an agent's start: fixes it was running when it stopped are over (not run again,
        and no longer in the way of the same fix asked anew)."""
        with self._store.connection() as db:
            return db.execute(
                "UPDATE work SET state = 'done', done_at = ? WHERE host = ? AND state = 'running'",
                (stored_time(now), host),
            ).rowcount

    def expire(self, before: datetime, now: datetime) -> list[WorkItem]:
        """Fixes still pending that were asked before `before`: expired, and returned."""
        with self._store.connection() as db:
            rows = db.execute(
                "SELECT * FROM work WHERE state = 'pending' AND created_at < ? ORDER BY id",
                (stored_time(before),),
            ).fetchall()
            expired = []
            for row in rows:
                changed = db.execute(
                    "UPDATE work SET state = 'expired', done_at = ? "
                    "WHERE id = ? AND state = 'pending'",
                    (stored_time(now), row["id"]),
                ).rowcount
                if changed == 1:
                    expired.append(_item(row))
        return expired

    def item(self, item_id: int) -> WorkItem | None:
        with self._store.connection() as db:
            row = db.execute("SELECT * FROM work WHERE id = ?", (item_id,)).fetchone()
        return None if row is None else _item(row)


def _item(row: Any) -> WorkItem:
    return WorkItem(
        id=int(row["id"]),
        host=str(row["host"]),
        incident_id=int(row["incident_id"]),
        action=str(row["action"]),
        actor=str(row["actor"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        state=WorkState(row["state"]),
        claimed_by=row["claimed_by"],
    )
