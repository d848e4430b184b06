"""The `hosts` table: one row per agent, upserted every check period, read by /status.

An agent's heartbeat is stamped with the store's clock (`Store.store_now`): on
PostgreSQL that is the server's `now()`, so the front judges every host's silence
on one clock however far the hosts' own clocks drift; on SQLite (one host) it is the
injected clock. The row also carries what /status shows of that host: its version,
its watched files and its checks' states, as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adminbot.store.rows import stored_time
from adminbot.store.sqlite import Store


@dataclass(frozen=True, slots=True)
class HostFile:
    """One file a host watches, as its /status line shows it."""

    path: str
    size: int
    lines_read: int
    last_line_at: datetime | None
    problem: str | None


@dataclass(frozen=True, slots=True)
class HostBeat:
    """What an agent says about itself at each heartbeat."""

    name: str
    instance: str
    pid: int
    version: str
    started_at: datetime
    files: tuple[HostFile, ...] = ()
    checks: tuple[tuple[str, str], ...] = ()
    """(check name, state) pairs."""


@dataclass(frozen=True, slots=True)
class HostRow:
    """A host as the store knows it, and how long it has been silent (store clock)."""

    beat: HostBeat
    heartbeat_at: datetime
    silent_for: float
    """Seconds since its last heartbeat, on the store's clock."""

    @property
    def name(self) -> str:
        return self.beat.name


class HostStore:
    """The `hosts` table, through the store's connection."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def beat(self, beat: HostBeat, now: datetime) -> datetime:
        """Upsert this host's row, stamped with the store's clock; returns the stamp."""
        at = self._store.store_now(now)
        with self._store.connection() as db:
            db.execute(
                "INSERT INTO hosts (name, instance, pid, version, started_at, heartbeat_at, "
                "files, checks) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE "
                "SET instance = excluded.instance, pid = excluded.pid, "
                "version = excluded.version, started_at = excluded.started_at, "
                "heartbeat_at = excluded.heartbeat_at, files = excluded.files, "
                "checks = excluded.checks",
                (
                    beat.name,
                    beat.instance,
                    beat.pid,
                    beat.version,
                    stored_time(beat.started_at),
                    stored_time(at),
                    json.dumps([_file_json(f) for f in beat.files], ensure_ascii=False),
                    json.dumps(dict(beat.checks), ensure_ascii=False),
                ),
            )
        return at

    def hosts(self, now: datetime) -> list[HostRow]:
        """Every host that ever beat, by name, with its silence on the store's clock."""
        at = self._store.store_now(now)
        with self._store.connection() as db:
            rows = db.execute("SELECT * FROM hosts ORDER BY name").fetchall()
        return [_row(row, at) for row in rows]

    def host(self, name: str, now: datetime) -> HostRow | None:
        found = [row for row in self.hosts(now) if row.name == name]
        return found[0] if found else None

    def count(self) -> int:
        """How many hosts share the store (the views name hosts only when more than one)."""
        with self._store.connection() as db:
            row = db.execute("SELECT count(*) AS n FROM hosts").fetchone()
        return int(row["n"]) if row else 0


def _file_json(f: HostFile) -> dict[str, Any]:
    return {
        "path": f.path,
        "size": f.size,
        "lines_read": f.lines_read,
        "last_line_at": None if f.last_line_at is None else stored_time(f.last_line_at),
        "problem": f.problem,
    }


def _file(data: Mapping[str, Any]) -> HostFile:
    last = data.get("last_line_at")
    return HostFile(
        path=str(data["path"]),
        size=int(data["size"]),
        lines_read=int(data["lines_read"]),
        last_line_at=None if last is None else datetime.fromisoformat(last),
        problem=data.get("problem"),
    )


def _row(row: Any, now: datetime) -> HostRow:
    heartbeat_at = datetime.fromisoformat(row["heartbeat_at"])
    files: Sequence[Mapping[str, Any]] = json.loads(row["files"])
    checks: Mapping[str, str] = json.loads(row["checks"])
    beat = HostBeat(
        name=str(row["name"]),
        instance=str(row["instance"]),
        pid=int(row["pid"]),
        version=str(row["version"]),
        started_at=datetime.fromisoformat(row["started_at"]),
        files=tuple(_file(f) for f in files),
        checks=tuple(sorted(checks.items())),
    )
    return HostRow(beat, heartbeat_at, max(0.0, (now - heartbeat_at).total_seconds()))
