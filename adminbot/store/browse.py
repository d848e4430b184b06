"""The queries the web pages read: incidents by filter, per-hour counts, audit and transitions.

Read-only, on the `Store`'s connection, in portable SQL so they run on PostgreSQL too.
Filters are bound values; the text filter is a LIKE with its wildcards escaped, so log
text typed into the search box matches literally.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adminbot.models import Incident, IncidentState
from adminbot.store.rows import AuditEntry, audit_entry_of, incident_of, stored_time
from adminbot.store.sqlite import Store


@dataclass(frozen=True, slots=True)
class IncidentQuery:
    """What the incidents table is filtered by; None or empty means any."""

    states: tuple[IncidentState, ...] = ()
    rule: str | None = None
    host: str | None = None
    text: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class StateChange:
    """One row of an incident's history, with the incident it belongs to."""

    id: int
    incident_id: int
    at: datetime
    old_state: IncidentState | None
    new_state: IncidentState
    actor: str
    note: str


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(query: IncidentQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if query.states:
        clauses.append(f"state IN ({','.join('?' * len(query.states))})")
        args.extend(state.value for state in query.states)
    if query.rule:
        clauses.append("rule = ?")
        args.append(query.rule)
    if query.host:
        clauses.append("host = ?")
        args.append(query.host)
    if query.text:
        pattern = _like(query.text)
        clauses.append(
            "(sample LIKE ? ESCAPE '\\' OR key LIKE ? ESCAPE '\\' OR source LIKE ? ESCAPE '\\')"
        )
        args.extend([pattern, pattern, pattern])
    if query.since is not None:
        clauses.append("last_seen >= ?")
        args.append(stored_time(query.since))
    if query.until is not None:
        clauses.append("last_seen < ?")
        args.append(stored_time(query.until))
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), args


class Browse:
    """Read-only views of the store for the pages, through the store's connection."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def store(self) -> Store:
        return self._store

    def _rows(self, sql: str, args: list[Any] | tuple[Any, ...] = ()) -> list[Any]:
        with self._store.connection() as db:
            return list(db.execute(sql, args).fetchall())

    def incidents(self, query: IncidentQuery, *, limit: int, offset: int = 0) -> list[Incident]:
        """Newest last occurrence first."""
        where, args = _where(query)
        rows = self._rows(
            f"SELECT * FROM incidents {where} ORDER BY last_seen DESC, id DESC LIMIT ? OFFSET ?",  # noqa: S608 - fixed clauses, bound values
            [*args, limit, offset],
        )
        return [incident_of(row) for row in rows]

    def count(self, query: IncidentQuery) -> int:
        where, args = _where(query)
        rows = self._rows(f"SELECT count(*) AS n FROM incidents {where}", args)  # noqa: S608 - as above
        return int(rows[0]["n"]) if rows else 0

    def hosts(self) -> list[str]:
        rows = self._rows("SELECT DISTINCT host FROM incidents ORDER BY host")
        return [row["host"] for row in rows if row["host"]]

    def open_per_host(self, states: tuple[IncidentState, ...]) -> dict[str, int]:
        """Every host with incidents, and how many of them are in `states` (0 for none)."""
        marks = ",".join("?" * len(states))
        rows = self._rows(
            f"SELECT host, sum(CASE WHEN state IN ({marks}) THEN 1 ELSE 0 END) AS n "  # noqa: S608 - placeholders only
            "FROM incidents GROUP BY host ORDER BY host",
            [state.value for state in states],
        )
        return {row["host"]: int(row["n"] or 0) for row in rows if row["host"]}

    def rules(self) -> list[str]:
        rows = self._rows("SELECT DISTINCT rule FROM incidents ORDER BY rule")
        return [row["rule"] for row in rows]

    def audit(self, *, limit: int, offset: int = 0, fixes_only: bool = False) -> list[AuditEntry]:
        """Newest first."""
        where = "WHERE incident_id IS NOT NULL" if fixes_only else ""
        rows = self._rows(
            f"SELECT * FROM audit {where} ORDER BY id DESC LIMIT ? OFFSET ?",  # noqa: S608 - fixed clause
            [limit, offset],
        )
        return [audit_entry_of(r) for r in rows]

    def changes(self, *, limit: int, offset: int = 0) -> list[StateChange]:
        """The latest state changes of every incident, newest first."""
        rows = self._rows(
            "SELECT id, incident_id, at, old_state, new_state, actor, note FROM transitions "
            "ORDER BY id DESC LIMIT ? OFFSET ?",
            [limit, offset],
        )
        return [
            StateChange(
                id=r["id"],
                incident_id=r["incident_id"],
                at=datetime.fromisoformat(r["at"]),
                old_state=IncidentState(r["old_state"]) if r["old_state"] else None,
                new_state=IncidentState(r["new_state"]),
                actor=r["actor"],
                note=r["note"],
            )
            for r in rows
        ]

    def version(self) -> str:
        """Changes whenever an incident is added, repeats or changes state: what live views poll."""
        rows = self._rows(
            "SELECT (SELECT max(id) FROM incidents) AS i, (SELECT max(last_seen) FROM incidents) "
            "AS s, (SELECT max(id) FROM transitions) AS t"
        )
        row = rows[0]
        return f"{row['i'] or 0}.{row['s'] or ''}.{row['t'] or 0}"
