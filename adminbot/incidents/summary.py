"""Session and period summaries (the seed's "Resumen de sesión al finalizar")."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adminbot.models import ActionKind, Incident, IncidentState
from adminbot.store.api import StoreApi

_PERIOD = re.compile(r"^(\d{1,4})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
OPEN_STATES = tuple(s for s in IncidentState if not s.is_closed)
ACTION_KINDS = frozenset(kind.value for kind in ActionKind)


def parse_period(text: str) -> timedelta | None:
    """'90m', '24h', '7d', '2w' → timedelta; None if it is not such a period."""
    found = _PERIOD.match(text.strip().lower())
    if not found or int(found.group(1)) == 0:
        return None
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


@dataclass(frozen=True)
class Summary:
    since: datetime
    until: datetime
    lines: int
    by_rule: dict[str, tuple[int, int]]
    actions_run: int
    actions_ok: int
    actions_failed: int
    top: list[Incident]
    still_open: int
    resolved: int
    median_resolution: timedelta | None
    by_host: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per host: (incidents, occurrences), when several hosts share the store."""

    @property
    def incidents(self) -> int:
        return sum(n for n, _ in self.by_rule.values())

    @property
    def occurrences(self) -> int:
        return sum(hits for _, hits in self.by_rule.values())


def build_summary(
    store: StoreApi, since: datetime, now: datetime, lines: int | None = None
) -> Summary:
    """Summarise activity from `since` to `now`; `lines` overrides the hourly line counts
    (the session knows its exact figure, the store only whole hours)."""
    # The audit table also keeps what was not a fix (a disk report attached to an alert)
    audit = [entry for entry in store.audit(since=since) if entry.kind in ACTION_KINDS]
    seconds = store.resolution_seconds(since)
    top = sorted(store.incidents(since=since, limit=200), key=lambda i: i.count, reverse=True)
    return Summary(
        since=since,
        until=now,
        lines=store.lines_since(since) if lines is None else lines,
        by_rule=store.incident_counts(since),
        actions_run=len(audit),
        actions_ok=sum(1 for a in audit if a.ok),
        actions_failed=sum(1 for a in audit if not a.ok),
        top=top[:5],
        still_open=store.count_incidents(states=OPEN_STATES),
        resolved=len(seconds),
        median_resolution=timedelta(seconds=statistics.median(seconds)) if seconds else None,
        by_host=store.host_counts(since),
    )
