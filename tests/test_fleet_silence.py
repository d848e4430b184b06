"""A host whose heartbeat stops is one critical incident, resolved when it beats again."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from adminbot.fleet.silence import SilenceWatch
from adminbot.incidents.book import IncidentBook
from adminbot.incidents.intake import EventQueue, Intake
from adminbot.models import IncidentState, Severity
from adminbot.notify.eventlog import EventLog
from adminbot.notify.outbox import Outbox
from adminbot.store.hosts import HostBeat, HostStore
from adminbot.store.sqlite import Store
from tests.clocks import T0, FakeClock

CHAT = 1001


def beat(store: Store, name: str, clock: FakeClock) -> None:
    HostStore(store).beat(HostBeat(name, f"{name}-1", 1, "0.1.0", T0), clock())


class Front:
    """Host a, with front duties, watching host b share its store."""

    def __init__(self, tmp_path: Path) -> None:
        self.clock = FakeClock()
        self.store = Store(tmp_path / "s.sqlite3", host="a")
        self.book = IncidentBook(self.store, self.clock)
        self.outbox = Outbox(self.store, {CHAT}, clock=self.clock)
        self.events = EventQueue()
        intake = Intake(
            self.store, self.book, EventLog(tmp_path / "e.json"), self.events, clock=self.clock
        )
        self.watch = SilenceWatch(
            HostStore(self.store),
            intake,
            self.book,
            self.outbox,
            own_host="a",
            after=30.0,
            zone=ZoneInfo("Europe/Madrid"),
            clock=self.clock,
        )
        self.b = Store(tmp_path / "s.sqlite3", host="b")

    def silent_incidents(self) -> list[tuple[str, IncidentState, str]]:
        found = self.store.incidents(rule="host_silencioso")
        return [(i.host, i.state, i.sample) for i in found]


def test_a_host_silent_for_three_periods_is_one_critical_incident_of_that_host(
    tmp_path: Path,
) -> None:
    front = Front(tmp_path)
    beat(front.b, "b", front.clock)
    beat(front.store, "a", front.clock)
    front.clock.advance(29)
    assert front.watch.round() == []
    front.clock.advance(2)
    assert front.watch.round() == ["b"]
    front.clock.advance(60)
    assert front.watch.round() == ["b"]
    [incident] = front.store.incidents(rule="host_silencioso")
    assert incident.host == "b"
    assert incident.severity is Severity.CRITICAL
    since = T0.astimezone(ZoneInfo("Europe/Madrid"))
    assert incident.sample == f"host b silent since {since:%H:%M}"
    [opened] = front.events.drain()  # routed to the alert after the commit, like any incident
    assert (opened.kind, opened.incident.id) == ("opened", incident.id)


def test_the_silent_host_incident_is_resolved_when_it_beats_again(tmp_path: Path) -> None:
    front = Front(tmp_path)
    beat(front.b, "b", front.clock)
    front.clock.advance(40)
    front.watch.round()
    beat(front.b, "b", front.clock)
    assert front.watch.round() == []
    assert front.silent_incidents()[0][:2] == ("b", IncidentState.RESOLVED)
    front.clock.advance(40)
    front.watch.round()  # silent again later: a new incident
    assert [s for _, s, _ in front.silent_incidents()] == [
        IncidentState.OPEN,
        IncidentState.RESOLVED,
    ]


def test_the_front_never_reports_itself_silent(tmp_path: Path) -> None:
    front = Front(tmp_path)
    beat(front.store, "a", front.clock)
    front.clock.advance(3600)
    assert front.watch.round() == []
