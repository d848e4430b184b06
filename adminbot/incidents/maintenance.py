"""Maintenance windows: while one covers an incident, it is recorded but nobody is told.

A window is ad hoc (`/maintenance 30m`, kept in the store so it survives a restart) or
scheduled (`[[maintenance]]`: days, from, to in the configured time zone, which may
cross midnight). Each window that began is a store row; what the incidents it covered
did is tallied there, and when the window ends one summary is queued (compare-and-set
on the row, so several hosts sharing a store send it once).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from adminbot.clock import Clock, utcnow
from adminbot.incidents.schedule import Scheduled, Scope
from adminbot.store.noise import NoiseStore, WindowRow

TOP_KEYS = 5
UTC_ZONE = ZoneInfo("UTC")


class Origin(StrEnum):
    ADHOC = "adhoc"
    SCHEDULED = "scheduled"


@dataclass(frozen=True, slots=True)
class RuleTally:
    """What one rule did during a maintenance window: new incidents, matching lines."""

    rule: str
    opened: int
    hits: int


@dataclass(frozen=True, slots=True)
class KeyTally:
    rule: str
    key: str
    hits: int


@dataclass(frozen=True, slots=True)
class WindowSummary:
    """A maintenance window ended: what the incidents it covered did meanwhile (told to
    the admin as a `MaintenanceOver` notice, `adminbot.notify.notices`)."""

    origin: str
    starts: datetime
    ends: datetime
    rules: tuple[str, ...]
    hosts: tuple[str, ...]
    by_rule: tuple[RuleTally, ...]
    top: tuple[KeyTally, ...]


@dataclass(frozen=True, slots=True)
class Window:
    """A window that began: its store row, its bounds and what it covers."""

    id: int
    origin: Origin
    starts: datetime
    ends: datetime
    scope: Scope
    by: str

    @classmethod
    def of(cls, row: WindowRow) -> Window:
        scope = Scope(frozenset(row.rules), frozenset(row.hosts))
        return cls(row.id, Origin(row.origin), row.starts, row.ends, scope, row.by)


class Maintenance:
    """Starts, lists, ends and sums up maintenance windows."""

    def __init__(
        self,
        store: NoiseStore,
        schedules: Sequence[Scheduled] = (),
        zone: ZoneInfo = UTC_ZONE,
        clock: Clock = utcnow,
    ) -> None:
        self.store = store
        self.schedules = tuple(schedules)
        self.zone = zone
        self.clock = clock
        self._begun: set[tuple[int, datetime]] = set()

    def start(self, duration: timedelta, scope: Scope, by: str) -> Window:
        """An ad-hoc window from now, for `duration`."""
        now = self.clock()
        rules, hosts = sorted(scope.rules), sorted(scope.hosts)
        row = self.store.add_window(Origin.ADHOC.value, by, rules, hosts, now, now + duration, by)
        return Window.of(row)

    def active(self, now: datetime | None = None) -> list[Window]:
        """Every window open at `now`, ad hoc and scheduled, ending soonest first."""
        now = now or self.clock()
        self._begin_scheduled(now)
        return sorted((Window.of(r) for r in self.store.open_windows(now)), key=_ending)

    def covering(self, rule: str, host: str, now: datetime) -> list[Window]:
        return [w for w in self.active(now) if w.scope.covers(rule, host)]

    def end_adhoc(self) -> int:
        """`/maintenance off`: the ad-hoc windows end now; the scheduled ones go on."""
        return self.store.end_windows(Origin.ADHOC.value, self.clock())

    def close_due(self) -> list[WindowSummary]:
        """The summaries of the windows that ended and were not summed up yet (once each)."""
        now = self.clock()
        self._begin_scheduled(now, recheck=True)
        over = []
        for row in self.store.due_windows(now):
            if not self.store.close_window(row.id, now):
                continue  # another host summed it up
            by_rule, top = self.store.window_tally(row.id, TOP_KEYS)
            self.store.forget_hits(row.id)
            window = Window.of(row)
            over.append(
                WindowSummary(
                    window.origin.value,
                    window.starts,
                    window.ends,
                    tuple(sorted(window.scope.rules)),
                    tuple(sorted(window.scope.hosts)),
                    tuple(RuleTally(rule, new, hits) for rule, new, hits in by_rule),
                    tuple(KeyTally(rule, key, hits) for rule, key, hits in top),
                )
            )
        return over

    def _begin_scheduled(self, now: datetime, *, recheck: bool = False) -> None:
        """Give each scheduled occurrence under way its row, so it is summed up at its end.

        `recheck` (the periodic job) looks in the store again: a row written inside a
        batch's transaction that was rolled back (a full disk) is written again."""
        for schedule in self.schedules:
            found = schedule.occurrence(now, self.zone)
            if found is None:
                continue
            name = str(schedule.index)
            if (schedule.index, found[0]) in self._begun and not (
                recheck and not self.store.has_window(Origin.SCHEDULED.value, name, found[0])
            ):
                continue
            scope = schedule.scope
            self.store.add_window(
                Origin.SCHEDULED.value,
                name,
                sorted(scope.rules),
                sorted(scope.hosts),
                found[0],
                found[1],
                "schedule",
            )
            self._begun.add((schedule.index, found[0]))


def _ending(window: Window) -> datetime:
    return window.ends


def scope_of(rules: Iterable[str], hosts: Iterable[str]) -> Scope:
    return Scope(frozenset(rules), frozenset(hosts))
