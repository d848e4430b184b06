"""Router: committed events reach every sink in order; unrouted incidents are found again."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from adminbot.incidents.book import IncidentBook
from adminbot.incidents.events import IncidentEvent
from adminbot.incidents.intake import EventQueue
from adminbot.models import Match, Record, Severity, frozen_map
from adminbot.notify.outbox import Outbox
from adminbot.service.router import Router, unrouted
from adminbot.store.sqlite import Store
from tests.clocks import FakeClock


def match(path: str) -> Match:
    record = Record(source="/log/bot.log", line_no=1, text=f"ERROR denied {path}")
    return Match("permisos", Severity.ERROR, record, frozen_map({"path": path}), path)


async def test_every_sink_hears_every_event_in_order_even_when_one_fails(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "s.sqlite3")
    book = IncidentBook(store, FakeClock())
    heard: list[tuple[str, int]] = []

    def broken(event: IncidentEvent) -> None:
        raise RuntimeError("a sink bug")

    queue = EventQueue(asyncio.get_running_loop())
    router = Router(
        queue,
        [
            lambda e: heard.append(("first", e.incident.id)),
            broken,
            lambda e: heard.append(("last", e.incident.id)),
        ],
    )
    router.start()
    events = [book.record(match(f"/srv/{n}.mp4")) for n in range(3)]
    queue.put(events[:2])
    queue.put(events[2:])
    for _ in range(100):
        if len(heard) == 6:
            break
        await asyncio.sleep(0.01)
    await router.stop()
    ids = [e.incident.id for e in events]
    assert heard == [(who, i) for i in ids for who in ("first", "last")]
    assert router.routed == 3
    store.close()


async def test_stopping_routes_what_is_still_queued(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    book = IncidentBook(store, FakeClock())
    heard: list[int] = []
    queue = EventQueue(asyncio.get_running_loop())
    router = Router(queue, [lambda e: heard.append(e.incident.id)])
    queue.put([book.record(match("/srv/a.mp4"))])
    await router.stop()
    assert len(heard) == 1
    store.close()


async def test_settle_runs_once_after_each_drain_that_routed_something(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    book = IncidentBook(store, FakeClock())
    heard: list[str] = []
    queue = EventQueue(asyncio.get_running_loop())
    router = Router(
        queue, [lambda e: heard.append("event")], settle=[lambda: heard.append("settle")]
    )
    assert router.route_pending() == 0
    queue.put([book.record(match(f"/srv/{n}.mp4")) for n in range(3)])
    router.route_pending()
    assert heard == ["event", "event", "event", "settle"]
    store.close()


def test_an_incident_recorded_but_never_followed_up_is_found_at_start(tmp_path: Path) -> None:
    clock = FakeClock()
    store = Store(tmp_path / "s.sqlite3")
    book = IncidentBook(store, clock)
    outbox = Outbox(store, [5], clock=clock)
    lost = book.record(match("/srv/lost.mp4"))
    alerted = book.record(match("/srv/alerted.mp4"))
    outbox.incident_event(alerted)
    found = unrouted(store, book)
    assert [e.incident.id for e in found] == [lost.incident.id]
    assert found[0].match.key == "/srv/lost.mp4" and not found[0].muted


def test_a_lost_incident_of_a_muted_rule_stays_muted(tmp_path: Path) -> None:
    clock = FakeClock()
    store = Store(tmp_path / "s.sqlite3")
    book = IncidentBook(store, clock)
    book.record(match("/srv/lost.mp4"))
    book.mute("permisos", timedelta(hours=1), "@ana")
    [event] = unrouted(store, book)
    assert event.muted


def test_repeats_of_an_incident_in_one_drain_reach_the_acting_sinks_once_counters_all(
    tmp_path: Path,
) -> None:
    """A storm of repeats is one routing per incident and drain, not thousands of writes;
    the metrics still count every match."""
    store = Store(tmp_path / "s.sqlite3")
    book = IncidentBook(store, FakeClock())
    queue = EventQueue()
    acted: list[tuple[str, int]] = []
    counted: list[int] = []
    router = Router(
        queue,
        [lambda e: acted.append((e.kind.value, e.incident.count))],
        [lambda e: counted.append(e.incident.id)],
    )
    a = [book.record(match("/srv/a.mp4")) for _ in range(3)]
    b = [book.record(match("/srv/b.mp4")) for _ in range(2)]
    queue.put([a[0], b[0], a[1], b[1], a[2]])
    assert router.route_pending() == 5
    assert len(counted) == 5
    assert acted == [("opened", 1), ("opened", 1), ("repeated", 2), ("repeated", 3)]
    store.close()


async def test_repeats_collapsed_into_a_later_one_count_as_routed(tmp_path: Path) -> None:
    """Sinks hear an incident's last repeat of a drain only, but every event is routed:
    `routed` is how far the router is behind the intake (the storm benchmark waits on it)."""
    store = Store(tmp_path / "s.sqlite3")
    book = IncidentBook(store, FakeClock())
    heard: list[str] = []
    counted: list[str] = []
    queue = EventQueue(asyncio.get_running_loop())
    router = Router(queue, [lambda e: heard.append(e.kind)], [lambda e: counted.append(e.kind)])
    queue.put([book.record(match("/srv/a.mp4")) for _ in range(4)])
    assert router.route_pending() == 4
    assert (heard, len(counted), router.routed) == (["opened", "repeated"], 4, 4)
    store.close()


async def test_the_router_settles_its_sinks_when_idle_too() -> None:
    """A sink that holds something back until later (the console's storm count) hears
    `settle` even when no event comes, or it would wait for the next storm to say it."""
    settled: list[int] = []
    queue = EventQueue(asyncio.get_running_loop())
    router = Router(queue, [], settle=[lambda: settled.append(1)])
    router.start()
    for _ in range(200):
        if settled:
            break
        await asyncio.sleep(0.01)
    await router.stop()
    assert settled
