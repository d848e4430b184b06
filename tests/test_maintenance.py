"""Maintenance windows: scheduled days and hours (across midnight too), ad-hoc windows in
the store, and one summary per window when it ends."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adminbot.incidents.maintenance import Maintenance, Origin
from adminbot.incidents.schedule import Scheduled, Scope, parse_clock, parse_days
from adminbot.store.noise import NoiseStore
from adminbot.store.sqlite import Store
from tests.clocks import FakeClock

MADRID = ZoneInfo("Europe/Madrid")


@pytest.mark.parametrize(
    ("value", "days"),
    [
        (["sat", "sun"], {5, 6}),
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("fri-mon", {4, 5, 6, 0}),
        ("Wed", {2}),
        (["mon", "thu-fri"], {0, 3, 4}),
    ],
)
def test_days_are_names_ranges_or_lists_of_both(value: object, days: set[int]) -> None:
    assert parse_days(value) == days


@pytest.mark.parametrize("value", ["someday", [], ["mon", 3], "mon-xyz", 5])
def test_days_that_are_not_days_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_days(value)


def test_times_are_hours_and_minutes() -> None:
    assert parse_clock("7:05") == time(7, 5)
    with pytest.raises(ValueError):
        parse_clock("24:00")


def test_a_daytime_window_covers_its_hours_on_its_days_only() -> None:
    nightly = Scheduled(0, time(3, 0), time(3, 30), parse_days("mon-fri"))
    tuesday = datetime(2026, 12, 1, 3, 10, tzinfo=MADRID)
    saturday = datetime(2026, 12, 5, 3, 10, tzinfo=MADRID)
    found = nightly.occurrence(tuesday, MADRID)
    assert found == (
        datetime(2026, 12, 1, 3, 0, tzinfo=MADRID),
        datetime(2026, 12, 1, 3, 30, tzinfo=MADRID),
    )
    assert nightly.occurrence(saturday, MADRID) is None
    assert nightly.occurrence(tuesday.replace(minute=30), MADRID) is None  # the end is outside


def test_a_window_crossing_midnight_belongs_to_the_day_it_begins() -> None:
    friday_night = Scheduled(0, time(23, 0), time(1, 0), parse_days("fri"))
    after_midnight = datetime(2026, 12, 5, 0, 30, tzinfo=MADRID)  # Saturday 00:30
    start, end = friday_night.occurrence(after_midnight, MADRID) or (None, None)
    assert start == datetime(2026, 12, 4, 23, 0, tzinfo=MADRID)
    assert end == datetime(2026, 12, 5, 1, 0, tzinfo=MADRID)
    saturday_night = datetime(2026, 12, 5, 23, 30, tzinfo=MADRID)
    assert friday_night.occurrence(saturday_night, MADRID) is None
    sunday_early = datetime(2026, 12, 6, 0, 30, tzinfo=MADRID)
    assert friday_night.occurrence(sunday_early, MADRID) is None


def test_a_window_is_read_in_the_configured_zone() -> None:
    window = Scheduled(0, time(2, 0), time(4, 0))
    in_madrid = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)  # 02:30 in Madrid
    assert window.occurrence(in_madrid, MADRID) is not None
    assert window.occurrence(in_madrid, ZoneInfo("UTC")) is None


def test_an_adhoc_window_survives_a_restart_and_ends_with_one_summary(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    store = Store(tmp_path / "s.sqlite3", host="h1")
    maintenance = Maintenance(NoiseStore(store), clock=clock)
    window = maintenance.start(timedelta(minutes=30), Scope(frozenset({"timeout"})), "Ana")
    store.close()
    again = Store(tmp_path / "s.sqlite3", host="h1")
    maintenance = Maintenance(NoiseStore(again), clock=clock)
    (active,) = maintenance.active()
    assert (active.id, active.origin, active.scope.rules) == (
        window.id,
        Origin.ADHOC,
        frozenset({"timeout"}),
    )
    assert maintenance.close_due() == []
    clock.advance(31 * 60)
    assert maintenance.active() == []
    (over,) = maintenance.close_due()
    assert over.rules == ("timeout",) and over.by_rule == ()
    assert maintenance.close_due() == []


def test_off_ends_adhoc_windows_but_not_scheduled_ones(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    daily = Scheduled(0, time(9, 0), time(12, 0))
    maintenance = Maintenance(NoiseStore(Store(tmp_path / "s.sqlite3")), [daily], clock=clock)
    maintenance.start(timedelta(hours=1), Scope(), "Ana")
    assert len(maintenance.active()) == 2
    assert maintenance.end_adhoc() == 1
    (left,) = maintenance.active()
    assert left.origin is Origin.SCHEDULED
    (over,) = maintenance.close_due()
    assert over.origin == "adhoc"


def test_a_scheduled_window_is_summed_up_once_when_it_ends(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    daily = Scheduled(0, time(9, 0), time(12, 0), scope=Scope(hosts=frozenset({"web1"})))
    maintenance = Maintenance(NoiseStore(Store(tmp_path / "s.sqlite3")), [daily], clock=clock)
    assert maintenance.close_due() == []
    clock.advance(2 * 3600)
    (over,) = maintenance.close_due()
    assert over.origin == "scheduled" and over.hosts == ("web1",)
    assert over.ends == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert maintenance.close_due() == []


def test_a_scheduled_window_lost_with_a_rolled_back_batch_is_begun_again(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    store = Store(tmp_path / "s.sqlite3")
    maintenance = Maintenance(
        NoiseStore(store), [Scheduled(0, time(9, 0), time(12, 0))], clock=clock
    )
    with pytest.raises(RuntimeError), store.transaction():
        assert len(maintenance.active()) == 1
        raise RuntimeError("the batch could not commit")
    assert maintenance.close_due() == []
    clock.advance(2 * 3600)
    (over,) = maintenance.close_due()
    assert over.origin == "scheduled"
