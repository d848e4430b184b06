"""When scheduled maintenance happens: `[[maintenance]]` days, from, to, and what it covers.

Pure values and parsing, read by the configuration and by `maintenance`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_DAY = frozenset(range(7))
_CLOCK = re.compile(r"\s*([01]?\d|2[0-3]):([0-5]\d)\s*")


def parse_clock(text: object) -> time:
    """ "HH:MM" as a time of day; ValueError otherwise."""
    found = _CLOCK.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        raise ValueError(f'expected a time of day such as "09:00", got {text!r}')
    return time(int(found[1]), int(found[2]))


def parse_days(value: object) -> frozenset[int]:
    """Weekdays (Monday 0) from ["sat", "sun"], "mon-fri", "sat" or a list mixing them."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ValueError(f'expected day names such as ["sat", "sun"] or "mon-fri", got {value!r}')
    days: set[int] = set()
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"expected a day name, got {item!r}")
        first, _, last = item.strip().lower().partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"{item!r} is not a day or a range of days ({', '.join(DAYS)})")
        start = DAYS.index(first)
        end = DAYS.index(last) if last else start
        days.update((start + n) % 7 for n in range((end - start) % 7 + 1))
    return frozenset(days)


@dataclass(frozen=True, slots=True)
class Scope:
    """What a window covers: these rules (none: all) on these hosts (none: all)."""

    rules: frozenset[str] = frozenset()
    hosts: frozenset[str] = frozenset()

    def covers(self, rule: str, host: str) -> bool:
        return (not self.rules or rule in self.rules) and (not self.hosts or host in self.hosts)


@dataclass(frozen=True, slots=True)
class Scheduled:
    """One `[[maintenance]]` table: a daily window on `days` (the day it begins)."""

    index: int
    start: time
    end: time
    days: frozenset[int] = EVERY_DAY
    scope: Scope = Scope()

    def occurrence(self, moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
        """The occurrence (start, end) that `moment` lies in, if any."""
        local = moment.astimezone(zone)
        for day in (local.date(), local.date() - timedelta(days=1)):
            if day.weekday() not in self.days:
                continue
            start, end = self._bounds(day, zone)
            if start <= moment < end:
                return start, end
        return None

    def _bounds(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        start = datetime.combine(day, self.start, tzinfo=zone)
        end_day = day if self.end > self.start else day + timedelta(days=1)
        return start, datetime.combine(end_day, self.end, tzinfo=zone)
