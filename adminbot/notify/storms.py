"""Telling a storm of new incidents from ordinary traffic, one rule at a time.

Telegram takes about one message a second per chat: a rule that opens more new
incidents in a minute than `[alerts] storm_threshold` gets one storm message instead
of one alert each, until it calms down to half the threshold.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta


class StormWatch:
    """New incidents per rule over a sliding window."""

    def __init__(self, threshold: int, window: timedelta = timedelta(minutes=1)) -> None:
        self.threshold = threshold
        self.window = window
        self._opened: dict[str, deque[datetime]] = {}

    @property
    def enabled(self) -> bool:
        return self.threshold > 0

    def opened(self, rule: str, at: datetime) -> int:
        """Count one new incident of `rule`; returns how many the window now holds."""
        times = self._opened.setdefault(rule, deque())
        times.append(at)
        self._trim(times, at)
        return len(times)

    def storming(self, count: int) -> bool:
        """More new incidents in the window than Telegram should be asked to carry."""
        return self.enabled and count > self.threshold

    def first(self, rule: str, default: datetime) -> datetime:
        """When the oldest new incident still in the window was opened: the storm's start."""
        times = self._opened.get(rule)
        return times[0] if times else default

    def calm(self, rule: str, at: datetime) -> bool:
        """Down to half the threshold in the window: alerts may go one by one again."""
        times = self._opened.get(rule)
        if times is None:
            return True
        self._trim(times, at)
        return len(times) <= self.threshold // 2

    def forget(self, rule: str) -> None:
        self._opened.pop(rule, None)

    def _trim(self, times: deque[datetime], at: datetime) -> None:
        start = at - self.window
        while times and times[0] <= start:
            times.popleft()
