"""The incidents' tables written: a batch of matches recorded in a few statements, and
an incident moved from one state to another (compare-and-set, with its transition).

A storm of distinct incidents costs a few statements per batch, not several per
incident; repeats of one incident in a batch are one update. What is read back is in
`sqlreads`. Both are parts of `sqlite.Store`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from adminbot.models import Incident, IncidentState, Match, Severity, frozen_map
from adminbot.store.rows import (
    Recorded,
    incident_of,
    key_hash,
    stored_time,
)
from adminbot.store.sqlbase import SqlStore

MAX_OCCURRENCES = 20
SAMPLE_CHARS = 4000


class IncidentTables(SqlStore):
    """Incidents, occurrences and transitions, as matches and state changes write them."""

    def record_match(self, match: Match, now: datetime, token: str) -> Recorded:
        """Add one occurrence: bump the live incident for (rule, key) or open a new one.

        An ignored incident keeps absorbing its repeats (the admin said so); a
        resolved one does not, so a recurrence after a fix opens a fresh incident.
        """
        return self.record_matches([match], now, lambda: token)[0]

    def record_matches(
        self, matches: Sequence[Match], now: datetime, token: Callable[[], str]
    ) -> list[Recorded]:
        """Record a batch of matches, one `Recorded` per match, in their order.

        Matches of one incident cost one write however many there are (a storm
        repeats the same few): its count grows by their number, its sample,
        source and fields are the last one's, and only the occurrences that
        stay among the last MAX_OCCURRENCES are written. A storm of distinct
        incidents costs a few statements per batch, not several per incident:
        the live incidents are read, the new ones inserted, the repeats updated
        and the occurrences and transitions written, each for the whole batch.
        Each `Recorded` shows the incident as it was right after its match.
        """
        groups: dict[tuple[str, str, str], list[int]] = {}
        for index, match in enumerate(matches):
            triple = (match.rule, match.key, match.host or self.host)
            groups.setdefault(triple, []).append(index)
        seen = stored_time(now)
        seen_at = datetime.fromisoformat(seen)
        results: list[Recorded | None] = [None] * len(matches)
        hashes = {key: key_hash(key) for _, key, _ in groups}
        with self.transaction():
            live = self._live_incidents(groups, hashes)
            fresh = [triple for triple in groups if triple not in live]
            opened = self._open_incidents(fresh, groups, matches, hashes, seen, seen_at, token)
            self._update_incidents(live, groups, matches, seen, seen_at)
            kept: list[tuple[Any, ...]] = []
            trim: list[tuple[int, int, int]] = []
            for triple, indexes in groups.items():
                incident = opened.get(triple) or live[triple]
                group = [matches[i] for i in indexes]
                kept.extend(_occurrence(incident.id, seen, m) for m in group[-MAX_OCCURRENCES:])
                if triple in live and incident.count > MAX_OCCURRENCES:
                    trim.append((incident.id, incident.id, MAX_OCCURRENCES))
                _snapshots(incident, indexes, group, triple in opened, results)
            self._many(
                "INSERT INTO occurrences (incident_id, seen_at, source, line_no, text) "
                "VALUES (?, ?, ?, ?, ?)",
                kept,
            )
            self._many(
                "DELETE FROM occurrences WHERE incident_id = ? AND id NOT IN "
                "(SELECT id FROM occurrences WHERE incident_id = ? ORDER BY id DESC LIMIT ?)",
                trim,
            )
        return [r for r in results if r is not None]

    def _live_incidents(
        self, groups: Mapping[tuple[str, str, str], object], hashes: Mapping[str, int]
    ) -> dict[tuple[str, str, str], Incident]:
        """The newest incident not resolved of each (rule, key, host), read in chunks."""
        wanted: dict[tuple[str, str], list[str]] = {}
        for rule, key, host in groups:
            wanted.setdefault((rule, host), []).append(key)
        found: dict[tuple[str, str, str], Incident] = {}
        for (rule, host), keys in wanted.items():
            for chunk in _chunks(keys):
                marks = ", ".join("?" * len(chunk))
                rows = self._all(
                    _LIVE_INCIDENTS.format(marks=marks),
                    (*(hashes[key] for key in chunk), rule, host, _RESOLVED, *chunk),
                )
                for row in rows:  # by id: the newest of a key is kept
                    found[(rule, row["key"], host)] = incident_of(row)
        return found

    def _open_incidents(
        self,
        fresh: Sequence[tuple[str, str, str]],
        groups: Mapping[tuple[str, str, str], list[int]],
        matches: Sequence[Match],
        hashes: Mapping[str, int],
        seen: str,
        seen_at: datetime,
        token: Callable[[], str],
    ) -> dict[tuple[str, str, str], Incident]:
        """Insert the batch's new incidents, a multi-row INSERT per chunk; each as its
        first match (rule, severity, key) showing its last (sample, source, fields)."""
        opened: dict[tuple[str, str, str], Incident] = {}
        for chunk in _chunks(fresh):
            rows = []
            for rule, key, host in chunk:
                indexes = groups[(rule, key, host)]
                first, last = matches[indexes[0]], matches[indexes[-1]]
                rows.append(
                    (rule, first.severity, key, len(indexes), last, token(), host),
                )
            marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
            values = [value for row in rows for value in _incident_row(*row, hashes, seen)]
            ids = {
                (found["rule"], found["key"], found["host"]): int(found["id"])
                for found in self._all(_OPEN_INCIDENTS.format(marks=marks), values)
            }
            for rule, severity, key, count, last, opened_token, host in rows:
                opened[(rule, key, host)] = Incident(
                    id=ids[(rule, key, host)],
                    rule=rule,
                    severity=severity,
                    key=key,
                    state=IncidentState.OPEN,
                    count=count,
                    first_seen=seen_at,
                    last_seen=seen_at,
                    source=last.record.source,
                    sample=last.record.text[:SAMPLE_CHARS],
                    fields=frozen_map(last.fields),
                    token=opened_token,
                    host=host,
                )
        self._many(
            "INSERT INTO transitions (incident_id, at, old_state, new_state, actor, note) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(i.id, seen, None, _OPEN, "monitor", "") for i in opened.values()],
        )
        return opened

    def _update_incidents(
        self,
        live: dict[tuple[str, str, str], Incident],
        groups: Mapping[tuple[str, str, str], list[int]],
        matches: Sequence[Match],
        seen: str,
        seen_at: datetime,
    ) -> None:
        """Bump the batch's repeated incidents (in `live`, replaced by their new state)."""
        updates = []
        for triple, incident in live.items():
            indexes = groups[triple]
            last = matches[indexes[-1]]
            sample = last.record.text[:SAMPLE_CHARS]
            fields = _FIELDS_JSON.encode(dict(last.fields))
            updates.append((len(indexes), seen, sample, last.record.source, fields, incident.id))
            live[triple] = replace(
                incident,
                count=incident.count + len(indexes),
                last_seen=seen_at,
                sample=sample,
                source=last.record.source,
                fields=frozen_map(last.fields),
            )
        self._many(
            "UPDATE incidents SET count = count + ?, last_seen = ?, sample = ?, "
            "source = ?, fields = ? WHERE id = ?",
            updates,
        )

    def _add_transition(
        self,
        incident_id: int,
        old: IncidentState | None,
        new: IncidentState,
        actor: str,
        note: str,
        now: datetime,
    ) -> None:
        self._run(
            "INSERT INTO transitions (incident_id, at, old_state, new_state, actor, note) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (incident_id, stored_time(now), old.value if old else None, new.value, actor, note),
        )

    def set_state(
        self,
        incident_id: int,
        expected: Sequence[IncidentState],
        new: IncidentState,
        actor: str,
        now: datetime,
        note: str = "",
    ) -> bool:
        """Move an incident to `new` only if it is still in one of `expected` (compare-and-set)."""
        with self.transaction():
            row = self._one("SELECT state FROM incidents WHERE id = ?", (incident_id,))
            if row is None or IncidentState(row["state"]) not in expected:
                return False
            old = IncidentState(row["state"])
            resolved_at = stored_time(now) if new.is_closed else None
            changed = self._run(
                "UPDATE incidents SET state = ?, resolved_at = ? WHERE id = ? AND state = ?",
                (new.value, resolved_at, incident_id, old.value),
            )
            if changed != 1:
                return False
            self._add_transition(incident_id, old, new, actor, note, now)
        return True


_CHUNK = 256
_OPEN, _RESOLVED = IncidentState.OPEN.value, IncidentState.RESOLVED.value
_FIELDS_JSON = json.JSONEncoder(ensure_ascii=False)
"""One encoder for every row's fields: `json.dumps` with an option builds one a call."""
# Statements with one placeholder group per item; only placeholders are formatted in.
_LIVE_INCIDENTS = (
    "SELECT * FROM incidents WHERE key_hash IN ({marks}) AND rule = ? AND host = ? "
    "AND state != ? AND key IN ({marks}) ORDER BY id"
)
_OPEN_INCIDENTS = (
    "INSERT INTO incidents (rule, severity, key, state, count, first_seen, last_seen, "
    "source, sample, fields, token, host, key_hash) VALUES {marks} RETURNING id, rule, key, host"
)
_T = TypeVar("_T")


def _chunks(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """`items` in pieces of at most _CHUNK, each a power of two long, so a statement
    with one placeholder group per item has a handful of texts (statement caches)."""
    start = 0
    while start < len(items):
        size = min(_CHUNK, 1 << ((len(items) - start).bit_length() - 1))
        yield items[start : start + size]
        start += size


def _incident_row(
    rule: str,
    severity: Severity,
    key: str,
    count: int,
    last: Match,
    token: str,
    host: str,
    hashes: Mapping[str, int],
    seen: str,
) -> tuple[Any, ...]:
    """The columns of a new incident opened by a batch, shown as its last match."""
    return (
        rule,
        severity.value,
        key,
        _OPEN,
        count,
        seen,
        seen,
        last.record.source,
        last.record.text[:SAMPLE_CHARS],
        _FIELDS_JSON.encode(dict(last.fields)),
        token,
        host,
        hashes[key],
    )


def _occurrence(incident_id: int, seen: str, match: Match) -> tuple[Any, ...]:
    record = match.record
    return (incident_id, seen, record.source, record.line_no, record.text[:SAMPLE_CHARS])


def _snapshots(
    incident: Incident,
    indexes: Sequence[int],
    group: Sequence[Match],
    created: bool,
    results: list[Recorded | None],
) -> None:
    """Each match's `Recorded`: the incident as it was right after that match."""
    base = incident.count - len(group)
    for n, (index, match) in enumerate(zip(indexes, group, strict=True), start=1):
        snapshot = incident
        if n < len(group):
            record = match.record
            snapshot = replace(
                incident,
                count=base + n,
                sample=record.text[:SAMPLE_CHARS],
                source=record.source,
                fields=match.fields,
            )
        results[index] = Recorded(snapshot, created and n == 1)
