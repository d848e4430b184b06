"""Kinds of error no rule knows, as mined templates: the queries of their table.

One row per template (`adminbot.kinds`): its words with placeholders and wildcards,
when it was first and last seen, how often, its state (new until the admin makes a
rule of it or ignores it), whether it was learnt quietly (warm-up, `adminbot learn`),
two redacted sample lines and the file of the latest. It runs on the `Store`'s
connection and transactions, so a batch's kinds commit whole.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from adminbot.models import IncidentState, Severity
from adminbot.store.rows import key_hash, stored_time
from adminbot.store.sqlite import Store

SINCE_KEY = "kinds_since"
"""Meta key: when this store began mining kinds (the warm-up counts from there)."""
MAX_SAMPLES = 2


class KindState(StrEnum):
    """What the admin made of a kind: nothing yet, a rule, or "ignore it"."""

    NEW = "new"
    RULED = "ruled"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class Kind:
    """One stored template and what is known of its occurrences."""

    id: int
    template: str
    first_seen: datetime
    last_seen: datetime
    count: int
    state: KindState
    learned: bool
    samples: tuple[str, ...]
    file: str

    @property
    def alerts(self) -> bool:
        """Whether its lines raise a "new kind of error" incident."""
        return self.state is KindState.NEW and not self.learned


@dataclass(frozen=True, slots=True)
class Sighting:
    """What one batch saw of one kind: written as a new row (`id` None) or added to one."""

    id: int | None
    template: str
    count: int
    samples: tuple[str, ...]  # redacted, oldest first
    file: str
    learned: bool = False


class KindStore:
    """The `kinds` table, through the store's connection."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def since(self, now: datetime) -> datetime:
        """When mining began on this store; `now` if it begins now."""
        found = self._store.get_meta(SINCE_KEY)
        if found is not None:
            return datetime.fromisoformat(found)
        self._store.set_meta(SINCE_KEY, stored_time(now))
        return now

    def all(self) -> list[Kind]:
        """Every kind, oldest first (to rebuild the miner's tree)."""
        return self._select("ORDER BY id", ())

    def newest(self, limit: int = 20) -> list[Kind]:
        """The kinds seen most recently first."""
        return self._select("ORDER BY last_seen DESC, id DESC LIMIT ?", (limit,))

    def total(self) -> int:
        with self._store.connection() as db:
            return int(db.execute("SELECT count(*) FROM kinds").fetchone()[0])

    def record(self, sightings: Sequence[Sighting], now: datetime) -> list[int]:
        """Write a batch's sightings in one transaction; the kinds' ids, in order."""
        seen = stored_time(now)
        ids: list[int] = []
        with self._store.transaction(), self._store.connection() as db:
            for sighting in sightings:
                if sighting.id is None:
                    ids.append(_insert(db, sighting, seen))
                else:
                    _update(db, sighting, seen)
                    ids.append(sighting.id)
        return ids

    def get(self, kind_id: int) -> Kind | None:
        found = self._select("WHERE id = ?", (kind_id,))
        return found[0] if found else None

    def decide(self, kind_id: int, state: KindState) -> bool:
        """Record what the admin made of a kind; False if there is no such kind."""
        with self._store.connection() as db:
            cursor = db.execute("UPDATE kinds SET state = ? WHERE id = ?", (state.value, kind_id))
            return cursor.rowcount > 0

    def escalate(self, rule: str, key: str, severity: Severity) -> bool:
        """Raise the live incident of (`rule`, `key`) to `severity` if it is below it."""
        lower = [s.value for s in Severity if s.rank < severity.rank]
        marks = ",".join("?" * len(lower))
        with self._store.connection() as db:
            cursor = db.execute(
                f"UPDATE incidents SET severity = ? WHERE key_hash = ? AND rule = ? "  # noqa: S608 - placeholders only
                f"AND key = ? AND state != ? AND severity IN ({marks})",
                (severity.value, key_hash(key), rule, key, IncidentState.RESOLVED.value, *lower),
            )
            return cursor.rowcount > 0

    def _select(self, tail: str, args: Sequence[object]) -> list[Kind]:
        with self._store.connection() as db:
            rows = db.execute(f"SELECT * FROM kinds {tail}", args).fetchall()  # noqa: S608 - fixed text
        return [_kind(row) for row in rows]


def _insert(db: sqlite3.Connection, sighting: Sighting, seen: str) -> int:
    samples = _samples((), sighting.samples)
    cursor = db.execute(
        "INSERT INTO kinds (template, first_seen, last_seen, count, state, learned, samples, "
        "file) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            sighting.template,
            seen,
            seen,
            sighting.count,
            KindState.NEW.value,
            int(sighting.learned),
            json.dumps(samples, ensure_ascii=False),
            sighting.file,
        ),
    )
    return int(cursor.lastrowid or 0)


def _update(db: sqlite3.Connection, sighting: Sighting, seen: str) -> None:
    row = db.execute("SELECT samples FROM kinds WHERE id = ?", (sighting.id,)).fetchone()
    old = tuple(json.loads(row[0])) if row is not None else ()
    db.execute(
        "UPDATE kinds SET template = ?, last_seen = ?, count = count + ?, samples = ?, file = ? "
        "WHERE id = ?",
        (
            sighting.template,
            seen,
            sighting.count,
            json.dumps(_samples(old, sighting.samples), ensure_ascii=False),
            sighting.file,
            sighting.id,
        ),
    )


def _samples(old: Sequence[str], new: Sequence[str]) -> list[str]:
    """The first line ever seen and the latest one, if it differs."""
    lines = [*old[:1], *new]
    if not lines:
        return []
    first, latest = lines[0], lines[-1]
    return [first] if latest == first else [first, latest][:MAX_SAMPLES]


def _kind(row: sqlite3.Row) -> Kind:
    return Kind(
        id=int(row["id"]),
        template=row["template"],
        first_seen=datetime.fromisoformat(row["first_seen"]),
        last_seen=datetime.fromisoformat(row["last_seen"]),
        count=int(row["count"]),
        state=KindState(row["state"]),
        learned=bool(row["learned"]),
        samples=tuple(json.loads(row["samples"])),
        file=row["file"],
    )
