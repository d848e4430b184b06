"""Whether a rule's error rate now is far above its usual one, from hourly counts.

The usual rate is an EWMA of the hourly counts and of their deviation; the last ten
minutes, scaled to an hour, are compared with it. Too little history says nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ALPHA = 0.1
MIN_HOURS = 24


@dataclass(frozen=True, slots=True)
class Usual:
    """A rule's usual lines per hour and how much that varies."""

    mean: float
    deviation: float
    hours: int


@dataclass(frozen=True, slots=True)
class Unusual:
    """The last window ran at `factor` times the usual rate."""

    factor: float
    per_hour: float
    usual: Usual


def usual(hourly: Sequence[int], alpha: float = ALPHA) -> Usual | None:
    """The EWMA mean and mean absolute deviation of `hourly` (oldest first)."""
    if not hourly:
        return None
    mean, deviation = float(hourly[0]), 0.0
    for count in hourly[1:]:
        deviation = (1 - alpha) * deviation + alpha * abs(count - mean)
        mean = (1 - alpha) * mean + alpha * count
    return Usual(mean, deviation, len(hourly))


def unusual(
    hourly: Sequence[int],
    recent: int,
    *,
    window_minutes: float = 10,
    factor: float = 5.0,
    min_lines: int = 20,
    min_hours: int = MIN_HOURS,
) -> Unusual | None:
    """`recent` lines in the last window, if they run at ≥ `factor` times the usual rate."""
    if len(hourly) < min_hours or recent < min_lines:
        return None
    found = usual(hourly)
    assert found is not None
    per_hour = recent * 60 / window_minutes
    baseline = max(found.mean + found.deviation, 1.0)  # a silent rule: one line an hour
    ratio = per_hour / baseline
    return Unusual(ratio, per_hour, found) if ratio >= factor else None
