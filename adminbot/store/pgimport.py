"""`adminbot db import-sqlite`: one host's SQLite history, copied into the shared PostgreSQL.

Incidents keep their history (occurrences, transitions, audit rows) but not their ids:
other hosts may already have incidents with the same numbers, so every imported id
is moved past the highest one there, and the rows that point at an incident follow
it. Kinds move the same way, disk samples get new ids. Keyed rows (meta, checkpoints,
mutes, line and rule counts, rules made in the chat) that the database already has are
kept as they are. The outbox, storms and sent-message
ids are not copied: they are about messages in flight on the host that had them.
One transaction: an import that fails leaves the database as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from adminbot.store.pgschema import migrate

_KEYED = ("meta", "checkpoints", "mutes", "line_counts", "user_rules", "rule_counts")
_INCIDENT_ROWS = ("occurrences", "transitions", "audit")
_SERIES = ("disk_samples",)
"""Rows with an id of their own that nothing points at: copied under new ids."""


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
            shift = _max_id(target, "incidents")
            kind_shift = _max_id(target, "kinds")
            rows["incidents"] = _copy(source, target, "incidents", {"id": shift})
            for table in _INCIDENT_ROWS:
                rows[table] = _copy(source, target, table, {"incident_id": shift}, drop=("id",))
            rows["kinds"] = _copy(source, target, "kinds", {"id": kind_shift})
            for table in _SERIES:
                rows[table] = _copy(source, target, table, {}, drop=("id",))
            for table in _KEYED:
                rows[table] = _copy(source, target, table, {}, keyed=True)
            for table in ("incidents", "kinds"):
                target.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - fixed names
                    f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)".encode()
                )
    finally:
        source.close()
    return Imported(rows)


def _max_id(target: psycopg.Connection[Any], table: str) -> int:
    row = target.execute(f"SELECT coalesce(max(id), 0) FROM {table}".encode()).fetchone()  # noqa: S608 - fixed names
    return int(row[0]) if row else 0


def _copy(
    source: sqlite3.Connection,
    target: psycopg.Connection[Any],
    table: str,
    shifts: dict[str, int],
    *,
    drop: Sequence[str] = (),
    keyed: bool = False,
) -> int:
    """Copy every row of `table`, adding `shifts` to those columns (NULLs stay NULL)."""
    cursor = source.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed names
    found = cursor.fetchall()
    if not found:
        return 0
    columns = [d[0] for d in cursor.description if d[0] not in drop]
    values = [
        tuple(row[c] + shifts[c] if c in shifts and row[c] is not None else row[c] for c in columns)
        for row in found
    ]
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    conflict = " ON CONFLICT DO NOTHING" if keyed else ""
    with target.cursor() as writer:
        writer.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({marks}){conflict}".encode(),  # noqa: S608 - names from the schema
            values,
        )
    return len(values)
