"""When a folder's disk reaches its critical level at the current rate, by least squares.

Samples are (time, used bytes) of the last hour, as the store keeps them
(`adminbot.store.rows.UsageSample`); the fitted slope is the fill rate.
A forecast is given only for a real trend: enough samples spread over enough time, a
positive slope, and the critical level reached within the horizon.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from adminbot.store.rows import UsageSample

MIN_SAMPLES = 4
MIN_SPAN = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class FillForecast:
    """At `rate` bytes per hour the disk reaches its critical level in `eta`."""

    eta: timedelta
    rate_per_hour: float
    used: int
    critical_used: int


def slope(points: Sequence[tuple[float, float]]) -> float:
    """The least-squares slope of y over x (0 if the x values do not vary)."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def forecast(
    samples: Sequence[UsageSample], crit_percent: float, horizon: timedelta
) -> FillForecast | None:
    """The fill forecast if the trend reaches `crit_percent` within `horizon`, else None."""
    if len(samples) < MIN_SAMPLES:
        return None
    ordered = sorted(samples, key=lambda s: s.at)
    start, latest = ordered[0], ordered[-1]
    if latest.at - start.at < MIN_SPAN or latest.total <= 0:
        return None
    points = [((s.at - start.at).total_seconds(), float(s.used)) for s in ordered]
    per_second = slope(points)
    if per_second <= 0:
        return None
    critical_used = int(latest.total * crit_percent / 100)
    seconds_since = (latest.at - start.at).total_seconds()
    intercept = sum(y for _, y in points) / len(points) - per_second * (
        sum(x for x, _ in points) / len(points)
    )
    fitted_now = intercept + per_second * seconds_since
    left = critical_used - max(fitted_now, float(latest.used))
    if left <= 0:
        return None  # already critical: the threshold check says so, not a forecast
    eta = timedelta(seconds=left / per_second)
    if eta > horizon:
        return None
    return FillForecast(eta, per_second * 3600, latest.used, critical_used)
