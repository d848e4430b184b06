"""The store, on both backends: grouping, compare-and-set state changes, the outbox, checkpoints."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adminbot.incidents.book import IncidentBook, allowed_from
from adminbot.incidents.events import IncidentEvent
from adminbot.incidents.recurrence import recurrence
from adminbot.models import Checkpoint, IncidentState, Match, Record, Severity, frozen_map
from adminbot.notify.outbox import ALERT, UPDATE, Outbox
from adminbot.store.rows import key_hash
from adminbot.store.sqlincidents import _LIVE_INCIDENTS, MAX_OCCURRENCES
from adminbot.store.sqlite import Store
from adminbot.store.sqlschema import MIGRATIONS
from tests.clocks import T0, FakeClock


def match(rule: str = "permisos", key: str = "/srv/a.mp4", line_no: int = 1) -> Match:
    record = Record(source="/log/bot.log", line_no=line_no, text=f"ERROR denied {key}")
    return Match(rule, Severity.ERROR, record, frozen_map({"path": key}), key)


@pytest.fixture
def store(any_store: Store) -> Store:
    """Every test below that takes `store` runs on SQLite and on PostgreSQL."""
    return any_store


def test_schema_is_versioned_and_reopening_does_not_migrate_again(tmp_path: Path) -> None:
    first = Store(tmp_path / "s.sqlite3")
    assert first.schema_version == len(MIGRATIONS) == 20
    first.close()
    again = Store(tmp_path / "s.sqlite3")
    assert again.schema_version == 20
    again.close()


def test_a_burst_of_identical_errors_is_one_incident_with_a_count(store: Store) -> None:
    book = IncidentBook(store, FakeClock())
    events = [book.record(match(line_no=n)) for n in range(1, 1001)]
    assert {e.incident.id for e in events} == {events[0].incident.id}
    assert events[0].kind == "opened"
    assert events[-1].kind == "repeated"
    assert events[-1].incident.count == 1000
    assert len(store.occurrences(events[0].incident.id, limit=1000)) == MAX_OCCURRENCES


def test_different_keys_are_different_incidents(store: Store) -> None:
    book = IncidentBook(store, FakeClock())
    a = book.record(match(key="/srv/a.mp4")).incident
    b = book.record(match(key="/srv/b.mp4")).incident
    assert a.id != b.id


def test_resolved_incident_recurs_as_a_new_one_ignored_absorbs_repeats(store: Store) -> None:
    book = IncidentBook(store, FakeClock())
    first = book.record(match()).incident
    assert book.move(first.id, IncidentState.RESOLVED, "admin:1") is not None
    second = book.record(match()).incident
    assert second.id != first.id
    assert book.move(second.id, IncidentState.IGNORED, "admin:1") is not None
    third = book.record(match())
    assert third.incident.id == second.id
    assert third.muted is True


def test_state_change_is_compare_and_set(store: Store) -> None:
    book = IncidentBook(store, FakeClock())
    incident = book.record(match()).incident
    assert book.move(incident.id, IncidentState.FIXING, "admin:1") is not None
    assert book.move(incident.id, IncidentState.RESOLVED, "policy") is not None
    assert book.move(incident.id, IncidentState.FIXING, "admin:2") is None
    history = [(t.old_state, t.new_state, t.actor) for t in store.transitions(incident.id)]
    assert history == [
        (None, IncidentState.OPEN, "monitor"),
        (IncidentState.OPEN, IncidentState.FIXING, "admin:1"),
        (IncidentState.FIXING, IncidentState.RESOLVED, "policy"),
    ]


def test_allowed_from_lists_the_states_that_may_move_there() -> None:
    assert IncidentState.RESOLVED not in allowed_from(IncidentState.FIXING)
    assert IncidentState.OPEN in allowed_from(IncidentState.FIXING)


def test_outbox_row_is_claimed_once(store: Store) -> None:
    item = store.enqueue(ALERT, {}, T0, chat_id=1, incident_id=7)
    assert item is not None
    assert [i.id for i in store.due(T0)] == [item]
    assert store.claim(item) is True
    assert store.claim(item) is False
    assert store.due(T0) == []
    store.mark_sent(item, T0)
    assert store.outbox_depth() == 0


def test_released_row_waits_until_its_time_and_keeps_its_order(store: Store) -> None:
    first = store.enqueue(ALERT, {}, T0, chat_id=1, incident_id=1)
    second = store.enqueue(ALERT, {}, T0, chat_id=1, incident_id=2)
    assert first and second and store.claim(first)
    store.release(first, T0 + timedelta(seconds=5), "502 Bad Gateway")
    assert [i.id for i in store.due(T0)] == [second]
    assert [i.id for i in store.due(T0 + timedelta(seconds=5))] == [first, second]


def test_crash_while_sending_puts_the_row_back(store: Store) -> None:
    item = store.enqueue(ALERT, {}, T0, chat_id=1, incident_id=1)
    assert item and store.claim(item)
    assert store.recover_claims() == 1
    assert [i.id for i in store.due(T0)] == [item]


def test_repeats_while_the_alert_waits_ride_on_that_alert(store: Store) -> None:
    clock = FakeClock()
    book = IncidentBook(store, clock)
    outbox = Outbox(store, [5, 6], throttle_seconds=15, clock=clock)
    for n in range(500):
        outbox.incident_event(book.record(match(line_no=n)))
        clock.advance(0.01)
    due_now = store.due(clock.now)
    assert [(i.kind, i.chat_id) for i in due_now] == [(ALERT, 5), (ALERT, 6)]
    later = store.due(clock.now + timedelta(seconds=15))
    assert sorted((i.kind, i.chat_id) for i in later) == [(ALERT, 5), (ALERT, 6)]


def test_repeats_after_the_alert_was_sent_coalesce_into_one_throttled_update(
    store: Store,
) -> None:
    clock = FakeClock()
    book = IncidentBook(store, clock)
    outbox = Outbox(store, [5, 6], throttle_seconds=15, clock=clock)
    outbox.incident_event(book.record(match(line_no=0)))
    for item in store.due(clock.now):
        assert store.claim(item.id)
        store.mark_sent(item.id, clock.now)
    for n in range(1, 500):
        outbox.incident_event(book.record(match(line_no=n)))
        clock.advance(0.01)
    assert store.due(clock.now) == []
    later = store.due(clock.now + timedelta(seconds=15))
    assert sorted((i.kind, i.chat_id) for i in later) == [(UPDATE, 5), (UPDATE, 6)]


def test_an_immediate_change_pulls_a_throttled_update_forward(store: Store) -> None:
    clock = FakeClock()
    outbox = Outbox(store, [5], throttle_seconds=60, clock=clock)
    outbox.incident_changed(3, delay=timedelta(seconds=60))
    assert store.due(clock.now) == []
    outbox.incident_changed(3)
    assert [i.kind for i in store.due(clock.now)] == [UPDATE]
    assert store.outbox_depth() == 1


def test_muted_rule_is_recorded_but_not_queued(store: Store) -> None:
    clock = FakeClock()
    book = IncidentBook(store, clock)
    outbox = Outbox(store, [5], clock=clock)
    book.mute("permisos", timedelta(hours=1), "admin:5")
    event = book.record(match())
    outbox.incident_event(event)
    assert event.muted and event.incident.count == 1
    assert store.outbox_depth() == 0
    clock.advance(3601)
    assert book.expire_mutes() == ["permisos"]
    assert book.is_muted("permisos") is False


def test_checkpoints_round_trip(store: Store) -> None:
    checkpoint = Checkpoint("/log/a.log", 1, 2, "abc", 10, 500, 7)
    store.save_checkpoint(checkpoint, T0)
    store.save_checkpoint(checkpoint, T0 + timedelta(seconds=1))
    assert store.load_checkpoints() == {"/log/a.log": checkpoint}
    assert store.last_checkpoint_at() == T0 + timedelta(seconds=1)


def test_transaction_rolls_back_everything_on_error(store: Store) -> None:
    book = IncidentBook(store, FakeClock())
    with pytest.raises(RuntimeError), store.transaction():
        book.record(match())
        store.save_checkpoint(Checkpoint("/log/a.log", 1, 2, "abc", 10, 500, 7), T0)
        raise RuntimeError("boom")
    assert store.count_incidents() == 0
    assert store.load_checkpoints() == {}


def test_line_counts_add_up_per_hour(store: Store) -> None:
    store.count_lines(T0, 10)
    store.count_lines(T0 + timedelta(minutes=30), 5)
    store.count_lines(T0 + timedelta(hours=2), 1)
    assert store.lines_since(T0) == 16
    assert store.lines_since(T0 + timedelta(hours=1)) == 1


def test_a_store_from_the_first_schema_keeps_its_audit_rows_and_gains_facts(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(f"BEGIN; {MIGRATIONS[0]}; PRAGMA user_version = 1; COMMIT;")
    old.execute(
        "INSERT INTO audit (incident_id, at, actor, kind, operation, ok, summary) "
        "VALUES (1, '2024-05-01T12:00:00+00:00', 'policy', 'retry', 'retry', 1, 'retry ok')"
    )
    old.commit()
    old.close()

    store = Store(path)
    store.add_audit(
        incident_id=1,
        actor="policy",
        kind="retry",
        operation="retry",
        ok=True,
        summary="retry ok",
        now=datetime(2024, 5, 1, 12, 1, tzinfo=UTC),
        detail={"notes": [{"reason": "retry_ok", "facts": {"attempt": 1, "attempts": 3}}]},
    )
    before, after = store.audit(incident_id=1)
    store.close()

    assert (before.summary, before.detail) == ("retry ok", None)
    facts = {"attempt": 1, "attempts": 3}
    assert after.detail == {"notes": [{"reason": "retry_ok", "facts": facts}]}


# Keys as the pipeline's lines give them: Spanish paths, quotes, an emoji, the empty key.
HASHED_KEYS = ["/srv/a.mp4", "path=/srv/descargas/año/ñandú.mp4", 'it\'s "quoted"', "🎬", ""]


def _store_before_key_hashes(path: Path, host: str) -> None:
    """A store one schema version before the key hash, holding a live incident per key."""
    old = sqlite3.connect(path)
    for number, script in enumerate(MIGRATIONS[:-1], start=1):
        old.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    old.executemany(
        "INSERT INTO incidents (rule, severity, key, state, count, first_seen, last_seen, "
        "source, sample, fields, token, host) VALUES ('permisos', 'error', ?, 'open', 1, "
        "'2024-05-01T12:00:00+00:00', '2024-05-01T12:00:00+00:00', '/log/bot.log', 's', "
        "'{}', 't', ?)",
        [(key, host) for key in HASHED_KEYS],
    )
    old.commit()
    old.close()


def test_incidents_from_before_the_key_hash_are_found_by_their_key_again(
    tmp_path: Path,
) -> None:
    """The migration hashes the rows it finds: a repeat bumps the old incident, and
    `closings` and `escalate` reach it, rather than a second incident opening."""
    path = tmp_path / "old.sqlite3"
    _store_before_key_hashes(path, "h1")

    store = Store(path, host="h1")
    with store.connection() as db:
        stored = {row[0]: row[1] for row in db.execute("SELECT key, key_hash FROM incidents")}
    events = IncidentBook(store, FakeClock()).record_batch([match(key=k) for k in HASHED_KEYS])
    closings = store.closings(events[1].incident, limit=5)
    store.close()

    assert stored == {key: key_hash(key) for key in HASHED_KEYS}
    assert len(set(stored.values())) == len(HASHED_KEYS)
    assert [(e.kind, e.incident.count) for e in events] == [("repeated", 2)] * len(HASHED_KEYS)
    assert [c.id for c in closings] == [events[1].incident.id]


def test_a_lookup_by_key_reads_the_key_hash_index(tmp_path: Path) -> None:
    """SQLite's plan (PostgreSQL plans by its statistics): with no ANALYZE, an index on
    (key_hash) alone lost to the one on (host, state), a scan of a host's incidents."""
    store = Store(tmp_path / "s.sqlite3", host="h1")
    with store.connection() as db:
        plans = [
            db.execute(
                "EXPLAIN QUERY PLAN " + _LIVE_INCIDENTS.format(marks=", ".join("?" * n)),
                (*range(n), "permisos", "h1", "resolved", *map(str, range(n))),
            ).fetchall()
            for n in (1, 2, 256)
        ]
    store.close()
    for plan in plans:
        assert "USING INDEX incidents_by_key_hash" in str(plan[0][-1]), plan


def test_a_batch_of_repeats_is_one_incident_whose_events_count_up(store: Store) -> None:
    book = IncidentBook(store, FakeClock())
    events = book.record_batch([match(line_no=n) for n in range(1, 1001)])
    assert [e.kind for e in events[:2]] == ["opened", "repeated"]
    assert [e.incident.count for e in events] == list(range(1, 1001))
    assert [e.match.record.line_no for e in events] == list(range(1, 1001))
    stored = store.incident(events[0].incident.id)
    assert stored is not None and stored.count == 1000
    kept = store.occurrences(stored.id, limit=1000)
    assert [line_no for _, _, line_no, _ in kept] == list(range(1000, 980, -1))


def test_a_batch_writes_only_the_occurrences_it_keeps(tmp_path: Path) -> None:
    db = Store(tmp_path / "s.sqlite3")
    IncidentBook(db, FakeClock()).record_batch([match(line_no=n) for n in range(1, 501)])
    db.close()
    with sqlite3.connect(tmp_path / "s.sqlite3") as raw:
        ids = [row[0] for row in raw.execute("SELECT id FROM occurrences ORDER BY id")]
    assert ids == list(range(1, MAX_OCCURRENCES + 1))


def _recorded_both_ways(
    tmp_path: Path, batch: list[Match], before: list[Match] | None = None
) -> tuple[list[IncidentEvent], list[IncidentEvent], list[tuple[list[Any], ...]]]:
    """`batch` recorded one match at a time in one store and as one batch in another
    (after `before`, as a batch, in both): the events of each, and what each then holds."""
    one, many = Store(tmp_path / "one.sqlite3"), Store(tmp_path / "many.sqlite3")
    for store_ in (one, many):
        IncidentBook(store_, FakeClock()).record_batch(before or [])
    singles = [IncidentBook(one, FakeClock()).record(m) for m in batch]
    batched = IncidentBook(many, FakeClock()).record_batch(batch)
    for store_ in (one, many):
        store_.close()
    dumps = []
    for name in ("one", "many"):
        with sqlite3.connect(tmp_path / f"{name}.sqlite3") as raw:
            dumps.append(
                tuple(
                    raw.execute(query).fetchall()
                    for query in (
                        "SELECT id, rule, key, state, count, source, sample, fields "
                        "FROM incidents ORDER BY key",
                        "SELECT i.key, o.line_no FROM occurrences o JOIN incidents i "
                        "ON i.id = o.incident_id ORDER BY i.key, o.line_no",
                        "SELECT i.key, t.new_state FROM transitions t JOIN incidents i "
                        "ON i.id = t.incident_id ORDER BY i.key",
                    )
                )
            )
    return singles, batched, dumps


def test_a_batch_is_the_same_as_recording_its_matches_one_by_one(tmp_path: Path) -> None:
    keys = ["/srv/a.mp4", "/srv/b.mp4", "/srv/a.mp4", "/srv/c.mp4", "/srv/b.mp4", "/srv/a.mp4"]
    batch = [match(key=key, line_no=n) for n, key in enumerate(keys * 10, start=1)]
    singles, batched, dumps = _recorded_both_ways(tmp_path, batch)
    assert [(e.kind, e.incident.id, e.incident.count, e.incident.sample) for e in batched] == [
        (e.kind, e.incident.id, e.incident.count, e.incident.sample) for e in singles
    ]
    assert dumps[0] == dumps[1]


def test_a_storm_batch_of_many_keys_is_the_same_as_one_by_one(tmp_path: Path) -> None:
    """Past the statement chunks (256 keys): new keys, repeats, keys open from before."""
    before = [match(key=f"/srv/{n}.mp4", line_no=n) for n in range(0, 900, 7)]
    keys = [f"/srv/{n % 700}.mp4" for n in range(1, 1100)]
    batch = [match(key=key, line_no=n) for n, key in enumerate(keys, start=1000)]
    singles, batched, dumps = _recorded_both_ways(tmp_path, batch, before)
    assert [(e.kind, e.incident.key, e.incident.count, e.incident.sample) for e in batched] == [
        (e.kind, e.incident.key, e.incident.count, e.incident.sample) for e in singles
    ]
    assert all(e.incident.id > 0 for e in batched)
    assert dumps[0] == dumps[1]


def test_a_batch_respects_resolved_ignored_and_muted(store: Store) -> None:
    book = IncidentBook(store, FakeClock())
    first = book.record(match()).incident
    book.move(first.id, IncidentState.RESOLVED, "admin:1")
    events = book.record_batch([match(), match()])
    assert events[0].kind == "opened" and events[0].incident.id != first.id
    book.move(events[0].incident.id, IncidentState.IGNORED, "admin:1")
    book.mute("timeout", timedelta(hours=1), "admin:1")
    later = book.record_batch([match(), match(rule="timeout")])
    assert [(e.kind, e.muted) for e in later] == [("repeated", True), ("opened", True)]


def test_a_key_mute_silences_that_incident_only_and_a_rule_mute_all_of_them(
    tmp_path: Path,
) -> None:
    from adminbot.incidents.book import IncidentBook, key_target, shown_target
    from tests.clocks import FakeClock

    db = Store(tmp_path / "s.sqlite3")
    book = IncidentBook(db, FakeClock())
    book.mute(key_target("permisos", "/srv/a.mp4"), timedelta(hours=1), "@ana")
    assert book.is_muted("permisos", key="/srv/a.mp4")
    assert not book.is_muted("permisos", key="/srv/b.mp4")
    assert book.muted_until("permisos", "/srv/a.mp4") is not None
    book.mute("permisos", timedelta(hours=1), "@ana")
    assert book.is_muted("permisos", key="/srv/b.mp4")
    assert shown_target(key_target("permisos", "/srv/a.mp4")) == "permisos · /srv/a.mp4"
    db.close()


def test_a_recurrence_chains_incidents_of_one_key_closed_automatically_within_the_window(
    store: Store,
) -> None:
    clock = FakeClock()
    book = IncidentBook(store, clock)
    ids = []
    for _ in range(3):
        incident = book.record(match()).incident
        ids.append(incident.id)
        clock.advance(2)
        book.move(incident.id, IncidentState.RESOLVED, "policy")
        clock.advance(3)
    latest = store.incident(ids[-1])
    assert latest is not None
    again = recurrence(store, latest, timedelta(minutes=10))
    assert again is not None
    assert (again.count, again.previous, again.since) == (3, ids[1], T0)
    assert again.settled_at == T0 + timedelta(seconds=12)
    assert recurrence(store, latest, timedelta(seconds=2)) is None  # 3 s apart: too late


def test_an_incident_a_person_closed_that_comes_back_is_news_not_a_recurrence(
    store: Store,
) -> None:
    book = IncidentBook(store, FakeClock())
    first = book.record(match()).incident
    book.move(first.id, IncidentState.RESOLVED, "@ana · id 42")
    second = book.record(match()).incident
    assert second.id != first.id
    assert recurrence(store, second, timedelta(minutes=10)) is None
    other = book.record(match(key="/srv/b.mp4")).incident
    assert recurrence(store, other, timedelta(minutes=10)) is None


def test_the_owner_of_an_alert_message_is_the_newest_incident_shown_in_it(store: Store) -> None:
    store.save_alert_message(3, 5, 100, T0)
    store.save_alert_message(4, 5, 100, T0)
    store.save_alert_message(9, 6, 100, T0)  # another chat's message 100
    assert store.alert_owner(5, 100) == 4
    assert store.alert_owner(5, 101) is None
