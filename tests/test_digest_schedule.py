"""The digest's schedule: a wall-clock time a day in the admin's zone, across summer time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from adminbot.digest.schedule import DailyAt
from adminbot.incidents.schedule import parse_clock

MADRID = ZoneInfo("Europe/Madrid")


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [("09:00", time(9)), ("7:05", time(7, 5))])
def test_a_time_of_day_is_read_in_hours_and_minutes(text: str, expected: time) -> None:
    assert parse_clock(text) == expected


@pytest.mark.parametrize("text", ["9", "24:00", "09:60", "9am", "", "09:00-10:00"])
def test_anything_but_a_time_of_day_is_refused_saying_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="a time of day such as"):
        parse_clock(text)


def test_the_next_run_is_today_before_the_time_and_tomorrow_after_it() -> None:
    daily = DailyAt(time(9), MADRID)  # 09:00 in Madrid is 08:00 UTC in winter
    assert daily.next_after(utc(2026, 11, 30, 7, 59)) == utc(2026, 11, 30, 8, 0)
    assert daily.next_after(utc(2026, 11, 30, 8, 0)) == utc(2026, 12, 1, 8, 0)
    assert daily.last_at_or_before(utc(2026, 11, 30, 8, 0)) == utc(2026, 11, 30, 8, 0)
    assert daily.last_at_or_before(utc(2026, 11, 30, 7, 59)) == utc(2026, 11, 29, 8, 0)


def test_across_the_spring_change_the_run_stays_at_nine_on_the_clock() -> None:
    daily = DailyAt(time(9), MADRID)
    saturday = daily.next_after(utc(2026, 3, 28, 0, 0))
    sunday = daily.next_after(saturday)  # clocks went forward that night
    assert saturday == utc(2026, 3, 28, 8, 0)
    assert sunday == utc(2026, 3, 29, 7, 0)
    assert sunday - saturday == timedelta(hours=23)
    assert sunday.astimezone(MADRID).hour == 9


def test_across_the_autumn_change_the_run_stays_at_nine_on_the_clock() -> None:
    daily = DailyAt(time(9), MADRID)
    saturday = daily.next_after(utc(2026, 10, 24, 0, 0))
    sunday = daily.next_after(saturday)  # clocks went back that night
    assert sunday - saturday == timedelta(hours=25)
    assert sunday.astimezone(MADRID).hour == 9


def test_a_time_the_spring_change_skips_runs_an_hour_later_that_day_only() -> None:
    daily = DailyAt(time(2, 30), MADRID)
    runs = [daily.next_after(utc(2026, 3, 27, 12, 0))]
    for _ in range(2):
        runs.append(daily.next_after(runs[-1]))
    assert [r.astimezone(MADRID).strftime("%d %H:%M") for r in runs] == [
        "28 02:30",
        "29 03:30",
        "30 02:30",
    ]


def test_a_time_the_autumn_change_repeats_runs_once_that_day() -> None:
    daily = DailyAt(time(2, 30), MADRID)
    first = daily.next_after(utc(2026, 10, 24, 12, 0))
    after = daily.next_after(first)
    assert first.astimezone(MADRID).strftime("%d %H:%M") == "25 02:30"
    assert after.astimezone(MADRID).strftime("%d %H:%M") == "26 02:30"
    assert daily.last_at_or_before(first + timedelta(hours=1)) == first  # not the second 02:30


@pytest.mark.parametrize(
    ("zone", "expected_utc"),
    [("America/New_York", utc(2026, 11, 30, 14, 0)), ("Asia/Kolkata", utc(2026, 11, 30, 3, 30))],
)
def test_the_time_is_read_on_the_configured_zones_clock(zone: str, expected_utc: datetime) -> None:
    daily = DailyAt(time(9), ZoneInfo(zone))
    assert daily.next_after(expected_utc - timedelta(minutes=1)) == expected_utc


def test_after_days_down_the_latest_missed_run_is_the_one_due() -> None:
    daily = DailyAt(time(9), MADRID)
    back_up = utc(2026, 12, 3, 11, 30)  # down since the morning of the 30th
    assert daily.last_at_or_before(back_up) == utc(2026, 12, 3, 8, 0)
