"""Clocks a test moves by hand, for code that takes its clock as an injected callable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)  # 11:00 in Madrid


class FakeClock:
    """Wall-clock time as an aware UTC datetime; it stands still until the test moves it."""

    def __init__(self, start: datetime = T0) -> None:
        if start.utcoffset() != timedelta(0):
            raise ValueError(f"a fake clock runs on aware UTC time, not {start!r}")
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeMonotonic:
    """Seconds from an arbitrary start, as time.monotonic() counts them; moved by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
