"""`adminbot db import-sqlite`: one host's SQLite history, copied into the shared PostgreSQL.

Incidents keep their history (occurrences, transitions, audit rows, holds) but not
their ids: other hosts may already have incidents with the same numbers, so every
imported id is moved past the highest one there, and the rows that point at an
incident follow it. Kinds move the same way; maintenance windows and disk samples get
new ids (a scheduled window another host already began is that one). Keyed rows
(meta, checkpoints, mutes, rules and topics made in the chat, dead channels) that the
database already has are kept as they are; counters (lines, rule matches, ignored
lines, a window's tally) add up. The outboxes, storms and sent-message ids are not
copied: they are about messages in flight on the host that had them. Every table is
in `COPIED` or `NOT_COPIED`, and a test holds that against the schema.
One transaction: an import that fails leaves the database as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from adminbot.store.pgschema import migrate

_KEYED = ("meta", "checkpoints", "mutes", "user_rules", "forum_topics", "channel_dead")
_INCIDENT_ROWS = ("occurrences", "transitions", "audit")
_SUMMED = {
    "line_counts": "ON CONFLICT (hour) DO UPDATE SET lines = line_counts.lines + excluded.lines",
    "rule_counts": (
        "ON CONFLICT (host, rule, minute) DO UPDATE SET n = rule_counts.n + excluded.n"
    ),
    "ignored_lines": (
        "ON CONFLICT (rule) DO UPDATE SET n = ignored_lines.n + excluded.n, "
        "last_at = GREATEST(ignored_lines.last_at, excluded.last_at)"
    ),
}
_HITS_SUMMED = (
    "ON CONFLICT (window_id, rule, key) DO UPDATE SET "
    "opened = maintenance_hits.opened + excluded.opened, "
    "hits = maintenance_hits.hits + excluded.hits"
)

COPIED = frozenset(
    {"incidents", *_INCIDENT_ROWS, "held_incidents", "kinds", *_KEYED, *_SUMMED}
    | {"disk_samples", "threshold_hits", "maintenance", "maintenance_hits"}
)
NOT_COPIED = frozenset(
    {"outbox", "alert_messages", "storms", "storm_messages", "channel_outbox"}
    | {"hosts", "work", "leases", "used_logins"}
)
"""Messages in flight on the importing host, and live state (heartbeats, queued fixes,
the front's lease, used login links) that the running hosts write for themselves."""

Move = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Imported:
    """How many rows of each table were copied."""

    rows: dict[str, int]

    def __str__(self) -> str:
        return ", ".join(f"{table} {n}" for table, n in self.rows.items())


def import_sqlite(path: Path, url: str) -> Imported:
    """Copy the SQLite store at `path` into the PostgreSQL at `url` (migrated first)."""
    migrate(url)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    source.row_factory = sqlite3.Row
    rows: dict[str, int] = {}
    try:
        with psycopg.connect(url) as target, target.transaction():
            shift = _shift(_max_id(target, "incidents"))
            kind_shift = _shift(_max_id(target, "kinds"))
            rows["incidents"] = _copy(source, target, "incidents", {"id": shift})
            for table in (*_INCIDENT_ROWS, "held_incidents"):
                drop = ("id",) if table != "held_incidents" else ()
                rows[table] = _copy(source, target, table, {"incident_id": shift}, drop=drop)
            rows["kinds"] = _copy(source, target, "kinds", {"id": kind_shift})
            for table in _KEYED:
                rows[table] = _copy(source, target, table, {}, conflict="ON CONFLICT DO NOTHING")
            for table, summed in _SUMMED.items():
                rows[table] = _copy(source, target, table, {}, conflict=summed)
            for table in ("disk_samples", "threshold_hits"):
                rows[table] = _copy(source, target, table, {}, drop=("id",))
            windows = _copy_windows(source, target)
            rows["maintenance"] = len(windows)
            rows["maintenance_hits"] = _copy(
                source, target, "maintenance_hits", {"window_id": windows.__getitem__},
                conflict=_HITS_SUMMED, where="window_id IN (SELECT id FROM maintenance)",
            )  # fmt: skip
            for table in ("incidents", "kinds"):
                target.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - fixed names
                    f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)".encode()
                )
    finally:
        source.close()
    return Imported(rows)


def _shift(by: int) -> Move:
    return lambda value: value + by


def _max_id(target: psycopg.Connection[Any], table: str) -> int:
    row = target.execute(f"SELECT coalesce(max(id), 0) FROM {table}".encode()).fetchone()  # noqa: S608 - fixed names
    return int(row[0]) if row else 0


def _copy(
    source: sqlite3.Connection,
    target: psycopg.Connection[Any],
    table: str,
    moves: Mapping[str, Move],
    *,
    drop: Sequence[str] = (),
    conflict: str = "",
    where: str = "1 = 1",
) -> int:
    """Copy the rows of `table`, passing those columns through `moves` (NULLs stay NULL)."""
    cursor = source.execute(f"SELECT * FROM {table} WHERE {where}")  # noqa: S608 - fixed names
    found = cursor.fetchall()
    if not found:
        return 0
    columns = [d[0] for d in cursor.description if d[0] not in drop]
    values = [
        tuple(moves[c](row[c]) if c in moves and row[c] is not None else row[c] for c in columns)
        for row in found
    ]
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    with target.cursor() as writer:
        writer.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({marks}) {conflict}".encode(),  # noqa: S608 - names from the schema
            values,
        )
    return len(values)


def _copy_windows(source: sqlite3.Connection, target: psycopg.Connection[Any]) -> dict[int, int]:
    """Copy the maintenance windows; each old id with its id in the database (that of
    the same scheduled occurrence, if another host already began it)."""
    cursor = source.execute("SELECT * FROM maintenance ORDER BY id")
    columns = [d[0] for d in cursor.description if d[0] != "id"]
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    ids: dict[int, int] = {}
    for row in cursor.fetchall():
        found = target.execute(
            f"INSERT INTO maintenance ({names}) VALUES ({marks}) "  # noqa: S608 - names from the schema
            "ON CONFLICT (origin, name, starts_at) DO NOTHING RETURNING id".encode(),
            tuple(row[c] for c in columns),
        ).fetchone()
        if found is None:
            found = target.execute(
                "SELECT id FROM maintenance WHERE origin = %s AND name = %s AND starts_at = %s",
                (row["origin"], row["name"], row["starts_at"]),
            ).fetchone()
        assert found is not None  # inserted, or there already
        ids[int(row["id"])] = int(found[0])
    return ids
