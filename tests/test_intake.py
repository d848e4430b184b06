"""Intake: one entry point for incidents, effects queued only after the commit."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from adminbot.incidents.book import IncidentBook
from adminbot.incidents.events import EventKind, IncidentEvent
from adminbot.incidents.intake import EventQueue, Intake
from adminbot.models import Checkpoint, IncidentState, Match, Origin, Record, Severity, frozen_map
from adminbot.notify.eventlog import EventLog
from adminbot.store.sqlite import Store
from tests.clocks import FakeClock


class SeeingQueue(EventQueue):
    """Counts, from a second connection, the incidents committed when events are queued."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.visible: list[int] = []

    def put(self, events: list[IncidentEvent]) -> None:
        with sqlite3.connect(self.path) as other:
            (count,) = other.execute("SELECT COUNT(*) FROM incidents").fetchone()
        self.visible.append(count)
        super().put(events)


def match(rule: str = "permisos", path: str = "/srv/a.mp4", line_no: int = 7) -> Match:
    record = Record(source="/log/bot.log", line_no=line_no, text=f"ERROR denied {path}")
    return Match(rule, Severity.ERROR, record, frozen_map({"path": path}), path)


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.clock = FakeClock()
        self.store = Store(tmp_path / "s.sqlite3")
        self.book = IncidentBook(self.store, self.clock)
        self.queue = SeeingQueue(tmp_path / "s.sqlite3")
        self.events = EventLog(tmp_path / "events.json")
        self.intake = Intake(self.store, self.book, self.events, self.queue, clock=self.clock)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path)
    yield built
    built.events.close()
    built.store.close()


def test_events_are_queued_only_once_their_incidents_are_committed(world: World) -> None:
    world.intake.submit([match(path="/srv/a.mp4"), match(path="/srv/b.mp4")])
    assert world.queue.visible == [2]
    assert [e.kind for e in world.queue.drain()] == [EventKind.OPENED, EventKind.OPENED]


def test_a_batch_and_its_checkpoint_commit_together(world: World) -> None:
    checkpoint = Checkpoint("/log/bot.log", 1, 2, "f", 10, offset=120, line_no=7)
    world.intake.submit([match()], checkpoint, lines=7)
    assert world.store.load_checkpoints()["/log/bot.log"].offset == 120
    assert world.store.lines_since(world.clock().replace(minute=0)) == 7


def test_a_failed_commit_queues_nothing_and_keeps_the_old_checkpoint(world: World) -> None:
    world.store.close()
    with pytest.raises(sqlite3.ProgrammingError):
        world.intake.submit([match()], Checkpoint("/log/bot.log", 1, 2, "f", 10, 99, 3))
    assert world.queue.drain() == []


def test_a_check_raises_an_incident_with_its_origin(world: World) -> None:
    event = world.intake.raise_incident(
        Origin.CHECK,
        "servidor_caido",
        Severity.CRITICAL,
        "bot api: refused",
        source="check:bot api",
        key="*",
    )
    assert event.match.origin is Origin.CHECK
    assert event.incident.severity is Severity.CRITICAL
    assert event.match.record.line_no == 0
    [queued] = world.queue.drain()
    assert queued.incident.id == event.incident.id


def test_repeats_are_events_of_the_same_incident(world: World) -> None:
    world.intake.submit([match(), match()])
    first, second = world.queue.drain()
    assert (first.kind, second.kind) == (EventKind.OPENED, EventKind.REPEATED)
    assert second.incident.id == first.incident.id and second.incident.count == 2


def test_resolving_a_rule_closes_its_open_incidents_and_only_those(world: World) -> None:
    world.intake.submit([match("servidor_caido", "x"), match("servidor_caido", "y")])
    world.intake.submit([match("permisos", "z")])
    resolved = world.intake.resolve_rule("servidor_caido", "check", "answers again")
    assert len(resolved) == 2
    states = {i.rule: i.state for i in world.store.incidents(limit=10)}
    assert states == {"servidor_caido": IncidentState.RESOLVED, "permisos": IncidentState.OPEN}
    assert world.intake.resolve_rule("servidor_caido", "check", "again") == []


async def test_a_full_queue_holds_the_tailer_until_the_router_catches_up(world: World) -> None:
    """A storm slows the tailer (its checkpoint waits too) instead of growing memory."""
    import asyncio
    import threading

    queue = EventQueue(asyncio.get_running_loop(), limit=2, hold_seconds=5.0)
    await asyncio.sleep(0)  # the queue learns which thread is the loop's
    events = [world.book.record(match(path=f"/srv/{n}.mp4")) for n in range(4)]
    done = threading.Event()

    def tailer() -> None:
        queue.put(events)
        queue.wait_for_room()
        done.set()

    thread = threading.Thread(target=tailer)
    thread.start()
    await asyncio.sleep(0.2)
    assert not done.is_set()  # 4 waiting > 2: held
    assert len(queue.drain()) == 4
    await asyncio.to_thread(thread.join, 5)
    assert done.is_set()
    queue.put(events)
    queue.wait_for_room()  # the loop's own thread is never held
