"""A tap on another host's alert: queued for that host's agent, run there once, or refused."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from adminbot.actions.executor import ActionKind
from adminbot.actions.remedies import Remedies
from adminbot.actions.runs import RunStatus
from adminbot.fleet.work import RemoteFixes
from adminbot.incidents.book import IncidentBook
from adminbot.models import Incident, IncidentState, Match, Record, Severity, frozen_map
from adminbot.notify.outbox import UPDATE, Outbox
from adminbot.store.hosts import HostBeat, HostStore
from adminbot.store.sqlite import Store
from adminbot.store.work import WorkState, WorkStore
from tests.clocks import T0, FakeClock
from tests.test_remedies import FakeMachine

CHAT = 5
K = ActionKind


class Host:
    """One host's store, book, outbox, machine and remedies, as the runtime wires them."""

    def __init__(self, path: Path, name: str, clock: FakeClock, machine: FakeMachine) -> None:
        self.store = Store(path, host=name)
        self.book = IncidentBook(self.store, clock)
        self.outbox = Outbox(self.store, [CHAT], clock=clock)
        self.hosts = HostStore(self.store)
        self.remote = RemoteFixes(
            self.store,
            WorkStore(self.store),
            self.hosts,
            self.outbox,
            silent_after=30.0,
            expire_after=300.0,
            clock=clock,
        )
        self.machine = machine
        self.remedies = Remedies(
            self.store, self.book, self.outbox, machine, clock=clock, remote=self.remote
        )

    def beat(self, clock: FakeClock) -> None:
        self.hosts.beat(HostBeat(self.store.host, "1", 1, "0.1.0", T0), clock())

    def record(self, path: str = "/srv/b/a.mp4") -> Incident:
        record = Record(source="/log/bot.log", line_no=1, text=f"ERROR denied {path}")
        match = Match("permisos", Severity.ERROR, record, frozen_map({"path": path}), path)
        return self.book.record(match).incident


class Fleet:
    def __init__(self, tmp_path: Path) -> None:
        self.clock = FakeClock()
        path = tmp_path / "s.sqlite3"
        # the front's machine refuses everything: its folders are not b's
        self.a = Host(path, "a", self.clock, FakeMachine(unavailable=frozenset(K)))
        self.b = Host(path, "b", self.clock, FakeMachine())


async def test_a_tap_on_another_hosts_incident_runs_on_that_host_once(tmp_path: Path) -> None:
    fleet = Fleet(tmp_path)
    fleet.b.beat(fleet.clock)
    incident = fleet.b.record()
    assert fleet.a.remedies.offered(incident) == [K.CHOWN]  # b decides what it can do
    result = await fleet.a.remedies.run(incident.id, K.CHOWN, "admin:1")
    assert result.status is RunStatus.QUEUED
    assert fleet.a.machine.runs == []
    again = await fleet.a.remedies.run(incident.id, K.CHOWN, "admin:1")
    assert again.status is RunStatus.BUSY  # the same fix waits already
    assert await fleet.b.remote.poll(fleet.b.remedies.run) == 1
    assert await fleet.b.remote.poll(fleet.b.remedies.run) == 0
    assert fleet.b.machine.runs == [(K.CHOWN, {"path": "/srv/b/a.mp4"})]
    after = fleet.b.store.incident(incident.id)
    assert after is not None and after.state is IncidentState.RESOLVED
    [entry] = fleet.a.store.audit(incident_id=incident.id)
    assert (entry.kind, entry.actor, entry.ok) == ("chown", "admin:1", True)


async def test_a_fix_for_a_host_that_does_not_heartbeat_is_refused_and_nothing_runs(
    tmp_path: Path,
) -> None:
    fleet = Fleet(tmp_path)
    fleet.b.beat(fleet.clock)
    incident = fleet.b.record()
    fleet.clock.advance(31)
    assert not fleet.a.remote.reachable("b")
    result = await fleet.a.remedies.run(incident.id, K.CHOWN, "admin:1")
    assert result.status is RunStatus.UNREACHABLE
    assert await fleet.b.remote.poll(fleet.b.remedies.run) == 0
    assert fleet.b.machine.runs == []


async def test_a_fix_nobody_picks_up_in_time_expires_and_the_alert_says_so(
    tmp_path: Path,
) -> None:
    fleet = Fleet(tmp_path)
    fleet.b.beat(fleet.clock)
    incident = fleet.b.record()
    await fleet.a.remedies.run(incident.id, K.CHOWN, "admin:1")
    fleet.clock.advance(299)
    assert fleet.a.remote.expire() == []
    fleet.clock.advance(2)
    [expired] = fleet.a.remote.expire()
    assert expired.state is WorkState.PENDING  # as it was when it expired
    assert await fleet.b.remote.poll(fleet.b.remedies.run) == 0
    [entry] = fleet.a.store.audit(incident_id=incident.id)
    assert (entry.kind, entry.ok) == ("expired", False)
    assert entry.summary == "host b did not pick the fix up within 5 min"
    due = fleet.a.store.due(fleet.clock() + timedelta(days=1))
    assert [(i.kind, i.incident_id) for i in due] == [(UPDATE, incident.id)]


async def test_a_fix_the_agent_cannot_run_on_its_host_is_audited_as_refused(
    tmp_path: Path,
) -> None:
    fleet = Fleet(tmp_path)
    fleet.b.machine.unavailable = frozenset({K.CHOWN})
    fleet.b.beat(fleet.clock)
    incident = fleet.b.record()
    await fleet.a.remedies.run(incident.id, K.CHOWN, "admin:1")
    assert await fleet.b.remote.poll(fleet.b.remedies.run) == 1
    assert fleet.b.machine.runs == []
    [entry] = fleet.a.store.audit(incident_id=incident.id)
    assert (entry.kind, entry.summary) == ("refused", "chown is not possible on host b")


async def test_with_one_host_a_tap_runs_locally_as_before(tmp_path: Path) -> None:
    fleet = Fleet(tmp_path)
    incident = fleet.b.record()
    result = await fleet.b.remedies.run(incident.id, K.CHOWN, "admin:1")
    assert result.status is RunStatus.DONE
    assert WorkStore(fleet.b.store).pending("b") == []
