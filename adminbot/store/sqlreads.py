"""The incidents read back: one, a page of them, their counts per rule, host and state,
a recurrence's earlier incidents, occurrences and transitions. Part of `sqlite.Store`
(and so of the PostgreSQL store, which runs the same text of each query).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from adminbot.models import Incident, IncidentState
from adminbot.store.rows import Closing, Transition, incident_of, key_hash, read_time, stored_time
from adminbot.store.sqlbase import SqlStore


class IncidentReads(SqlStore):
    """Queries on incidents, occurrences and transitions."""

    def incident(self, incident_id: int) -> Incident | None:
        row = self._one("SELECT * FROM incidents WHERE id = ?", (incident_id,))
        return None if row is None else incident_of(row)

    def incidents(
        self,
        *,
        rule: str | None = None,
        states: Sequence[IncidentState] | None = None,
        since: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
        host: str | None = None,
    ) -> list[Incident]:
        """Incidents, the latest first; `host` keeps one host's only."""
        clauses, args = _filters(rule, states, since, host)
        rows = self._all(
            f"SELECT * FROM incidents {clauses} ORDER BY last_seen DESC, id DESC LIMIT ? OFFSET ?",  # noqa: S608 - clauses are built from fixed text, values are bound
            (*args, limit, offset),
        )
        return [incident_of(row) for row in rows]

    def closings(self, incident: Incident, limit: int) -> list[Closing]:
        """`incident` and the earlier incidents of its rule, key and host, newest first,
        with when each opened and was closed (a crash loop, a flapping outage)."""
        rows = self._all(
            "SELECT id, first_seen, resolved_at, (SELECT actor FROM transitions t "
            "WHERE t.incident_id = incidents.id ORDER BY t.id DESC LIMIT 1) AS closed_by "
            "FROM incidents WHERE key_hash = ? AND rule = ? AND key = ? AND host = ? "
            "AND id <= ? ORDER BY id DESC LIMIT ?",
            (
                key_hash(incident.key),
                incident.rule,
                incident.key,
                incident.host,
                incident.id,
                limit,
            ),
        )
        return [
            Closing(
                int(r["id"]),
                datetime.fromisoformat(r["first_seen"]),
                read_time(r["resolved_at"]),
                r["closed_by"] or "" if r["resolved_at"] is not None else "",
            )
            for r in rows
        ]

    def count_incidents(
        self,
        *,
        rule: str | None = None,
        states: Sequence[IncidentState] | None = None,
        since: datetime | None = None,
        host: str | None = None,
    ) -> int:
        clauses, args = _filters(rule, states, since, host)
        row = self._one(f"SELECT count(*) AS n FROM incidents {clauses}", args)  # noqa: S608 - as above
        return int(row["n"]) if row else 0

    def incident_counts(self, since: datetime | None = None) -> dict[str, tuple[int, int]]:
        """Per rule: (incidents, occurrences) whose last occurrence is at or after `since`."""
        clauses, args = _filters(None, None, since)
        rows = self._all(
            f"SELECT rule, count(*) AS n, sum(count) AS hits FROM incidents {clauses} "  # noqa: S608 - as above
            "GROUP BY rule",
            args,
        )
        return {row["rule"]: (int(row["n"]), int(row["hits"])) for row in rows}

    def host_counts(self, since: datetime | None = None) -> dict[str, tuple[int, int]]:
        """Per host: (incidents, occurrences) whose last occurrence is at or after `since`."""
        clauses, args = _filters(None, None, since)
        rows = self._all(
            f"SELECT host, count(*) AS n, sum(count) AS hits FROM incidents {clauses} "  # noqa: S608 - as above
            "GROUP BY host",
            args,
        )
        return {row["host"]: (int(row["n"]), int(row["hits"])) for row in rows}

    def open_counts(self) -> dict[str, int]:
        open_states = [s.value for s in IncidentState if not s.is_closed]
        marks = ",".join("?" * len(open_states))
        rows = self._all(
            f"SELECT rule, count(*) AS n FROM incidents WHERE state IN ({marks}) GROUP BY rule",  # noqa: S608 - placeholders only
            open_states,
        )
        return {row["rule"]: int(row["n"]) for row in rows}

    def state_counts(self) -> dict[tuple[str, str], int]:
        """This host's incidents per (rule, state), for its metrics endpoint: every host of
        a fleet is scraped, so each counts its own and their sum is the fleet's."""
        rows = self._all(
            "SELECT rule, state, count(*) AS n FROM incidents WHERE host = ? GROUP BY rule, state",
            (self.host,),
        )
        return {(r["rule"], r["state"]): int(r["n"]) for r in rows}

    def resolution_seconds(self, since: datetime) -> list[float]:
        rows = self._all(
            "SELECT first_seen, resolved_at FROM incidents WHERE state = ? AND resolved_at >= ?",
            (IncidentState.RESOLVED.value, stored_time(since)),
        )
        return [
            (
                datetime.fromisoformat(r["resolved_at"]) - datetime.fromisoformat(r["first_seen"])
            ).total_seconds()
            for r in rows
        ]

    def occurrences(self, incident_id: int, limit: int = 5) -> list[tuple[datetime, str, int, str]]:
        rows = self._all(
            "SELECT seen_at, source, line_no, text FROM occurrences WHERE incident_id = ? "
            "ORDER BY id DESC LIMIT ?",
            (incident_id, limit),
        )
        return [(datetime.fromisoformat(r[0]), r[1], r[2], r[3]) for r in rows]

    def transitions(self, incident_id: int) -> list[Transition]:
        rows = self._all(
            "SELECT at, old_state, new_state, actor, note FROM transitions "
            "WHERE incident_id = ? ORDER BY id",
            (incident_id,),
        )
        return [
            Transition(
                at=datetime.fromisoformat(r["at"]),
                old_state=IncidentState(r["old_state"]) if r["old_state"] else None,
                new_state=IncidentState(r["new_state"]),
                actor=r["actor"],
                note=r["note"],
            )
            for r in rows
        ]


def _filters(
    rule: str | None,
    states: Sequence[IncidentState] | None,
    since: datetime | None,
    host: str | None = None,
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if host is not None:
        clauses.append("host = ?")
        args.append(host)
    if rule is not None:
        clauses.append("rule = ?")
        args.append(rule)
    if states:
        clauses.append(f"state IN ({','.join('?' * len(states))})")
        args.extend(s.value for s in states)
    if since is not None:
        clauses.append("last_seen >= ?")
        args.append(stored_time(since))
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), args
