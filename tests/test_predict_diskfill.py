"""Disk-full forecasts on synthetic usage series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adminbot.predict.diskfill import forecast, slope
from adminbot.store.rows import UsageSample

GB = 1024**3
T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
HORIZON = timedelta(hours=6)


def _series(start_gb: float, gb_per_hour: float, minutes: int = 60) -> list[UsageSample]:
    return [
        UsageSample(
            T0 + timedelta(minutes=m), int((start_gb + gb_per_hour * m / 60) * GB), 100 * GB
        )
        for m in range(0, minutes + 1, 5)
    ]


def test_a_steady_fill_gives_the_time_left_to_the_critical_level() -> None:
    found = forecast(_series(85, 2.0), crit_percent=95, horizon=HORIZON)
    assert found is not None
    assert abs(found.eta - timedelta(hours=4)) < timedelta(minutes=1)  # 87 GB now, 95 at 2 GB/h
    assert abs(found.rate_per_hour / GB - 2.0) < 0.01


def test_a_fill_beyond_the_horizon_is_no_forecast() -> None:
    assert forecast(_series(10, 1.0), crit_percent=95, horizon=HORIZON) is None


def test_a_disk_that_does_not_fill_has_no_forecast() -> None:
    assert forecast(_series(90, 0.0), crit_percent=95, horizon=HORIZON) is None


def test_a_shrinking_disk_has_no_forecast() -> None:
    assert forecast(_series(93, -3.0), crit_percent=95, horizon=HORIZON) is None


def test_too_few_or_too_close_samples_give_no_forecast() -> None:
    assert forecast(_series(85, 20.0)[:3], crit_percent=95, horizon=HORIZON) is None
    assert forecast(_series(85, 20.0, minutes=5), crit_percent=95, horizon=HORIZON) is None


def test_an_already_critical_disk_is_left_to_the_threshold_check() -> None:
    assert forecast(_series(96, 1.0), crit_percent=95, horizon=HORIZON) is None


def test_the_slope_of_a_line_is_its_rate() -> None:
    assert slope([(0, 1), (1, 3), (2, 5)]) == 2.0
    assert slope([(1, 1), (1, 5)]) == 0.0
