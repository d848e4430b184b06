"""History over a window, on both backends: new incidents per hour and rule, per host, disk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adminbot.models import Match, Record, Severity, frozen_map
from adminbot.store.history import HistoryStore
from adminbot.store.rows import UsageSample
from adminbot.store.sqlite import Store
from adminbot.store.trends import TrendStore

NINE = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def match(rule: str, key: str) -> Match:
    record = Record(source="/log/bot.log", line_no=1, text=f"ERROR {rule} {key}")
    return Match(rule, Severity.ERROR, record, frozen_map({}), key)


def opened(store: Store, rule: str, key: str, at: datetime) -> None:
    store.record_match(match(rule, key), at, "tok")


@pytest.fixture
def store(any_store: Store) -> Store:
    return any_store


def test_new_incidents_are_counted_in_the_hour_they_first_appeared(store: Store) -> None:
    since = NINE - timedelta(hours=24)
    opened(store, "timeout", "a", since + timedelta(minutes=10))  # hour 0
    opened(store, "timeout", "b", since + timedelta(minutes=50))  # hour 0
    opened(store, "permisos", "c", since + timedelta(hours=5, minutes=1))  # hour 5
    opened(store, "timeout", "a", NINE - timedelta(minutes=1))  # a repeat: not new
    opened(store, "timeout", "old", since - timedelta(minutes=1))  # before the window
    opened(store, "timeout", "late", NINE)  # the window ends before it

    counts = HistoryStore(store).incidents_per_hour(since, NINE)

    assert (counts.start, counts.hours, counts.total) == (since, 24, 3)
    assert counts.by_rule["timeout"][0] == 2
    assert counts.by_rule["permisos"][5] == 1
    assert sum(counts.by_rule["permisos"]) == 1
    assert all(len(series) == 24 for series in counts.by_rule.values())


def test_a_window_that_does_not_start_on_the_hour_counts_its_first_and_last_part_hours(
    store: Store,
) -> None:
    since = NINE - timedelta(hours=24, minutes=-20)  # 09:20 yesterday
    until = NINE + timedelta(minutes=20)
    opened(store, "timeout", "a", until - timedelta(minutes=5))

    counts = HistoryStore(store).incidents_per_hour(since, until)

    assert counts.hours == 25 and counts.by_rule["timeout"][-1] == 1


def test_an_empty_window_has_no_series(store: Store) -> None:
    counts = HistoryStore(store).incidents_per_hour(NINE - timedelta(hours=24), NINE)
    assert counts.by_rule == {} and counts.total == 0


def test_disk_usage_is_this_hosts_readings_per_folder_oldest_first(store: Store) -> None:
    trends = TrendStore(store)
    for minutes in (50, 10, 30):
        at = NINE - timedelta(minutes=minutes)
        trends.add_disk_sample("/srv/a", UsageSample(at, minutes, 100))
    trends.add_disk_sample("/srv/b", UsageSample(NINE - timedelta(hours=30), 1, 100))

    usage = HistoryStore(store).disk_usage(NINE - timedelta(hours=24), NINE)

    assert list(usage) == ["/srv/a"]
    assert [s.used for s in usage["/srv/a"]] == [50, 30, 10]


def test_incidents_are_counted_per_host(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    one, two = Store(path, host="one"), Store(path, host="two")
    opened(one, "timeout", "a", NINE - timedelta(hours=1))
    opened(one, "timeout", "b", NINE - timedelta(hours=2))
    opened(two, "timeout", "a", NINE - timedelta(hours=1))
    opened(two, "timeout", "old", NINE - timedelta(days=3))

    assert HistoryStore(one).incidents_by_host(NINE - timedelta(hours=24)) == {"one": 2, "two": 1}
    one.close()
    two.close()
