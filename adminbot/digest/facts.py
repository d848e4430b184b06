"""What the daily digest tells, as facts: counts by type and host, fixes, what is still open.

The digest's words are the renderer's (handlers/); this module gathers the numbers
from the store once, when the digest is queued, and the chart's series when it is
drawn.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adminbot.incidents.summary import ACTION_KINDS, OPEN_STATES
from adminbot.store.api import StoreApi
from adminbot.store.history import HistoryStore, HourlyCounts
from adminbot.store.rows import UsageSample

TOP_OPEN = 5
OPEN_SCAN = 200
WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Count:
    """How many of one thing: incidents of a type or a host, with their matched lines."""

    name: str
    incidents: int
    hits: int = 0


@dataclass(frozen=True, slots=True)
class FixCount:
    """The runs of one kind of fix in the window and how they ended."""

    kind: str
    ok: int
    failed: int

    @property
    def run(self) -> int:
        return self.ok + self.failed


@dataclass(frozen=True, slots=True)
class OpenIncident:
    """An incident still open when the digest was made."""

    id: int
    rule: str
    host: str
    count: int


@dataclass(frozen=True, slots=True)
class DigestFacts:
    """The window's incidents by type and host, the fixes run, what is still open."""

    since: datetime
    until: datetime
    by_rule: tuple[Count, ...]
    by_host: tuple[Count, ...]
    fixes: tuple[FixCount, ...]
    still_open: int
    open_by_rule: tuple[Count, ...]
    top_open: tuple[OpenIncident, ...]

    @property
    def incidents(self) -> int:
        return sum(c.incidents for c in self.by_rule)

    @property
    def hits(self) -> int:
        return sum(c.hits for c in self.by_rule)

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "by_rule": [[c.name, c.incidents, c.hits] for c in self.by_rule],
            "by_host": [[c.name, c.incidents] for c in self.by_host],
            "fixes": [[f.kind, f.ok, f.failed] for f in self.fixes],
            "still_open": self.still_open,
            "open_by_rule": [[c.name, c.incidents] for c in self.open_by_rule],
            "top_open": [[i.id, i.rule, i.host, i.count] for i in self.top_open],
        }

    @classmethod
    def from_json(cls, p: Mapping[str, Any]) -> DigestFacts:
        return cls(
            since=datetime.fromisoformat(p["since"]),
            until=datetime.fromisoformat(p["until"]),
            by_rule=tuple(Count(str(r), int(n), int(h)) for r, n, h in p["by_rule"]),
            by_host=tuple(Count(str(h), int(n)) for h, n in p["by_host"]),
            fixes=tuple(FixCount(str(k), int(ok), int(bad)) for k, ok, bad in p["fixes"]),
            still_open=int(p["still_open"]),
            open_by_rule=tuple(Count(str(r), int(n)) for r, n in p["open_by_rule"]),
            top_open=tuple(
                OpenIncident(int(i), str(r), str(h), int(c)) for i, r, h, c in p["top_open"]
            ),
        )


def build_digest(
    store: StoreApi, history: HistoryStore, since: datetime, until: datetime, *, top: int = TOP_OPEN
) -> DigestFacts:
    """Gather the digest's facts for the window from `since` to `until`.

    1. Incidents seen in the window by type (with their matched lines) and by host.
    2. Fixes from the audit (not the disk reports it also keeps), by kind and outcome.
    3. What is open now: how many, per type, and the `top` with the most matches.
    """
    by_rule = [Count(r, n, h) for r, (n, h) in store.incident_counts(since).items()]
    by_host = [Count(h, n) for h, n in history.incidents_by_host(since).items()]
    ok: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for entry in store.audit(since=since):
        if entry.kind in ACTION_KINDS and entry.at < until:
            (ok if entry.ok else failed)[entry.kind] += 1
    fixes = [FixCount(k, ok[k], failed[k]) for k in sorted(ok.keys() | failed.keys())]
    still_open = store.count_incidents(states=OPEN_STATES)
    found = store.incidents(states=OPEN_STATES, limit=OPEN_SCAN)
    biggest = sorted(found, key=lambda i: (-i.count, i.id))[:top]
    return DigestFacts(
        since=since,
        until=until,
        by_rule=tuple(sorted(by_rule, key=lambda c: (-c.incidents, c.name))),
        by_host=tuple(sorted(by_host, key=lambda c: (-c.incidents, c.name))),
        fixes=tuple(sorted(fixes, key=lambda f: (-f.run, f.kind))),
        still_open=still_open,
        open_by_rule=tuple(
            sorted((Count(r, n) for r, n in store.open_counts().items()), key=_most)
        ),
        top_open=tuple(OpenIncident(i.id, i.rule, i.host, i.count) for i in biggest),
    )


def _most(count: Count) -> tuple[int, str]:
    return -count.incidents, count.name


@dataclass(frozen=True, slots=True)
class ChartData:
    """The chart's series: new incidents per hour by type, and disk usage per folder."""

    since: datetime
    until: datetime
    hourly: HourlyCounts
    disks: Mapping[str, tuple[UsageSample, ...]]


def chart_data(history: HistoryStore, since: datetime, until: datetime) -> ChartData:
    """The series for a chart of the window, read from the store when it is drawn."""
    return ChartData(
        since,
        until,
        history.incidents_per_hour(since, until),
        history.disk_usage(since, until),
    )
