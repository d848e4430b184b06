"""Quiet hours: which alert rings, which arrives silently, which waits for the morning.

A pure decision fed by the injected clock: the outbox asks it when it queues a row and
writes the answer into the row, so the sender only has to obey it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from adminbot.models import Severity

SILENT = "silent"
DIGEST = "digest"
QUIET_MODES = (SILENT, DIGEST)

_WINDOW = re.compile(r"\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)\s*")


class Hush(StrEnum):
    """What to do with one message now."""

    RING = "ring"
    SILENT = "silent"
    HOLD = "hold"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window in a time zone; `start > end` crosses midnight."""

    start: time
    end: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, text: str, zone: str) -> QuietHours:
        """From "23:00-07:00"; a window of zero length is refused as a mistake."""
        found = _WINDOW.fullmatch(text)
        if found is None:
            raise ValueError(f'expected a window such as "23:00-07:00", got {text!r}')
        start = time(int(found[1]), int(found[2]))
        end = time(int(found[3]), int(found[4]))
        if start == end:
            raise ValueError(f"the window {text!r} is empty")
        return cls(start, end, ZoneInfo(zone))

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone).time().replace(second=0, microsecond=0)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, moment: datetime) -> datetime:
        """When the window `moment` lies in ends (the next end, if it is outside)."""
        local = moment.astimezone(self.zone)
        end = datetime.combine(local.date(), self.end, tzinfo=self.zone)
        if end <= local:
            end += timedelta(days=1)
        return end


@dataclass(frozen=True, slots=True)
class QuietPolicy:
    """Quiet hours (None: never quiet) and what they do to non-critical messages."""

    hours: QuietHours | None = None
    mode: str = SILENT

    @classmethod
    def of(cls, window: str | None, mode: str, zone: str) -> QuietPolicy:
        return cls(QuietHours.parse(window, zone) if window else None, mode)

    def quiet(self, now: datetime) -> bool:
        return self.hours is not None and self.hours.contains(now)

    def alert(self, severity: Severity, now: datetime) -> Hush:
        """A new alert: critical ones always ring; the rest are hushed in quiet hours."""
        if severity is Severity.CRITICAL or not self.quiet(now):
            return Hush.RING
        return Hush.HOLD if self.mode == DIGEST else Hush.SILENT

    def message(self, urgent: bool, now: datetime) -> Hush:
        """A notice is never held (it may be the digest itself); only silenced."""
        return Hush.SILENT if not urgent and self.quiet(now) else Hush.RING
