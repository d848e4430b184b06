"""The noise gate in the incident book: thresholds counted exactly per rule, maintenance
held and tallied, ignored lines dropped and counted; on both store backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adminbot.incidents.book import IncidentBook
from adminbot.incidents.events import EventKind, Hold, IncidentEvent
from adminbot.incidents.maintenance import Maintenance
from adminbot.incidents.noise import NoiseGate
from adminbot.incidents.schedule import Scope
from adminbot.models import Match, Origin, Record, Severity, frozen_map
from adminbot.notify.outbox import Outbox
from adminbot.notify.reminders import Reminders
from adminbot.rules.ignore import IgnoreList, IgnorePattern
from adminbot.rules.threshold import Threshold
from adminbot.service.router import unrouted
from adminbot.store.noise import NoiseStore
from adminbot.store.sqlite import Store
from tests.clocks import FakeClock

FIVE_IN_TEN = Threshold(5, timedelta(minutes=10))


def timeout(key: str, text: str = "timed out") -> Match:
    record = Record(source="/log/bot.log", line_no=1, text=f"ERROR {text} {key}")
    return Match("timeout", Severity.ERROR, record, frozen_map({"file_id": key}), key)


def built(
    store: Store,
    clock: FakeClock,
    *,
    thresholds: dict[str, Threshold] | None = None,
    ignore: list[IgnorePattern] | None = None,
) -> tuple[IncidentBook, Maintenance]:
    noise = NoiseStore(store)
    maintenance = Maintenance(noise, clock=clock)
    gate = NoiseGate(
        noise,
        store,
        maintenance,
        thresholds=thresholds,
        ignore=IgnoreList(ignore or [], store.host),
    )
    return IncidentBook(store, clock, gate=gate), maintenance


def holds(events: list[IncidentEvent]) -> list[Hold | None]:
    return [e.held for e in events]


def test_a_rule_below_its_threshold_is_held_and_the_nth_match_opens_it(any_store: Store) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    book, _ = built(any_store, clock, thresholds={"timeout": FIVE_IN_TEN})
    first = [book.record(timeout("a")) for _ in range(4)]
    assert holds(first) == [Hold.THRESHOLD] * 4
    assert book.is_held(first[0].incident.id)
    fifth = book.record(timeout("a"))
    assert (fifth.kind, fifth.held, fifth.incident.count) == (EventKind.OPENED, None, 5)
    assert not book.is_held(fifth.incident.id)
    sixth = book.record(timeout("a"))
    assert (sixth.kind, sixth.held) == (EventKind.REPEATED, None)


def test_a_threshold_counts_every_key_of_the_rule_within_one_batch(any_store: Store) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    book, _ = built(any_store, clock, thresholds={"timeout": FIVE_IN_TEN})
    events = book.record_batch([timeout(key) for key in "abcdef"])
    assert holds(events) == [Hold.THRESHOLD] * 4 + [None, None]
    assert [e.kind for e in events] == [EventKind.OPENED] * 6


def test_matches_older_than_the_window_do_not_count(any_store: Store) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    book, _ = built(any_store, clock, thresholds={"timeout": FIVE_IN_TEN})
    for _ in range(4):
        book.record(timeout("a"))
        clock.advance(4 * 60)  # four matches over 16 minutes: never five in ten
    assert book.record(timeout("a")).held is Hold.THRESHOLD  # 8, 12, 16 min: three
    clock.advance(60)
    assert book.record(timeout("a")).held is Hold.THRESHOLD  # 8, 12, 16, 17: four
    released = book.record(timeout("a"))
    assert (released.kind, released.held) == (EventKind.OPENED, None)


def test_a_rule_without_threshold_alerts_on_its_first_match(any_store: Store) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    book, _ = built(any_store, clock, thresholds={"permisos": FIVE_IN_TEN})
    event = book.record(timeout("a"))
    assert (event.kind, event.held) == (EventKind.OPENED, None)


def test_maintenance_holds_what_it_covers_tallies_it_and_lets_the_rest_through(
    any_store: Store,
) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    book, maintenance = built(any_store, clock)
    maintenance.start(timedelta(minutes=30), Scope(frozenset({"timeout"})), "Ana")
    covered = book.record_batch([timeout("a"), timeout("a"), timeout("b")])
    assert holds(covered) == [Hold.MAINTENANCE] * 3
    record = Record(source="/log/bot.log", line_no=2, text="ERROR denied /srv/x")
    other = book.record(Match("permisos", Severity.ERROR, record, frozen_map(), "/srv/x"))
    assert other.held is None
    clock.advance(31 * 60)
    (over,) = maintenance.close_due()
    assert [(r.rule, r.opened, r.hits) for r in over.by_rule] == [("timeout", 2, 3)]
    assert [(k.key, k.hits) for k in over.top] == [("a", 2), ("b", 1)]
    after = book.record(timeout("a"))
    assert (after.kind, after.held) == (EventKind.OPENED, None)  # told now, once


def test_maintenance_on_another_host_holds_nothing_here(any_store: Store) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    book, maintenance = built(any_store, clock)
    maintenance.start(timedelta(minutes=30), Scope(hosts=frozenset({"elsewhere"})), "Ana")
    assert book.record(timeout("a")).held is None


def test_ignored_lines_open_no_incident_and_are_counted_per_rule(any_store: Store) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    patterns = [IgnorePattern("TMP_CACHE", rule="timeout"), IgnorePattern("x", host="other")]
    book, _ = built(any_store, clock, ignore=patterns)
    events = book.record_batch([timeout("a", "tmp_cache"), timeout("b"), timeout("c", "tmp_cache")])
    assert [e.incident.key for e in events] == ["b"]
    assert any_store.count_incidents() == 1
    ignored = NoiseStore(any_store).ignored()
    assert (ignored.by_rule, ignored.total, ignored.last) == ({"timeout": 2}, 2, clock.now)


def test_an_incident_a_check_raises_is_never_ignored(any_store: Store) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    book, _ = built(any_store, clock, ignore=[IgnorePattern("disk")])
    record = Record(source="check", line_no=0, text="disk full")
    match = Match("disco_lleno", Severity.CRITICAL, record, frozen_map(), "", Origin.CHECK)
    assert book.record(match).incident.rule == "disco_lleno"


def test_a_held_incident_is_not_alerted_at_a_restart_nor_reminded(any_store: Store) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    book, maintenance = built(any_store, clock)
    maintenance.start(timedelta(hours=2), Scope(), "Ana")
    held = book.record(disk_full())
    assert held.held is Hold.MAINTENANCE
    ungated = IncidentBook(any_store, clock)
    assert [e.incident.id for e in unrouted(any_store, ungated)] == [held.incident.id]
    assert unrouted(any_store, book) == []
    clock.advance(30 * 60)
    outbox = Outbox(any_store, [42], clock=clock)
    assert Reminders(any_store, ungated, outbox, after=60, every=60, clock=clock).remind()
    assert Reminders(any_store, book, outbox, after=60, every=60, clock=clock).remind() == []


def disk_full() -> Match:
    record = Record(source="/log/bot.log", line_no=3, text="ERROR No space left on device")
    return Match("disco_lleno", Severity.CRITICAL, record, frozen_map(), "")


def test_retention_forgets_old_holds_and_summed_up_windows(any_store: Store) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    book, maintenance = built(any_store, clock)
    maintenance.start(timedelta(minutes=30), Scope(), "Ana")
    held = book.record(timeout("a"))
    clock.advance(3600)
    (_over,) = maintenance.close_due()
    noise = NoiseStore(any_store)
    assert noise.prune(clock.now - timedelta(days=1)) == 0
    assert noise.prune(clock.now + timedelta(seconds=1)) == 2
    assert not book.is_held(held.incident.id)


def test_a_storm_of_distinct_keys_in_one_batch_is_held_and_tallied_whole(
    any_store: Store,
) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    book, maintenance = built(any_store, clock)
    maintenance.start(timedelta(minutes=30), Scope(), "Ana")
    events = book.record_batch([timeout(f"k{n}") for n in range(1200)] + [timeout("k0")])
    assert {e.held for e in events} == {Hold.MAINTENANCE}
    assert book.record(timeout("k1199")).held is Hold.MAINTENANCE
    clock.advance(31 * 60)
    (over,) = maintenance.close_due()
    assert [(r.opened, r.hits) for r in over.by_rule] == [(1200, 1202)]
    assert over.top[0].key == "k0" and over.top[0].hits == 2


def test_a_held_incident_is_first_reminded_after_its_alert_not_its_first_sighting(
    any_store: Store,
) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    book, maintenance = built(any_store, clock)
    maintenance.start(timedelta(minutes=30), Scope(), "Ana")
    assert book.record(disk_full()).held is Hold.MAINTENANCE
    outbox = Outbox(any_store, [42], clock=clock)
    reminders = Reminders(any_store, book, outbox, after=15 * 60, every=3600, clock=clock)
    clock.advance(40 * 60)
    told = book.record(disk_full())  # the window is over: this match alerts it
    assert (told.kind, told.held) == (EventKind.OPENED, None)
    outbox.incident_event(told)
    assert reminders.remind() == []  # its alert is still queued: nobody got it yet
    (alert,) = any_store.due(clock(), limit=10)
    assert any_store.claim(alert.id)
    with any_store.transaction():
        any_store.save_alert_message(told.incident.id, 42, 7, clock())
        any_store.mark_sent(alert.id, clock())
    clock.advance(14 * 60)
    assert reminders.remind() == []
    clock.advance(60)
    assert reminders.remind() == [told.incident.id]
