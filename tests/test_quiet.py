"""Quiet hours: the window in the admin's zone, and what it does to each message."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adminbot.incidents.book import IncidentBook
from adminbot.models import Match, Record, Severity, frozen_map
from adminbot.notify.notices import QuietDigest, notice_from_payload
from adminbot.notify.outbox import ALERT, MESSAGE, SILENT_FIELD, UPDATE, Outbox
from adminbot.notify.quiet import DIGEST, SILENT, Hush, QuietHours, QuietPolicy
from adminbot.store.sqlite import Store
from tests.clocks import FakeClock

MADRID = "Europe/Madrid"
NIGHT = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)  # 00:30 in Madrid
MORNING = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # 07:00 in Madrid
FAR = NIGHT.replace(year=2030)


def match(key: str, severity: Severity = Severity.ERROR, rule: str = "permisos") -> Match:
    record = Record(source="/log/bot.log", line_no=1, text=f"ERROR {rule} {key}")
    return Match(rule, severity, record, frozen_map({"path": key}), key)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(tmp_path / "s.sqlite3")
    yield db
    db.close()


def test_a_window_that_crosses_midnight_holds_both_sides_in_the_local_zone() -> None:
    hours = QuietHours.parse("23:00-07:00", MADRID)
    assert hours.contains(datetime(2026, 11, 29, 22, 0, tzinfo=UTC))  # 23:00 Madrid
    assert hours.contains(NIGHT)
    assert hours.contains(datetime(2026, 11, 30, 5, 59, tzinfo=UTC))  # 06:59 Madrid
    assert not hours.contains(MORNING)
    assert not hours.contains(datetime(2026, 11, 29, 21, 59, tzinfo=UTC))  # 22:59 Madrid


def test_a_daytime_window_does_not_wrap() -> None:
    hours = QuietHours.parse("12:00-14:00", "UTC")
    assert hours.contains(datetime(2026, 1, 1, 13, 0, tzinfo=UTC))
    assert not hours.contains(datetime(2026, 1, 1, 23, 0, tzinfo=UTC))


@pytest.mark.parametrize("text", ["23-07", "25:00-07:00", "07:00-07:00", "", "night"])
def test_a_malformed_window_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="window"):
        QuietHours.parse(text, "UTC")


def test_critical_alerts_ring_and_the_rest_are_hushed_during_quiet_hours() -> None:
    silent = QuietPolicy.of("23:00-07:00", SILENT, MADRID)
    digest = QuietPolicy.of("23:00-07:00", DIGEST, MADRID)
    assert silent.alert(Severity.CRITICAL, NIGHT) is Hush.RING
    assert silent.alert(Severity.ERROR, NIGHT) is Hush.SILENT
    assert digest.alert(Severity.WARNING, NIGHT) is Hush.HOLD
    assert digest.alert(Severity.ERROR, MORNING) is Hush.RING
    assert QuietPolicy().alert(Severity.INFO, NIGHT) is Hush.RING


def test_notices_in_quiet_hours_are_silent_unless_urgent() -> None:
    policy = QuietPolicy.of("23:00-07:00", DIGEST, MADRID)
    assert policy.message(False, NIGHT) is Hush.SILENT
    assert policy.message(True, NIGHT) is Hush.RING
    assert policy.message(False, MORNING) is Hush.RING


def test_silent_mode_queues_a_non_critical_alert_without_sound_and_a_critical_one_ringing(
    store: Store,
) -> None:
    clock = FakeClock(NIGHT)
    book = IncidentBook(store, clock)
    outbox = Outbox(store, [5], clock=clock, quiet=QuietPolicy.of("23:00-07:00", SILENT, MADRID))
    outbox.incident_event(book.record(match("/a", Severity.ERROR)))
    outbox.incident_event(book.record(match("/b", Severity.CRITICAL, "disco_lleno")))
    silent = {i.incident_id: bool(i.payload.get(SILENT_FIELD)) for i in store.due(FAR)}
    assert list(silent.values()).count(True) == 1
    critical = [i for i in store.due(FAR) if i.payload.get(SILENT_FIELD) is None]
    assert len(critical) == 1


def test_digest_mode_holds_alerts_and_their_repeats_then_sends_one_notice_when_quiet_hours_end(
    store: Store,
) -> None:
    clock = FakeClock(NIGHT)
    book = IncidentBook(store, clock)
    quiet = QuietPolicy.of("23:00-07:00", DIGEST, MADRID)
    outbox = Outbox(store, [5], clock=clock, quiet=quiet)
    outbox.incident_event(book.record(match("/a")))
    outbox.incident_event(book.record(match("/a")))
    outbox.incident_event(book.record(match("/b", Severity.WARNING, "timeout")))
    outbox.incident_event(book.record(match("/c", Severity.CRITICAL, "disco_lleno")))
    assert [i.kind for i in store.due(FAR)] == [ALERT]  # only the critical one
    outbox.settle()
    assert len(store.due(FAR)) == 1
    clock.now = MORNING
    outbox.settle()
    outbox.settle()
    messages = [i for i in store.due(FAR) if i.kind == MESSAGE]
    assert len(messages) == 1
    digest = notice_from_payload(messages[0].payload)
    assert isinstance(digest, QuietDigest)
    assert [(h.rule, h.count) for h in digest.held] == [("permisos", 2), ("timeout", 1)]
    assert UPDATE not in [i.kind for i in store.due(FAR)]


def test_held_alerts_survive_a_restart(store: Store) -> None:
    clock = FakeClock(NIGHT)
    quiet = QuietPolicy.of("23:00-07:00", DIGEST, MADRID)
    outbox = Outbox(store, [5], clock=clock, quiet=quiet)
    outbox.incident_event(IncidentBook(store, clock).record(match("/a")))
    clock.now = MORNING
    Outbox(store, [5], clock=clock, quiet=quiet).settle()
    assert [i.payload["kind"] for i in store.due(FAR)] == ["quiet_digest"]
