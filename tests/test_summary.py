"""Summaries: period parsing and what /summary counts, over a real store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from adminbot.incidents.book import IncidentBook
from adminbot.incidents.summary import build_summary, parse_period
from adminbot.models import IncidentState, Match, Record, Severity, frozen_map
from adminbot.store.sqlite import Store
from tests.clocks import T0, FakeClock


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(tmp_path / "s.sqlite3")
    yield db
    db.close()


def match(rule: str, key: str) -> Match:
    record = Record(source="/log/bot.log", line_no=1, text=f"ERROR {rule} {key}")
    return Match(rule, Severity.ERROR, record, frozen_map({"path": key}), key)


def audit(
    store: Store, incident_id: int | None, ok: bool, at: datetime, kind: str = "retry"
) -> None:
    store.add_audit(
        incident_id=incident_id,
        actor="policy",
        kind=kind,
        operation=f"{kind} a.mp4",
        ok=ok,
        summary="done" if ok else "failed",
        now=at,
    )


# -- parse_period ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        (" 12H ", timedelta(hours=12)),
        ("9999w", timedelta(weeks=9999)),
    ],
)
def test_a_period_is_a_number_and_a_unit(text: str, expected: timedelta) -> None:
    assert parse_period(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "24", "h", "0h", "-1h", "1.5h", "1y", "10000m", "24 h", "24hours", "1h30m", "1e3m"],
)
def test_anything_else_is_not_a_period(text: str) -> None:
    assert parse_period(text) is None


# -- build_summary --------------------------------------------------------------------------


def test_an_empty_store_summarises_to_zeros(store: Store) -> None:
    summary = build_summary(store, T0 - timedelta(hours=24), T0)
    assert (summary.incidents, summary.occurrences, summary.lines) == (0, 0, 0)
    assert (summary.actions_run, summary.actions_ok, summary.actions_failed) == (0, 0, 0)
    assert summary.top == []
    assert summary.still_open == 0
    assert summary.resolved == 0
    assert summary.median_resolution is None


def test_summary_counts_incidents_actions_resolutions_and_lines(store: Store) -> None:
    clock = FakeClock(T0)
    book = IncidentBook(store, clock)
    old = book.record(match("timeout", "old.mp4")).incident  # before the period
    clock.advance(3 * 3600)
    since = clock.now
    store.count_lines(clock.now, 1000)
    timeouts = [book.record(match("timeout", "a.mp4")).incident for _ in range(5)]
    permisos = book.record(match("permisos", "b.mp4")).incident
    corrupt = book.record(match("corrupto", "c.mp4")).incident
    audit(store, old.id, True, T0)  # outside the period: not counted
    audit(store, timeouts[0].id, False, clock.now)
    clock.advance(60)
    audit(store, timeouts[0].id, True, clock.now)
    assert book.move(timeouts[0].id, IncidentState.RESOLVED, "policy") is not None  # 60 s
    clock.advance(60)
    assert book.move(permisos.id, IncidentState.RESOLVED, "@ana") is not None  # 120 s
    clock.advance(480)
    assert book.move(corrupt.id, IncidentState.RESOLVED, "@ana") is not None  # 600 s
    assert book.move(old.id, IncidentState.IGNORED, "@ana") is not None  # not a fix

    summary = build_summary(store, since, clock.now)

    assert summary.by_rule == {"timeout": (1, 5), "permisos": (1, 1), "corrupto": (1, 1)}
    assert (summary.incidents, summary.occurrences) == (3, 7)
    assert summary.lines == 1000
    assert (summary.actions_run, summary.actions_ok, summary.actions_failed) == (2, 1, 1)
    assert [i.id for i in summary.top][:1] == [timeouts[0].id]
    assert summary.top[0].count == 5
    assert summary.resolved == 3
    assert summary.median_resolution == timedelta(seconds=120)
    assert summary.still_open == 0
    assert (summary.since, summary.until) == (since, clock.now)


def test_still_open_counts_open_acknowledged_and_fixing(store: Store) -> None:
    book = IncidentBook(store, FakeClock())
    ids = [book.record(match("timeout", f"{n}.mp4")).incident.id for n in range(4)]
    book.move(ids[1], IncidentState.ACKNOWLEDGED, "@ana")
    book.move(ids[2], IncidentState.FIXING, "policy")
    book.move(ids[3], IncidentState.RESOLVED, "policy")
    assert build_summary(store, T0, T0).still_open == 3


def test_top_lists_the_five_most_repeated(store: Store) -> None:
    clock = FakeClock()
    book = IncidentBook(store, clock)
    for n in range(8):
        for _ in range(n + 1):
            book.record(match("timeout", f"{n}.mp4"))
            clock.advance(1)
    summary = build_summary(store, T0, clock.now)
    assert [i.count for i in summary.top] == [8, 7, 6, 5, 4]


def test_the_sessions_exact_line_count_wins_over_the_hourly_counts(store: Store) -> None:
    store.count_lines(T0, 5000)
    assert build_summary(store, T0, T0, lines=12).lines == 12
    assert build_summary(store, T0, T0).lines == 5000


def test_a_report_attached_to_an_alert_is_not_counted_as_an_action(store: Store) -> None:
    audit(store, 1, True, T0, kind="retry")
    audit(store, 1, True, T0, kind="report")  # remedies.REPORT_KIND: disk usage for an alert
    summary = build_summary(store, T0, T0)
    assert (summary.actions_run, summary.actions_ok, summary.actions_failed) == (1, 1, 0)
