"""HealthWatcher: a check's flips become incidents (for a check that raises a rule) or notices.

Real Store, IncidentBook, Intake and Outbox; only the checks are fake: each answers
the state the test set, as a probe of a server or a disk would.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adminbot.checks.base import CheckResult, CheckState, CheckTracker, Flip
from adminbot.checks.health import HealthWatcher
from adminbot.incidents.book import IncidentBook
from adminbot.incidents.events import EventKind, Hold
from adminbot.incidents.intake import EventQueue, Intake
from adminbot.incidents.maintenance import Maintenance
from adminbot.incidents.noise import NoiseGate
from adminbot.incidents.recurrence import recurrence
from adminbot.incidents.schedule import Scope
from adminbot.models import IncidentState, Match, Origin, Record, Severity
from adminbot.notify.eventlog import EventLog
from adminbot.notify.notices import NoticeKind
from adminbot.notify.outbox import MESSAGE, UPDATE, Outbox
from adminbot.store.noise import NoiseStore
from adminbot.store.sqlite import Store
from tests.clocks import T0, FakeClock

ADMIN_CHAT = 5
SERVER_DOWN = "servidor_caido"


class FakeCheck:
    """A probe whose answer the test sets; `raises` names the rule its outage is."""

    def __init__(self, name: str, clock: FakeClock, *, raises: str | None = None) -> None:
        self.name = name
        self.clock = clock
        self.state = CheckState.OK
        if raises is not None:
            self.raises = raises

    async def run(self) -> CheckResult:
        return CheckResult.note(self.name, self.state, f"{self.name} is {self.state}", self.clock())


class World:
    """The watcher over a Bot API check that raises servidor_caido and a plain disk check."""

    def __init__(self, tmp_path: Path) -> None:
        self.clock = FakeClock()
        self.store = Store(tmp_path / "s.sqlite3")
        noise = NoiseStore(self.store)
        self.maintenance = Maintenance(noise, clock=self.clock)
        gate = NoiseGate(noise, self.store, self.maintenance)
        self.book = IncidentBook(self.store, self.clock, gate=gate)
        self.queue = EventQueue()
        self.events = EventLog(tmp_path / "events.json")
        self.intake = Intake(self.store, self.book, self.events, self.queue, clock=self.clock)
        self.outbox = Outbox(self.store, [ADMIN_CHAT], clock=self.clock)
        self.api = FakeCheck("bot api", self.clock, raises=SERVER_DOWN)
        self.disk = FakeCheck("disk /srv", self.clock)
        self.heard: list[Flip] = []
        self.watcher = HealthWatcher(
            [self.api, self.disk],
            CheckTracker(),
            self.intake,
            self.outbox,
            on_flip=[self.heard.append],
        )

    def queued(self, kind: str) -> list[Any]:
        """What waits in the outbox of `kind`: notice payloads, or incident ids."""
        due = self.store.due(self.clock.now + timedelta(days=1), limit=1000)
        items = [item for item in due if item.kind == kind]
        return [item.payload if kind == MESSAGE else item.incident_id for item in items]

    def open_outages(self) -> list[int]:
        states = [IncidentState.OPEN, IncidentState.ACKNOWLEDGED, IncidentState.FIXING]
        return [i.id for i in self.store.incidents(rule=SERVER_DOWN, states=states)]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path)
    yield built
    built.events.close()
    built.store.close()


async def test_a_check_going_critical_opens_one_incident_of_its_rule(world: World) -> None:
    await world.watcher.tick()
    world.api.state = CheckState.CRITICAL
    await world.watcher.tick()
    [incident] = world.store.incidents(rule=SERVER_DOWN)
    assert (incident.state, incident.severity) == (IncidentState.OPEN, Severity.CRITICAL)
    assert incident.source == "check:bot api"
    [event] = world.queue.drain()
    assert (event.kind, event.match.origin) == (EventKind.OPENED, Origin.CHECK)
    assert world.queued(MESSAGE) == []  # told by the incident's alert, not by a notice


async def test_a_check_staying_critical_opens_nothing_more(world: World) -> None:
    world.api.state = CheckState.CRITICAL
    await world.watcher.tick()
    world.queue.drain()
    world.clock.advance(60)
    assert await world.watcher.tick() == []
    await world.watcher.tick()
    [incident] = world.store.incidents(rule=SERVER_DOWN)
    assert incident.count == 1
    assert world.queue.drain() == []


async def test_recovery_resolves_every_open_incident_of_the_rule_and_refreshes_its_alert(
    world: World,
) -> None:
    record = Record(source="/log/bot.log", line_no=3, text="ERROR Bot API unreachable")
    from_log = world.intake.submit([Match(SERVER_DOWN, Severity.CRITICAL, record, key="log")])
    world.api.state = CheckState.CRITICAL
    await world.watcher.tick()
    assert len(world.open_outages()) == 2
    world.api.state = CheckState.OK
    await world.watcher.tick()
    assert world.open_outages() == []
    resolved = world.store.incidents(rule=SERVER_DOWN, states=[IncidentState.RESOLVED])
    assert from_log[0].incident.id in {i.id for i in resolved}
    assert sorted(world.queued(UPDATE)) == sorted(i.id for i in resolved)
    assert len(resolved) == 2
    [notice] = world.queued(MESSAGE)
    assert (notice["name"], notice["state"], notice["old"]) == ("bot api", "ok", "critical")


async def test_a_plain_checks_flips_are_queued_as_check_notices(world: World) -> None:
    await world.watcher.tick()
    world.disk.state = CheckState.WARNING
    await world.watcher.tick()
    world.disk.state = CheckState.OK
    await world.watcher.tick()
    told = [(n["kind"], n["name"], n["old"], n["state"]) for n in world.queued(MESSAGE)]
    flip = NoticeKind.CHECK_FLIP.value
    assert told == [(flip, "disk /srv", "ok", "warning"), (flip, "disk /srv", "warning", "ok")]
    assert world.store.incidents() == []


async def test_the_bot_api_outage_is_dated_from_its_first_critical_round(world: World) -> None:
    await world.watcher.tick()
    assert world.watcher.bot_api_down_since() is None
    world.api.state = CheckState.CRITICAL
    await world.watcher.tick()
    world.clock.advance(30)
    await world.watcher.tick()
    assert world.watcher.bot_api_down_since() == T0
    world.api.state = CheckState.OK
    await world.watcher.tick()
    assert world.watcher.bot_api_down_since() is None


async def test_a_plain_check_going_critical_is_no_bot_api_outage(world: World) -> None:
    world.disk.state = CheckState.CRITICAL
    await world.watcher.tick()
    assert world.watcher.is_critical("disk /srv")
    assert world.watcher.bot_api_down_since() is None


async def test_flip_listeners_hear_every_flip_and_nothing_else(world: World) -> None:
    await world.watcher.tick()  # first results, all ok: no flip
    world.api.state = CheckState.CRITICAL
    world.disk.state = CheckState.WARNING
    await world.watcher.tick()
    await world.watcher.tick()  # unchanged: no flip
    world.api.state = CheckState.OK
    await world.watcher.tick()
    heard = [(f.check, f.old, f.new) for f in world.heard]
    assert heard == [
        ("bot api", CheckState.OK, CheckState.CRITICAL),
        ("disk /srv", CheckState.OK, CheckState.WARNING),
        ("bot api", CheckState.CRITICAL, CheckState.OK),
    ]


async def test_an_outage_that_flaps_is_one_alert_edited_not_a_notice_per_recovery(
    world: World,
) -> None:
    await world.watcher.tick()
    for _ in range(3):
        world.api.state = CheckState.CRITICAL
        await world.watcher.tick()
        world.clock.advance(20)
        world.api.state = CheckState.OK
        await world.watcher.tick()
        world.clock.advance(20)
    outages = world.store.incidents(rule=SERVER_DOWN)
    assert [i.state for i in outages] == [IncidentState.RESOLVED] * 3
    recoveries = [n for n in world.queued(MESSAGE) if n["state"] == "ok"]
    assert len(recoveries) == 1  # the first recovery is told; the flaps are the alert's
    newest = max(outages, key=lambda i: i.id)
    again = recurrence(world.store, newest, timedelta(minutes=10))
    assert again is not None and again.count == 3


async def test_an_outage_long_after_the_last_one_is_told_again(world: World) -> None:
    await world.watcher.tick()
    for _ in range(2):
        world.api.state = CheckState.CRITICAL
        await world.watcher.tick()
        world.api.state = CheckState.OK
        await world.watcher.tick()
        world.clock.advance(3600)
    recoveries = [n for n in world.queued(MESSAGE) if n["state"] == "ok"]
    assert len(recoveries) == 2


async def test_an_outage_maintenance_held_ends_without_a_recovery_notice(world: World) -> None:
    await world.watcher.tick()
    world.maintenance.start(timedelta(minutes=30), Scope(frozenset({SERVER_DOWN})), "Ana")
    world.api.state = CheckState.CRITICAL
    await world.watcher.tick()
    [outage] = world.open_outages()
    assert world.book.is_held(outage)
    world.clock.advance(60)
    world.api.state = CheckState.OK
    await world.watcher.tick()
    assert world.open_outages() == []
    assert world.queued(MESSAGE) == []
    assert world.queued(UPDATE) == []  # no alert to edit either
    world.clock.advance(30 * 60)
    [over] = world.maintenance.close_due()
    assert [(t.rule, t.opened) for t in over.by_rule] == [(SERVER_DOWN, 1)]  # it has the outage


async def test_an_outage_that_outlives_its_maintenance_window_is_alerted_then(
    world: World,
) -> None:
    await world.watcher.tick()
    world.maintenance.start(timedelta(minutes=30), Scope(frozenset({SERVER_DOWN})), "Ana")
    world.api.state = CheckState.CRITICAL
    await world.watcher.tick()
    [outage] = world.open_outages()
    assert [e.held for e in world.queue.drain()] == [Hold.MAINTENANCE]
    world.clock.advance(20 * 60)
    await world.watcher.tick()
    assert world.queue.drain() == []  # still inside the window: nothing more
    world.clock.advance(11 * 60)
    await world.watcher.tick()
    [event] = world.queue.drain()
    assert (event.kind, event.held, event.incident.id) == (EventKind.OPENED, None, outage)
    assert not world.book.is_held(outage)
    await world.watcher.tick()
    assert world.queue.drain() == []  # told once
