"""Reminders: a critical incident nobody took is announced again, then every period."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from adminbot.incidents.book import IncidentBook
from adminbot.models import IncidentState, Match, Record, Severity, frozen_map
from adminbot.notify.outbox import Outbox
from adminbot.notify.reminders import Reminders
from adminbot.store.sqlite import Store
from tests.clocks import FakeClock


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.clock = FakeClock()
        self.store = Store(tmp_path / "s.sqlite3")
        self.book = IncidentBook(self.store, self.clock)
        self.outbox = Outbox(self.store, [5], clock=self.clock)
        self.reminders = Reminders(
            self.store, self.book, self.outbox, after=900, every=3600, clock=self.clock
        )

    def incident(self, severity: Severity = Severity.CRITICAL, rule: str = "disco_lleno") -> int:
        record = Record("/log/bot.log", 1, "ERROR No space left on device")
        match = Match(rule, severity, record, frozen_map({}), rule)
        return self.book.record(match).incident.id

    def after(self, minutes: float) -> list[int]:
        self.clock.advance(minutes * 60)
        return self.reminders.remind()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path)
    yield built
    built.store.close()


def test_a_critical_incident_is_reminded_after_15_min_then_every_hour(world: World) -> None:
    incident = world.incident()
    assert world.after(14) == []
    assert world.after(1) == [incident]
    assert world.after(30) == []
    assert world.after(30) == [incident]
    kinds = [row.payload.get("kind") for row in world.store.due(world.clock(), limit=10)]
    assert kinds.count("reminder") == 2


def test_an_acknowledged_resolved_or_muted_incident_is_not_reminded(world: World) -> None:
    taken = world.incident(rule="disco_lleno")
    closed = world.incident(rule="servidor_caido")
    muted = world.incident(rule="proceso_caido")
    world.book.move(taken, IncidentState.ACKNOWLEDGED, "@ana")
    world.book.move(closed, IncidentState.RESOLVED, "@ana")
    world.book.mute("proceso_caido", timedelta(hours=2), "@ana")
    assert world.after(20) == []
    assert muted not in world.after(60)


def test_only_critical_incidents_are_reminded(world: World) -> None:
    world.incident(Severity.ERROR, rule="timeout")
    assert world.after(20) == []
