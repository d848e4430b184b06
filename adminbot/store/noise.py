"""The queries of noise control: maintenance windows, held incidents, thresholds, ignores.

`maintenance` holds every window that began (ad hoc or a scheduled occurrence) and
`maintenance_hits` what the incidents it covered did; `held_incidents` the incidents
recorded but not told yet (a window covered them, or their rule is below its
threshold); `threshold_hits` the matches of rules with a threshold, per host and
batch, so the count in a window is exact; `ignored_lines` how many matched lines
`[[ignore]]` dropped per rule. It runs on the `Store`'s connection and transactions.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from adminbot.store.rows import stored_time
from adminbot.store.sqlite import Store

CHUNK = 500
"""Ids per `IN (...)` query, well under every backend's limit on parameters."""


@dataclass(frozen=True, slots=True)
class WindowRow:
    """One maintenance window as stored."""

    id: int
    origin: str
    name: str
    rules: tuple[str, ...]
    hosts: tuple[str, ...]
    starts: datetime
    ends: datetime
    by: str


@dataclass(frozen=True, slots=True)
class Ignored:
    """Matched lines `[[ignore]]` dropped: how many, per rule, and when the last was."""

    by_rule: Mapping[str, int]
    last: datetime | None

    @property
    def total(self) -> int:
        return sum(self.by_rule.values())


class NoiseStore:
    """The noise-control tables, through the store's connection."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def host(self) -> str:
        return self._store.host

    # -- maintenance windows -------------------------------------------------------------

    def add_window(
        self,
        origin: str,
        name: str,
        rules: Sequence[str],
        hosts: Sequence[str],
        starts: datetime,
        ends: datetime,
        by: str,
    ) -> WindowRow:
        """Store a window once (a scheduled occurrence is one row however often it is added)."""
        start = stored_time(starts)
        with self._store.transaction(), self._store.connection() as db:
            db.execute(
                "INSERT INTO maintenance (origin, name, rules, hosts, starts_at, ends_at, "
                "started_by) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (origin, name, starts_at) DO NOTHING",
                (
                    origin,
                    name,
                    json.dumps(list(rules)),
                    json.dumps(list(hosts)),
                    start,
                    stored_time(ends),
                    by,
                ),
            )
            row = db.execute(
                "SELECT * FROM maintenance WHERE origin = ? AND name = ? AND starts_at = ?",
                (origin, name, start),
            ).fetchone()
        return _window(row)

    def has_window(self, origin: str, name: str, starts: datetime) -> bool:
        with self._store.connection() as db:
            row = db.execute(
                "SELECT id FROM maintenance WHERE origin = ? AND name = ? AND starts_at = ?",
                (origin, name, stored_time(starts)),
            ).fetchone()
        return row is not None

    def open_windows(self, now: datetime) -> list[WindowRow]:
        with self._store.connection() as db:
            rows = db.execute(
                "SELECT * FROM maintenance WHERE closed_at IS NULL AND starts_at <= ? "
                "AND ends_at > ? ORDER BY ends_at, id",
                (stored_time(now), stored_time(now)),
            ).fetchall()
        return [_window(row) for row in rows]

    def end_windows(self, origin: str, now: datetime) -> int:
        """End the open windows of `origin` now; how many there were."""
        with self._store.connection() as db:
            cursor = db.execute(
                "UPDATE maintenance SET ends_at = ? WHERE origin = ? AND closed_at IS NULL "
                "AND ends_at > ?",
                (stored_time(now), origin, stored_time(now)),
            )
            return int(cursor.rowcount)

    def due_windows(self, now: datetime) -> list[WindowRow]:
        """Windows that ended and were not summed up yet."""
        with self._store.connection() as db:
            rows = db.execute(
                "SELECT * FROM maintenance WHERE closed_at IS NULL AND ends_at <= ? ORDER BY id",
                (stored_time(now),),
            ).fetchall()
        return [_window(row) for row in rows]

    def close_window(self, window_id: int, now: datetime) -> bool:
        """Claim a window's summary (compare-and-set): True for the one caller who sends it."""
        with self._store.connection() as db:
            cursor = db.execute(
                "UPDATE maintenance SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
                (stored_time(now), window_id),
            )
            return cursor.rowcount == 1

    def add_hits(self, window_id: int, rule: str, key: str, opened: int, hits: int) -> None:
        with self._store.connection() as db:
            db.execute(
                "INSERT INTO maintenance_hits (window_id, rule, key, opened, hits) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (window_id, rule, key) DO UPDATE SET "
                "opened = maintenance_hits.opened + excluded.opened, "
                "hits = maintenance_hits.hits + excluded.hits",
                (window_id, rule, key, opened, hits),
            )

    def window_tally(
        self, window_id: int, top: int
    ) -> tuple[list[tuple[str, int, int]], list[tuple[str, str, int]]]:
        """New incidents and matches per rule, and the `top` keys by matches."""
        with self._store.connection() as db:
            by_rule = db.execute(
                "SELECT rule, sum(opened) AS opened, sum(hits) AS hits FROM maintenance_hits "
                "WHERE window_id = ? GROUP BY rule ORDER BY sum(hits) DESC, rule",
                (window_id,),
            ).fetchall()
            keys = db.execute(
                "SELECT rule, key, hits FROM maintenance_hits WHERE window_id = ? "
                "ORDER BY hits DESC, rule, key LIMIT ?",
                (window_id, top),
            ).fetchall()
        return (
            [(row["rule"], int(row["opened"]), int(row["hits"])) for row in by_rule],
            [(row["rule"], row["key"], int(row["hits"])) for row in keys],
        )

    def forget_hits(self, window_id: int) -> None:
        """A summed-up window's tally is in its summary; the rows are not needed again."""
        with self._store.connection() as db:
            db.execute("DELETE FROM maintenance_hits WHERE window_id = ?", (window_id,))

    def prune(self, before: datetime) -> int:
        """Forget summed-up windows and holds older than `before` (the store's retention)."""
        with self._store.transaction(), self._store.connection() as db:
            windows = db.execute(
                "DELETE FROM maintenance WHERE closed_at IS NOT NULL AND closed_at < ?",
                (stored_time(before),),
            ).rowcount
            holds = db.execute(
                "DELETE FROM held_incidents WHERE at < ?", (stored_time(before),)
            ).rowcount
        return int(windows) + int(holds)

    # -- held incidents ------------------------------------------------------------------

    def hold(self, incident_id: int, reason: str, now: datetime) -> None:
        with self._store.connection() as db:
            db.execute(
                "INSERT INTO held_incidents (incident_id, reason, at) VALUES (?, ?, ?) "
                "ON CONFLICT (incident_id) DO NOTHING",
                (incident_id, reason, stored_time(now)),
            )

    def held_among(self, incident_ids: Sequence[int]) -> set[int]:
        """Which of these incidents are held (asked in chunks: a storm's batch is long)."""
        found: set[int] = set()
        for start in range(0, len(incident_ids), CHUNK):
            chunk = tuple(incident_ids[start : start + CHUNK])
            marks = ",".join("?" * len(chunk))
            with self._store.connection() as db:
                rows = db.execute(
                    f"SELECT incident_id FROM held_incidents WHERE incident_id IN ({marks})",  # noqa: S608 - placeholders only
                    chunk,
                ).fetchall()
            found.update(int(row[0]) for row in rows)
        return found

    def hold_reason(self, incident_id: int) -> str | None:
        """Why the incident is held, None if it is not."""
        with self._store.connection() as db:
            row = db.execute(
                "SELECT reason FROM held_incidents WHERE incident_id = ?", (incident_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    def release(self, incident_id: int) -> bool:
        """No longer held (compare-and-set): True for the one caller who tells it."""
        with self._store.connection() as db:
            cursor = db.execute("DELETE FROM held_incidents WHERE incident_id = ?", (incident_id,))
            return cursor.rowcount == 1

    # -- thresholds ----------------------------------------------------------------------

    def threshold_count(self, rule: str, since: datetime) -> int:
        """This host's matches of `rule` after `since`."""
        with self._store.connection() as db:
            row = db.execute(
                "SELECT coalesce(sum(n), 0) FROM threshold_hits WHERE rule = ? AND host = ? "
                "AND at > ?",
                (rule, self.host, stored_time(since)),
            ).fetchone()
        return int(row[0]) if row is not None else 0

    def add_threshold_hits(self, rule: str, now: datetime, n: int, forget_before: datetime) -> None:
        """Count `n` matches now, and forget this host's older than any window needs."""
        with self._store.connection() as db:
            db.execute(
                "DELETE FROM threshold_hits WHERE rule = ? AND host = ? AND at < ?",
                (rule, self.host, stored_time(forget_before)),
            )
            db.execute(
                "INSERT INTO threshold_hits (rule, host, at, n) VALUES (?, ?, ?, ?)",
                (rule, self.host, stored_time(now), n),
            )

    # -- ignored lines -------------------------------------------------------------------

    def count_ignored(self, counts: Mapping[str, int], now: datetime) -> None:
        with self._store.connection() as db:
            for rule, n in sorted(counts.items()):
                db.execute(
                    "INSERT INTO ignored_lines (rule, n, last_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (rule) DO UPDATE SET n = ignored_lines.n + excluded.n, "
                    "last_at = excluded.last_at",
                    (rule, n, stored_time(now)),
                )

    def ignored(self) -> Ignored:
        with self._store.connection() as db:
            rows = db.execute("SELECT rule, n, last_at FROM ignored_lines").fetchall()
        last = max((datetime.fromisoformat(row["last_at"]) for row in rows), default=None)
        return Ignored({row["rule"]: int(row["n"]) for row in rows}, last)


def _window(row: sqlite3.Row | None) -> WindowRow:
    assert row is not None  # just written, or read back by the caller's query
    return WindowRow(
        id=int(row["id"]),
        origin=row["origin"],
        name=row["name"],
        rules=tuple(json.loads(row["rules"])),
        hosts=tuple(json.loads(row["hosts"])),
        starts=datetime.fromisoformat(row["starts_at"]),
        ends=datetime.fromisoformat(row["ends_at"]),
        by=row["started_by"],
    )
