"""The outboxes of the Apprise channels: the queries of their tables.

One row per alert and channel (`channel_outbox`), claimed with compare-and-set before
it is sent so nothing goes out twice; a channel that failed for good is recorded in
`channel_dead` so it is neither retried nor reported again after a restart. It runs
on the `Store`'s connection and transactions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from adminbot.store.rows import stored_time
from adminbot.store.sqlite import Store


class RowState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    """A fallback channel's alert that Telegram delivered."""
    DROPPED = "dropped"
    """The channel failed for good; the row is kept for the record, never sent."""


@dataclass(frozen=True, slots=True)
class ChannelRow:
    id: int
    channel: str
    incident_id: int | None
    payload: Mapping[str, Any]
    created_at: datetime
    attempts: int


class ChannelStore:
    """`channel_outbox` and `channel_dead`, through the store's connection."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def enqueue(
        self, channel: str, incident_id: int | None, payload: Mapping[str, Any], now: datetime
    ) -> int:
        with self._store.transaction(), self._store.connection() as db:
            cursor = db.execute(
                "INSERT INTO channel_outbox (channel, incident_id, payload, created_at, state) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    channel,
                    incident_id,
                    json.dumps(dict(payload)),
                    stored_time(now),
                    RowState.QUEUED,
                ),
            )
            return int(cursor.lastrowid or 0)

    def oldest(self, channel: str) -> ChannelRow | None:
        """The next row to send on a channel: strictly in order."""
        with self._store.connection() as db:
            row = db.execute(
                "SELECT id, channel, incident_id, payload, created_at, attempts "
                "FROM channel_outbox WHERE channel = ? AND state = ? ORDER BY id LIMIT 1",
                (channel, RowState.QUEUED),
            ).fetchone()
        if row is None:
            return None
        return ChannelRow(
            int(row[0]),
            str(row[1]),
            None if row[2] is None else int(row[2]),
            json.loads(row[3]),
            datetime.fromisoformat(row[4]),
            int(row[5]),
        )

    def claim(self, row_id: int) -> bool:
        """Compare-and-set: True for the one caller that may send this row."""
        return self._move(row_id, RowState.QUEUED, RowState.SENDING, None)

    def finish(self, row_id: int, state: RowState, now: datetime) -> bool:
        return self._move(row_id, RowState.SENDING, state, now)

    def skip(self, row_id: int, now: datetime) -> bool:
        return self._move(row_id, RowState.QUEUED, RowState.SKIPPED, now)

    def release(self, row_id: int, error: str) -> None:
        """A failed attempt: the row goes back to the head of its queue."""
        with self._store.transaction(), self._store.connection() as db:
            db.execute(
                "UPDATE channel_outbox SET state = ?, attempts = attempts + 1, last_error = ? "
                "WHERE id = ? AND state = ?",
                (RowState.QUEUED, error, row_id, RowState.SENDING),
            )

    def recover(self) -> int:
        """At start-up, rows a crash left in flight are queued again."""
        with self._store.transaction(), self._store.connection() as db:
            cursor = db.execute(
                "UPDATE channel_outbox SET state = ? WHERE state = ?",
                (RowState.QUEUED, RowState.SENDING),
            )
            return cursor.rowcount

    def queued(self, channel: str) -> int:
        with self._store.connection() as db:
            found = db.execute(
                "SELECT count(*) FROM channel_outbox WHERE channel = ? AND state = ?",
                (channel, RowState.QUEUED),
            ).fetchone()
        return int(found[0])

    def mark_dead(self, channel: str, reason: str, now: datetime) -> bool:
        """Record a channel as failed for good and drop its queue; False if it already was."""
        with self._store.transaction(), self._store.connection() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO channel_dead (channel, reason, at) VALUES (?, ?, ?)",
                (channel, reason, stored_time(now)),
            )
            db.execute(
                "UPDATE channel_outbox SET state = ?, done_at = ? WHERE channel = ? AND state = ?",
                (RowState.DROPPED, stored_time(now), channel, RowState.QUEUED),
            )
            return cursor.rowcount == 1

    def dead(self, channel: str) -> tuple[str, datetime] | None:
        with self._store.connection() as db:
            row = db.execute(
                "SELECT reason, at FROM channel_dead WHERE channel = ?", (channel,)
            ).fetchone()
        return None if row is None else (str(row[0]), datetime.fromisoformat(row[1]))

    def _move(self, row_id: int, old: RowState, new: RowState, now: datetime | None) -> bool:
        with self._store.transaction(), self._store.connection() as db:
            cursor = db.execute(
                "UPDATE channel_outbox SET state = ?, done_at = ? WHERE id = ? AND state = ?",
                (new, None if now is None else stored_time(now), row_id, old),
            )
            return cursor.rowcount == 1
