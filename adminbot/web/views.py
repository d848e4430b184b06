"""What each page shows, gathered from the runtime and the store as plain values.

Pure reads: the handlers in `app.py` pass these to the templates. Log text stays
text here; the templates escape it (autoescape) and URLs carry only ids.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from adminbot.actions.executor import ActionKind
from adminbot.evidence.excerpt import Excerpt, NotWatched, around, watched_path
from adminbot.models import Incident, IncidentState
from adminbot.redaction import Redactor
from adminbot.service.runtime import Runtime
from adminbot.store.browse import Browse, IncidentQuery, StateChange
from adminbot.store.history import HOUR, HistoryStore, hour_of
from adminbot.store.kinds import Kind
from adminbot.store.rows import AuditEntry, Transition
from adminbot.store.trends import TrendStore
from adminbot.web.chart import HOURS, Chart, hourly_chart
from adminbot.web.hosts import HostCard, host_cards

OPEN_STATES = tuple(state for state in IncidentState if not state.is_closed)
CONTEXT_LINES = 10
PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Overview:
    hosts: tuple[HostCard, ...]
    open: tuple[Incident, ...]
    chart: Chart
    fixes: tuple[AuditEntry, ...]


@dataclass(frozen=True, slots=True)
class Detail:
    incident: Incident
    occurrences: tuple[tuple[datetime, str, int, str], ...]
    history: tuple[Transition, ...]
    fixes: tuple[AuditEntry, ...]
    context: Excerpt | None
    offered: tuple[ActionKind, ...]
    muted_until: datetime | None


def overview(runtime: Runtime, browse: Browse, here: str) -> Overview:
    """Hosts and their checks, what is open, the last 24 h, and the latest fixes."""
    now = runtime.clock()
    open_now = browse.incidents(IncidentQuery(states=OPEN_STATES), limit=PAGE_SIZE)
    history = HistoryStore(browse.store)
    last = hour_of(now)
    counts = history.incidents_per_hour(last - (HOURS - 1) * HOUR, last + HOUR)
    return Overview(
        hosts=hosts(runtime, browse, here),
        open=tuple(open_now),
        chart=hourly_chart(counts, runtime.config.zone),
        fixes=tuple(browse.audit(limit=10, fixes_only=True)),
    )


def hosts(runtime: Runtime, browse: Browse, here: str) -> tuple[HostCard, ...]:
    """Every host sharing the store: heartbeat, checks, disks, open incidents (the overview
    shows them, and reloads them on their own while it is open)."""
    history = HistoryStore(browse.store)
    return host_cards(runtime, history, browse.open_per_host(OPEN_STATES), here)


async def detail(runtime: Runtime, incident: Incident) -> Detail:
    """One incident with its occurrences, history, fixes and the lines around its latest one."""
    store = runtime.store
    occurrences = tuple(store.occurrences(incident.id, limit=20))
    context = None
    if occurrences and occurrences[0][2] > 0:
        context = await _context(runtime, occurrences[0][1], occurrences[0][2])
    return Detail(
        incident=incident,
        occurrences=occurrences,
        history=tuple(store.transitions(incident.id)),
        fixes=tuple(reversed(store.audit(incident_id=incident.id))),
        context=context,
        offered=tuple(runtime.remedies.offered(incident)) if incident.is_open else (),
        muted_until=runtime.book.muted_until(incident.rule, incident.key),
    )


async def _context(runtime: Runtime, source: str, line_no: int) -> Excerpt | None:
    """Only a file adminbot watches now is read, and what is read is redacted."""
    clean = Redactor.configured(runtime.config.redact).text
    try:
        path = watched_path(source, [f.path for f in runtime.monitor.watched()])
        return await asyncio.to_thread(
            around, path, line_no, before=CONTEXT_LINES, after=CONTEXT_LINES, clean=clean
        )
    except (NotWatched, OSError):
        return None


def audit_page(browse: Browse, page: int) -> tuple[list[AuditEntry], list[StateChange]]:
    offset = page * PAGE_SIZE
    return browse.audit(limit=PAGE_SIZE, offset=offset), browse.changes(
        limit=PAGE_SIZE, offset=offset
    )


@dataclass(frozen=True, slots=True)
class RuleRow:
    name: str
    severity: str
    policy: str
    fixes: tuple[str, ...]
    day: int
    week: int
    description: str


def rules(runtime: Runtime, trends: TrendStore) -> tuple[list[RuleRow], list[Kind]]:
    """Every rule with its matches over 24 h and 7 d, and the newest kinds of error."""
    now = runtime.clock()
    day = trends.recent(now - timedelta(days=1))
    week = trends.recent(now - timedelta(days=7))
    rows = [
        RuleRow(
            spec.name,
            spec.severity.value,
            spec.policy.value,
            tuple(kind.value for kind in spec.fixes),
            day.get(spec.name, 0),
            week.get(spec.name, 0),
            spec.description,
        )
        for spec in sorted(
            runtime.rules.values(), key=lambda spec: (-week.get(spec.name, 0), spec.name)
        )
    ]
    return rows, runtime.kinds.newest(30)
