"""Unusual error rates on synthetic hourly series."""

from __future__ import annotations

from adminbot.predict.rate import unusual

STEADY = [12] * 48  # two lines every ten minutes, for two days


def test_a_steady_rate_is_not_unusual() -> None:
    assert unusual(STEADY, recent=2) is None


def test_a_spike_at_eight_times_the_usual_rate_is_unusual() -> None:
    found = unusual(STEADY, recent=16 * 2 + 4)  # 36 lines in 10 min = 216/h
    assert found is not None
    assert round(found.factor) == 18
    assert found.usual.hours == 48


def test_a_spike_of_fewer_than_twenty_lines_is_not_unusual() -> None:
    assert unusual([1] * 48, recent=19) is None


def test_a_slow_ramp_moves_the_usual_rate_along_with_it() -> None:
    ramp = [100 + 4 * hour for hour in range(48)]  # four more lines each hour, up to 288/h
    assert unusual(ramp, recent=50) is None  # 300/h: the next step of the ramp


def test_too_little_history_never_alerts() -> None:
    assert unusual([12] * 5, recent=500) is None


def test_a_rule_that_was_silent_alerts_on_a_burst() -> None:
    assert unusual([0] * 48, recent=25) is not None
