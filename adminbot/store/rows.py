"""What the store's rows are as values, and how a row becomes one.

Shared by the SQLite store and the modules beside it (browse, history, trends, the
PostgreSQL backend), so a moment is written and an incident read one way only. A disk
reading (`UsageSample`) is one too: the predictions and the digest read it from here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adminbot.models import Incident, IncidentState, Severity, frozen_map

Row = Any
"""A row as a driver returns it, read by column name (sqlite3.Row, psycopg's dict row)."""


def key_hash(key: str) -> int:
    """The first 60 bits of the key's MD5: what the incidents' lookup index holds
    instead of the key. A storm's new incidents have scattered keys; indexed as text,
    each one dirtied a page of the index of its own in the commit (24 us a new
    incident against 14 with the hash, bench on random keys). A lookup finds the rows
    by hash, then compares the key itself. PostgreSQL's `key_hash()` (pgschema)
    computes the same in SQL, for rows written before the column existed."""
    return int(hashlib.md5(key.encode("utf-8"), usedforsecurity=False).hexdigest()[:15], 16)


def stored_time(moment: datetime) -> str:
    """How a moment is written: UTC, ISO 8601, to the microsecond (sorts as text)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def read_time(text: str | None) -> datetime | None:
    """A stored moment read back (None stays None)."""
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class Recorded:
    """What recording one match did: the incident after it, and whether it is new."""

    incident: Incident
    created: bool


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    kind: str
    chat_id: int | None
    incident_id: int | None
    payload: Mapping[str, Any]
    attempts: int
    created_at: datetime
    priority: int = 2
    storm_id: int | None = None
    doubt: int = 0
    """Earlier attempts whose outcome is unknown: a re-send may repeat what Telegram shows."""


@dataclass(frozen=True, slots=True)
class SentRef:
    """A message the bot sent, and whether it may repeat an earlier copy."""

    message_id: int
    repeated: bool


@dataclass(frozen=True, slots=True)
class Closing:
    """An incident of one rule and key, as a recurrence chain needs it."""

    id: int
    first_seen: datetime
    closed_at: datetime | None
    closed_by: str = ""


@dataclass(frozen=True, slots=True)
class StormFacts:
    """A storm of new incidents of one rule, as its message shows it."""

    id: int
    rule: str
    started_at: datetime
    ended_at: datetime | None
    incidents: int
    hits: int
    last_seen: datetime | None
    top_keys: tuple[tuple[str, int], ...]
    top_files: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Transition:
    at: datetime
    old_state: IncidentState | None
    new_state: IncidentState
    actor: str
    note: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    incident_id: int | None
    at: datetime
    actor: str
    kind: str
    operation: str
    exit_code: int | None
    output_tail: str
    duration: float
    ok: bool
    summary: str
    detail: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class UsageSample:
    """One reading of a disk: when, bytes used, bytes in all."""

    at: datetime
    used: int
    total: int


def incident_of(row: Row) -> Incident:
    """One `incidents` row as read back."""
    return Incident(
        id=row["id"],
        rule=row["rule"],
        severity=Severity(row["severity"]),
        key=row["key"],
        state=IncidentState(row["state"]),
        count=row["count"],
        first_seen=datetime.fromisoformat(row["first_seen"]),
        last_seen=datetime.fromisoformat(row["last_seen"]),
        source=row["source"],
        sample=row["sample"],
        fields=frozen_map(json.loads(row["fields"])),
        token=row["token"],
        host=row["host"],
    )


def outbox_item_of(row: Row) -> OutboxItem:
    """One `outbox` row as read back."""
    return OutboxItem(
        id=row["id"],
        kind=row["kind"],
        chat_id=row["chat_id"],
        incident_id=row["incident_id"],
        payload=json.loads(row["payload"]),
        attempts=row["attempts"],
        created_at=datetime.fromisoformat(row["created_at"]),
        priority=row["priority"],
        storm_id=row["storm_id"],
        doubt=row["doubt"],
    )


def audit_entry_of(r: Row) -> AuditEntry:
    """One `audit` row as read back."""
    return AuditEntry(
        id=r["id"],
        incident_id=r["incident_id"],
        at=datetime.fromisoformat(r["at"]),
        actor=r["actor"],
        kind=r["kind"],
        operation=r["operation"],
        exit_code=r["exit_code"],
        output_tail=r["output_tail"] or "",
        duration=r["duration"] or 0.0,
        ok=bool(r["ok"]),
        summary=r["summary"],
        detail=json.loads(r["detail"]) if r["detail"] else None,
    )
