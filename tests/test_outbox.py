"""The outbox's decisions: priorities, coalesced edits, storms of one rule, at most one re-send."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adminbot.incidents.book import IncidentBook
from adminbot.models import Match, Record, Severity, frozen_map
from adminbot.notify.notices import Started
from adminbot.notify.outbox import ALERT, MESSAGE, UPDATE, Outbox
from adminbot.notify.priority import Priority
from adminbot.notify.storms import STORM
from adminbot.store.sqlite import Store
from tests.clocks import T0, FakeClock

FAR = T0.replace(year=2030)


def match(
    rule: str = "permisos", key: str = "/srv/a.mp4", severity: Severity = Severity.ERROR
) -> Match:
    record = Record(source="/log/bot.log", line_no=1, text=f"ERROR {rule} {key}")
    return Match(rule, severity, record, frozen_map({"path": key}), key)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(tmp_path / "s.sqlite3")
    yield db
    db.close()


def send_all(store: Store) -> None:
    for item in store.due(FAR, limit=10_000):
        assert store.claim(item.id)
        store.mark_sent(item.id, T0)


def test_a_new_critical_alert_overtakes_queued_edits_and_notices(store: Store) -> None:
    clock = FakeClock()
    book = IncidentBook(store, clock)
    outbox = Outbox(store, [5], clock=clock)
    outbox.notice(Started())
    for n in range(3):
        outbox.incident_changed(100 + n)
    outbox.incident_event(book.record(match("timeout", "/a", Severity.WARNING)))
    outbox.incident_event(book.record(match("permisos", "/b", Severity.ERROR)))
    outbox.incident_event(book.record(match("disco_lleno", "/c", Severity.CRITICAL)))
    order = [(i.kind, i.priority) for i in store.due(clock.now)]
    assert order == [
        (ALERT, Priority.CRITICAL),
        (ALERT, Priority.ERROR),
        (MESSAGE, Priority.NOTICE),
        (ALERT, Priority.NOTICE),
        (UPDATE, Priority.EDIT),
        (UPDATE, Priority.EDIT),
        (UPDATE, Priority.EDIT),
    ]
    assert [i.incident_id for i in store.due(clock.now)][-3:] == [100, 101, 102]


def test_one_pending_update_per_incident_and_chat_keeps_its_place(store: Store) -> None:
    clock = FakeClock()
    outbox = Outbox(store, [5], clock=clock)
    outbox.incident_changed(1)
    outbox.incident_changed(2)
    for _ in range(50):
        outbox.incident_changed(1)
        outbox.incident_changed(2)
    assert [i.incident_id for i in store.due(clock.now)] == [1, 2]


def test_an_alert_asked_for_an_incident_with_a_pending_update_turns_it_into_the_alert(
    store: Store,
) -> None:
    clock = FakeClock()
    book = IncidentBook(store, clock)
    outbox = Outbox(store, [5], clock=clock)
    incident = book.record(match(severity=Severity.CRITICAL)).incident
    outbox.incident_changed(incident.id)
    outbox.alert(incident.id)
    due = store.due(clock.now)
    assert [(i.kind, i.priority) for i in due] == [(ALERT, Priority.CRITICAL)]


def test_more_new_incidents_of_one_rule_than_the_threshold_become_one_storm_message(
    store: Store,
) -> None:
    clock = FakeClock()
    book = IncidentBook(store, clock)
    outbox = Outbox(store, [5], clock=clock, storm_threshold=10)
    for n in range(300):
        outbox.incident_event(book.record(match(key=f"/srv/{n}.mp4")))
        clock.advance(0.01)
    due = store.due(clock.now, limit=1000)
    assert [i.kind for i in due] == [STORM]
    assert outbox.storming == ("permisos",)
    storm = store.storm(due[0].storm_id or 0)
    assert storm is not None and storm.incidents == 300
    assert storm.top_files == (("/log/bot.log", 300),)


def test_a_critical_of_another_rule_still_gets_its_own_alert_first_during_a_storm(
    store: Store,
) -> None:
    clock = FakeClock()
    book = IncidentBook(store, clock)
    outbox = Outbox(store, [5], clock=clock, storm_threshold=10)
    for n in range(50):
        outbox.incident_event(book.record(match(key=f"/srv/{n}.mp4")))
    outbox.incident_event(book.record(match("disco_lleno", "/srv", Severity.CRITICAL)))
    due = store.due(clock.now)
    assert [(i.kind, i.priority) for i in due] == [
        (ALERT, Priority.CRITICAL),
        (STORM, Priority.ERROR),
    ]


def test_storm_refreshes_are_throttled_edits_and_alerts_resume_after_calm(store: Store) -> None:
    clock = FakeClock()
    book = IncidentBook(store, clock)
    outbox = Outbox(store, [5], clock=clock, throttle_seconds=15, storm_threshold=4)
    for n in range(20):
        outbox.incident_event(book.record(match(key=f"/srv/{n}.mp4")))
    [first] = store.due(clock.now)
    assert store.claim(first.id)
    store.save_storm_message(first.storm_id or 0, 5, 77)
    store.mark_sent(first.id, clock.now)
    outbox.incident_event(book.record(match(key="/srv/late.mp4")))
    assert store.due(FAR) == []  # the next refresh waits for the throttle
    clock.advance(16)
    outbox.settle()
    [edit] = store.due(clock.now)
    assert (edit.kind, edit.priority) == (STORM, Priority.EDIT)
    send_all(store)
    clock.advance(61)
    outbox.settle()
    assert outbox.storming == ()
    [last] = store.due(clock.now)
    storm = store.storm(last.storm_id or 0)
    assert storm is not None and storm.ended_at is not None and storm.incidents == 21
    send_all(store)
    outbox.incident_event(book.record(match(key="/srv/after.mp4")))
    assert [i.kind for i in store.due(clock.now)] == [ALERT]


def test_queued_alerts_of_the_storming_rule_are_folded_into_the_storm(store: Store) -> None:
    clock = FakeClock()
    book = IncidentBook(store, clock)
    outbox = Outbox(store, [5], clock=clock, storm_threshold=3)
    for n in range(4):
        outbox.incident_event(book.record(match(key=f"/srv/{n}.mp4")))
    assert [i.kind for i in store.due(clock.now)] == [STORM]
    assert store.outbox_depth() == 1


def test_storms_off_with_a_zero_threshold(store: Store) -> None:
    clock = FakeClock()
    book = IncidentBook(store, clock)
    outbox = Outbox(store, [5], clock=clock, storm_threshold=0)
    for n in range(30):
        outbox.incident_event(book.record(match(key=f"/srv/{n}.mp4")))
    assert {i.kind for i in store.due(clock.now, limit=100)} == {ALERT}
    assert store.outbox_depth() == 30


def test_a_row_in_flight_at_a_crash_is_sent_again_once_and_marked_doubtful(store: Store) -> None:
    item = store.enqueue(ALERT, {}, T0, chat_id=1, incident_id=1)
    assert item is not None and store.claim(item)
    assert store.recover_claims() == 1
    [again] = store.due(T0)
    assert again.doubt == 1
    assert store.claim(item)
    assert store.recover_claims() == 0  # in flight at a second crash: not sent a third time
    assert store.due(FAR) == [] and store.outbox_depth() == 0


def test_a_timed_out_attempt_makes_the_next_one_doubtful(store: Store) -> None:
    item = store.enqueue(ALERT, {}, T0, chat_id=1, incident_id=1)
    assert item is not None and store.claim(item)
    store.release(item, T0, "timed out", unsure=True)
    assert [i.doubt for i in store.due(T0)] == [1]
    assert store.claim(item)
    store.release(item, T0, "502", unsure=False)
    assert [i.doubt for i in store.due(T0)] == [1]
