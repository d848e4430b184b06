"""What each host keeps for itself in a shared store, on both backends."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from adminbot.incidents.book import IncidentBook
from adminbot.models import Checkpoint, Match, Record, Severity, frozen_map
from adminbot.store.hosts import HostBeat, HostFile, HostStore
from adminbot.store.postgres import PgStore
from adminbot.store.sqlite import Store, host_key
from adminbot.store.trends import TrendStore
from adminbot.store.work import WorkState, WorkStore
from tests.clocks import T0, FakeClock
from tests.conftest import BACKENDS
from tests.pg import PgCluster


@pytest.fixture(params=BACKENDS)
def two_hosts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two hosts, a and b, sharing one store."""
    if request.param == "sqlite":
        a = Store(tmp_path / "s.sqlite3", host="a")
        b = Store(tmp_path / "s.sqlite3", host="b")
    else:
        cluster: PgCluster = request.getfixturevalue("postgres")
        url = cluster.fresh()
        a, b = PgStore(url, host="a"), PgStore(url, host="b")
    yield a, b
    a.close()
    b.close()


def test_two_hosts_tailing_the_same_path_keep_their_own_checkpoints(
    two_hosts: tuple[Store, Store],
) -> None:
    a, b = two_hosts
    a.save_checkpoint(Checkpoint("/var/log/bot.log", 1, 2, "aaa", 10, 500, 7), T0)
    b.save_checkpoint(Checkpoint("/var/log/bot.log", 3, 4, "bbb", 10, 90, 2), T0)
    a.save_checkpoint(Checkpoint("/var/log/bot.log", 1, 2, "aaa", 10, 600, 8), T0)
    assert a.load_checkpoints()["/var/log/bot.log"].offset == 600
    assert b.load_checkpoints()["/var/log/bot.log"].offset == 90
    assert b.last_checkpoint_at() == T0
    a.save_checkpoint(Checkpoint("/var/log/x.log", 1, 5, "x", 1, 1, 1), T0 + timedelta(hours=1))
    assert b.last_checkpoint_at() == T0


def test_checkpoints_and_host_state_from_before_hosts_become_this_hosts(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    Store(path, host="old").close()
    with sqlite3.connect(path) as db:  # as a store from before hosts left them
        db.execute("UPDATE checkpoints SET host = ''")
        db.execute(
            "INSERT INTO checkpoints (path, device, inode, fingerprint, fingerprint_len, "
            "offset, line_no, updated_at) VALUES ('/log/a.log', 1, 2, 'f', 1, 77, 3, 'x')"
        )
        db.execute("INSERT INTO meta VALUES ('last_alive', '2026-11-30T10:00:00+00:00')")
    store = Store(path, host="h1")
    assert store.load_checkpoints()["/log/a.log"].offset == 77
    assert store.get_meta(host_key("last_alive", "h1")) == "2026-11-30T10:00:00+00:00"
    assert store.get_meta("last_alive") is None
    store.close()


def beat(name: str, **changes: object) -> HostBeat:
    fields: dict[str, object] = {
        "name": name,
        "instance": f"{name}-1",
        "pid": 42,
        "version": "0.1.0",
        "started_at": T0,
        "files": (HostFile("/log/bot.log", 900, 12, T0, None),),
        "checks": (("disk /srv", "ok"),),
    }
    fields.update(changes)
    return HostBeat(**fields)  # type: ignore[arg-type]  # test data by keyword


def test_a_heartbeat_upserts_the_hosts_row_with_its_files_and_checks(
    two_hosts: tuple[Store, Store],
) -> None:
    a, b = two_hosts
    hosts_a, hosts_b = HostStore(a), HostStore(b)
    hosts_a.beat(beat("a"), T0)
    hosts_b.beat(beat("b", checks=(("disk /srv", "critical"),)), T0)
    hosts_b.beat(beat("b", instance="b-2", pid=43), T0)
    rows = hosts_a.hosts(T0)
    assert [r.name for r in rows] == ["a", "b"]
    assert rows[1].beat == beat("b", instance="b-2", pid=43)
    assert rows[0].beat.files[0].path == "/log/bot.log"
    assert hosts_a.count() == 2


def test_silence_is_measured_on_the_stores_clock(tmp_path: Path) -> None:
    hosts = HostStore(Store(tmp_path / "s.sqlite3", host="a"))
    hosts.beat(beat("a"), T0)
    row = hosts.host("a", T0 + timedelta(seconds=90))
    assert row is not None
    assert row.silent_for == 90.0
    assert row.heartbeat_at == T0


def test_on_postgresql_the_heartbeat_takes_the_servers_clock_not_the_hosts(
    postgres: PgCluster,
) -> None:
    store = PgStore(postgres.fresh(), host="a")
    skewed = T0 - timedelta(days=400)  # a host whose clock is far off
    stamped = HostStore(store).beat(beat("a"), skewed)
    assert abs((stamped - store.store_now(skewed)).total_seconds()) < 60
    row = HostStore(store).host("a", skewed)
    assert row is not None and row.silent_for < 60
    store.close()


def test_a_second_copy_with_the_same_host_name_is_refused_until_the_first_ends(
    postgres: PgCluster,
) -> None:
    url = postgres.fresh()
    first, second, other = PgStore(url, host="b"), PgStore(url, host="b"), PgStore(url, host="c")
    assert first.claim_host()
    assert not second.claim_host()
    assert other.claim_host()
    first.close()
    assert second.claim_host(wait=5.0)  # once the server has ended the first's session
    for store in (second, other):
        store.close()


def test_a_queued_fix_is_claimed_once_and_a_claimed_one_never_expires(
    two_hosts: tuple[Store, Store],
) -> None:
    a, b = two_hosts
    front, agent = WorkStore(a), WorkStore(b)
    first = front.request("b", 7, "chown", "admin:1", T0)
    assert first is not None
    assert front.request("b", 7, "chown", "admin:1", T0) is None  # the same fix waits already
    second = front.request("b", 8, "mkdir", "admin:1", T0)
    assert second is not None
    assert [w.id for w in agent.pending("b")] == [first, second]
    assert agent.pending("a") == []
    assert agent.claim(first, "b:1")
    assert not agent.claim(first, "b:2")
    expired = front.expire(T0 + timedelta(minutes=5), T0 + timedelta(minutes=6))
    assert [w.id for w in expired] == [second]
    assert not agent.claim(second, "b:1")
    agent.finish(first, T0)
    done = front.item(first)
    assert done is not None and (done.state, done.claimed_by) == (WorkState.DONE, "b:1")
    assert front.request("b", 7, "chown", "admin:1", T0) is not None  # done: may be asked again


def test_incidents_are_counted_per_host_and_listed_for_one_host(
    two_hosts: tuple[Store, Store],
) -> None:
    a, b = two_hosts
    for store, keys in ((a, ["/x"]), (b, ["/y", "/z", "/z"])):
        book = IncidentBook(store, FakeClock())
        for key in keys:
            record = Record(source="/log/bot.log", line_no=1, text=f"ERROR denied {key}")
            book.record(Match("permisos", Severity.ERROR, record, frozen_map({"path": key}), key))
    assert a.host_counts() == {"a": (1, 1), "b": (2, 3)}
    assert {i.key for i in a.incidents(host="b")} == {"/y", "/z"}
    assert a.count_incidents(host="a") == 1


def test_each_host_counts_its_own_rule_rate(two_hosts: tuple[Store, Store]) -> None:
    a, b = two_hosts
    TrendStore(a).count_rules(T0, ["permisos"] * 3)
    TrendStore(b).count_rules(T0, ["permisos"] * 500)  # a storm on b is not a's
    assert TrendStore(a).recent(T0 - timedelta(minutes=1)) == {"permisos": 3}
    assert TrendStore(b).recent(T0 - timedelta(minutes=1)) == {"permisos": 500}
    assert TrendStore(a).hourly("permisos", T0, T0 + timedelta(hours=1)) == [3]
    assert TrendStore(a).counting_since(T0) == T0
    assert TrendStore(b).counting_since(T0 + timedelta(hours=2)) == T0 + timedelta(hours=2)


def test_a_storm_is_one_hosts_and_counts_only_its_incidents(
    two_hosts: tuple[Store, Store],
) -> None:
    a, b = two_hosts
    for store, keys in ((a, ["/a1"]), (b, ["/b1", "/b2"])):
        book = IncidentBook(store, FakeClock())
        for key in keys:
            record = Record(source="/log/bot.log", line_no=1, text=f"ERROR denied {key}")
            book.record(Match("permisos", Severity.ERROR, record, frozen_map({"path": key}), key))
    storm = b.open_storm("permisos", T0 - timedelta(minutes=1))
    assert a.open_storms() == {}
    assert b.open_storms() == {"permisos": storm}
    facts = a.storm(storm)  # as the front renders it, whichever host it runs on
    assert facts is not None and facts.incidents == 2
    assert {key for key, _ in facts.top_keys} == {"/b1", "/b2"}


def test_a_fix_cut_off_by_a_crash_is_over_at_start_and_may_be_asked_again(
    two_hosts: tuple[Store, Store],
) -> None:
    a, b = two_hosts
    front, agent = WorkStore(a), WorkStore(b)
    first = front.request("b", 7, "chown", "admin:1", T0)
    assert first is not None and agent.claim(first, "b:1")
    assert front.request("b", 7, "chown", "admin:1", T0) is None
    assert agent.interrupted("b", T0) == 1  # b starts again after a crash
    assert front.request("b", 7, "chown", "admin:1", T0) is not None
