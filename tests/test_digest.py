"""The daily digest: its facts from the store, and its job queueing it once at its time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adminbot.digest.facts import Count, FixCount, build_digest
from adminbot.digest.schedule import DailyAt
from adminbot.models import IncidentState, Match, Record, Severity, frozen_map
from adminbot.notify import notices
from adminbot.notify.digests import DailyDigests
from adminbot.notify.notices import notice_from_payload
from adminbot.notify.outbox import Outbox
from adminbot.store.history import HistoryStore
from adminbot.store.sqlite import Store
from tests.clocks import FakeClock

ADMIN = 4242
MADRID = ZoneInfo("Europe/Madrid")
NINE_MADRID = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(tmp_path / "s.sqlite3", host="srv1")
    yield db
    db.close()


def opened(store: Store, rule: str, key: str, at: datetime, hits: int = 1) -> int:
    record = Record(source="/log/bot.log", line_no=1, text=f"ERROR {rule} {key}")
    found = Match(rule, Severity.ERROR, record, frozen_map({}), key)
    recorded = [store.record_match(found, at, "tok") for _ in range(hits)]
    return recorded[0].incident.id


def fix(store: Store, incident_id: int, kind: str, ok: bool, at: datetime) -> None:
    store.add_audit(
        incident_id=incident_id,
        actor="policy",
        kind=kind,
        operation=kind,
        ok=ok,
        summary="done",
        now=at,
    )


# -- facts --------------------------------------------------------------------------------


def test_the_digest_counts_the_days_incidents_by_type_and_host(store: Store) -> None:
    since = NINE_MADRID - timedelta(hours=24)
    opened(store, "timeout", "a", since + timedelta(hours=1), hits=3)
    opened(store, "timeout", "b", since + timedelta(hours=2))
    opened(store, "permisos", "c", since + timedelta(hours=3))
    opened(store, "timeout", "old", since - timedelta(hours=1))

    facts = build_digest(store, HistoryStore(store), since, NINE_MADRID)

    assert facts.by_rule == (Count("timeout", 2, 4), Count("permisos", 1, 1))
    assert facts.by_host == (Count("srv1", 3),)
    assert (facts.incidents, facts.hits) == (3, 5)


def test_the_digest_tells_each_kind_of_fix_and_how_it_ended_but_not_disk_reports(
    store: Store,
) -> None:
    since = NINE_MADRID - timedelta(hours=24)
    incident = opened(store, "timeout", "a", since + timedelta(hours=1))
    for ok in (True, True, False):
        fix(store, incident, "retry", ok, since + timedelta(hours=2))
    fix(store, incident, "mkdir", True, since + timedelta(hours=3))
    fix(store, incident, "disk_report", True, since + timedelta(hours=3))
    fix(store, incident, "retry", False, since - timedelta(hours=3))  # the day before

    facts = build_digest(store, HistoryStore(store), since, NINE_MADRID)

    assert facts.fixes == (FixCount("retry", 2, 1), FixCount("mkdir", 1, 0))


def test_what_is_still_open_is_counted_with_the_biggest_first(store: Store) -> None:
    since = NINE_MADRID - timedelta(hours=24)
    small = opened(store, "timeout", "a", since + timedelta(hours=1), hits=2)
    big = opened(store, "disco_lleno", "b", since - timedelta(days=3), hits=9)
    closed = opened(store, "timeout", "c", since + timedelta(hours=2), hits=50)
    store.set_state(closed, [IncidentState.OPEN], IncidentState.RESOLVED, "admin", NINE_MADRID)

    facts = build_digest(store, HistoryStore(store), since, NINE_MADRID, top=5)

    assert facts.still_open == 2
    assert [i.id for i in facts.top_open] == [big, small]
    assert set(facts.open_by_rule) == {Count("timeout", 1), Count("disco_lleno", 1)}


# -- the job ------------------------------------------------------------------------------


def digests(store: Store, clock: FakeClock, *, chart: bool = True, chats=(ADMIN,)):
    outbox = Outbox(store, chats, clock=clock)
    return DailyDigests(
        store,
        HistoryStore(store),
        outbox,
        schedule=DailyAt(time(9), MADRID),
        chart=chart,
        clock=clock,
    )


def queued(store: Store, clock: FakeClock) -> list[notices.Notice]:
    return [notice_from_payload(row.payload) for row in store.due(clock.now + timedelta(days=9))]


def test_the_first_run_on_a_store_only_remembers_the_time_and_sends_nothing(store: Store) -> None:
    clock = FakeClock(NINE_MADRID + timedelta(minutes=5))
    job = digests(store, clock)

    assert job.run() is False
    assert queued(store, clock) == []
    assert job.served() == NINE_MADRID


def test_at_its_time_the_digest_and_its_chart_are_queued_once(store: Store) -> None:
    clock = FakeClock(NINE_MADRID - timedelta(minutes=1))
    job = digests(store, clock)
    job.run()
    opened(store, "timeout", "a", clock.now - timedelta(hours=2))

    assert job.run() is False  # 08:59 in Madrid: not yet
    clock.now = NINE_MADRID
    assert job.run() is True
    assert job.run() is False  # served: not again the same day

    digest, chart = queued(store, clock)
    assert isinstance(digest, notices.DailyDigest)
    assert digest.facts.by_rule == (Count("timeout", 1, 1),)
    assert (digest.facts.since, digest.facts.until) == (
        NINE_MADRID - timedelta(hours=24),
        NINE_MADRID,
    )
    assert chart == notices.DigestChart(NINE_MADRID - timedelta(hours=24), NINE_MADRID)


def test_days_missed_while_down_are_one_digest_at_start(store: Store) -> None:
    clock = FakeClock(NINE_MADRID - timedelta(days=3))
    digests(store, clock).run()
    clock.now = NINE_MADRID + timedelta(hours=2)  # three 09:00 passed while it was down

    again = digests(store, clock)  # a new process: only the store remembers
    assert again.run() is True
    assert again.run() is False
    kinds = [n.kind for n in queued(store, clock)]
    assert kinds == [notices.NoticeKind.DAILY_DIGEST, notices.NoticeKind.DIGEST_CHART]


def test_without_the_chart_only_the_message_is_queued(store: Store) -> None:
    clock = FakeClock(NINE_MADRID - timedelta(minutes=1))
    job = digests(store, clock, chart=False)
    job.run()
    clock.now = NINE_MADRID
    job.run()
    assert [n.kind for n in queued(store, clock)] == [notices.NoticeKind.DAILY_DIGEST]


def test_with_nobody_to_tell_the_digest_is_off(store: Store) -> None:
    clock = FakeClock(NINE_MADRID - timedelta(minutes=1))
    job = digests(store, clock, chats=())
    assert not job.enabled
    clock.now = NINE_MADRID
    assert job.run() is False
    assert job.served() is None
