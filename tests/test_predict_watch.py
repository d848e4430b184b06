"""Predictions wired: disk samples from each check round, match counts from the intake.

Real Store, Intake, HealthWatcher and DiskCheck; only the usage reader and the clock
are fakes, so a series over hours runs in milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from adminbot.checks.base import CheckTracker
from adminbot.checks.disk import DiskCheck
from adminbot.checks.health import HealthWatcher
from adminbot.incidents.book import IncidentBook
from adminbot.incidents.intake import OPEN_STATES, EventQueue, Intake
from adminbot.models import IncidentState, Match, Origin, Record, Severity
from adminbot.notify.eventlog import EventLog
from adminbot.predict.watch import Predictions
from adminbot.store.retention import prune
from adminbot.store.sqlite import Store
from adminbot.store.trends import TrendStore
from tests.clocks import T0, FakeClock

GiB = 2**30
FOLDER = "/srv/descargas"
RATE = int(1.2 * GiB)  # per hour
NOW_USED = int(92.4 * GiB)  # 2.6 GiB below 95 % of 100 GiB: full in ~2 h 10 min


class World:
    """A disk check of FOLDER every round, its results handed to the predictions."""

    def __init__(self, tmp_path: Path, *, horizon_hours: float = 6) -> None:
        self.clock = FakeClock()
        self.store = Store(tmp_path / "s.sqlite3", host="h1")
        self.book = IncidentBook(self.store, self.clock)
        self.events = EventLog(tmp_path / "events.json")
        self.trends = TrendStore(self.store)
        self.intake = Intake(
            self.store,
            self.book,
            self.events,
            EventQueue(),
            clock=self.clock,
            tally=self.trends.count_rules,
        )
        self.usage = SimpleNamespace(total=100 * GiB, used=0, free=0, percent=0.0)
        self.set_used(50 * GiB)
        check = DiskCheck(
            f"disk {FOLDER}", Path(FOLDER), usage_reader=lambda _: self.usage, clock=self.clock
        )
        self.predictions = Predictions(
            self.trends,
            self.intake,
            None,
            crit_percent=95,
            horizon=timedelta(hours=horizon_hours),
            clock=self.clock,
        )
        self.health = HealthWatcher(
            [check], CheckTracker(), self.intake, None, on_round=[self.predictions.round]
        )

    def set_used(self, used: int) -> None:
        self.usage.used, self.usage.free = used, 100 * GiB - used
        self.usage.percent = 100 * used / (100 * GiB)

    async def rounds(self, minutes: int, rate_per_hour: int, end_used: int) -> None:
        """One round every 2 minutes for `minutes`, usage rising to `end_used` at the rate."""
        for step in range(minutes // 2 + 1):
            left = timedelta(minutes=minutes - 2 * step) / timedelta(hours=1)
            self.set_used(int(end_used - rate_per_hour * left))
            await self.health.tick()
            self.clock.advance(120)
        self.clock.advance(-120)

    def incidents(self, rule: str) -> list[tuple[str, IncidentState, str]]:
        return [(i.key, i.state, i.sample) for i in self.store.incidents(rule=rule)]

    def log_matches(self, rule: str, n: int) -> None:
        record = Record(source="/var/log/p.log", line_no=1, text=f"{rule} line", level="ERROR")
        self.intake.submit([Match(rule, Severity.ERROR, record, key=rule)] * n)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path)
    yield built
    built.events.close()
    built.store.close()


async def test_a_filling_disk_raises_one_eta_warning_and_a_flat_one_resolves_it(
    world: World,
) -> None:
    await world.rounds(10, RATE, NOW_USED)  # the first ten minutes make a trend
    [(key, state, sample)] = world.incidents("disco_previsto")
    assert (key, state) == (FOLDER, IncidentState.OPEN)
    assert sample == f"at this rate {FOLDER} is full in ~2 h 10 min (filling 1.2 GB/h)"
    world.clock.advance(120)
    await world.rounds(10, RATE, NOW_USED + RATE // 6)
    assert len(world.incidents("disco_previsto")) == 1  # still the one warning, not again
    [incident] = world.store.incidents(rule="disco_previsto")
    assert incident.count == 1
    world.clock.advance(120)
    await world.rounds(70, 0, NOW_USED + RATE // 6)
    [(_, state, _)] = world.incidents("disco_previsto")
    assert state is IncidentState.RESOLVED


async def test_a_disk_filling_too_slowly_to_matter_within_the_horizon_raises_nothing(
    world: World,
) -> None:
    await world.rounds(20, RATE // 10, NOW_USED)  # 26 h to go, the horizon is 6 h
    assert world.incidents("disco_previsto") == []


async def test_the_forecast_shows_in_the_outlook_while_it_holds(world: World) -> None:
    assert world.predictions.outlook() is None
    await world.rounds(20, RATE, NOW_USED)
    outlook = world.predictions.outlook()
    assert outlook is not None
    [disk] = outlook.disks
    assert disk.folder == FOLDER
    assert round(disk.forecast.eta / timedelta(minutes=1)) == 130  # 2.6 GiB at 1.2 GiB/h


async def test_a_zero_horizon_disables_the_forecast_but_keeps_the_samples_the_chart_draws(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, horizon_hours=0)
    await world.rounds(20, RATE, NOW_USED)
    assert world.incidents("disco_previsto") == []
    assert len(world.trends.disk_samples(FOLDER, T0 - timedelta(days=1))) == 11  # every round
    world.store.close()
    world.events.close()


def history(world: World, hours: int, per_hour: int) -> None:
    """`hours` of `per_hour` timeouts an hour, ending at the clock's hour."""
    start = world.clock.now - timedelta(hours=hours)
    world.trends.counting_since(start)
    for hour in range(hours):
        world.clock.now = start + timedelta(hours=hour, minutes=30)
        world.log_matches("timeout", per_hour)
    world.clock.now = start + timedelta(hours=hours, minutes=5)


def test_log_matches_are_counted_per_rule_and_checks_are_not(world: World) -> None:
    world.log_matches("timeout", 3)
    world.intake.raise_incident(
        Origin.CHECK, "servidor_caido", Severity.CRITICAL, "down", source="check:x", key="*"
    )
    assert world.trends.recent(world.clock.now - timedelta(minutes=10)) == {"timeout": 3}


def test_a_rule_at_eight_times_its_usual_rate_raises_one_warning_then_resolves(
    world: World,
) -> None:
    history(world, 30, per_hour=6)
    world.log_matches("timeout", 8)  # 48/h: 8 times the usual, in the last ten minutes
    world.predictions.check_rates(world.clock.now)
    assert world.incidents("ritmo_inusual") == []  # under 20 lines: too few to tell
    world.log_matches("timeout", 20)
    world.clock.advance(60)
    world.predictions.check_rates(world.clock.now)
    world.predictions.check_rates(world.clock.now)
    [(key, state, sample)] = world.incidents("ritmo_inusual")
    assert (key, state) == ("timeout", IncidentState.OPEN)
    assert sample.startswith("timeout at 28× the usual rate")
    world.clock.advance(15 * 60)
    world.predictions.check_rates(world.clock.now)
    [(_, state, _)] = world.incidents("ritmo_inusual")
    assert state is IncidentState.RESOLVED


def test_a_burst_with_less_than_a_day_of_history_raises_nothing(world: World) -> None:
    history(world, 5, per_hour=1)
    world.log_matches("timeout", 60)
    world.predictions.check_rates(world.clock.now)
    assert world.incidents("ritmo_inusual") == []


def test_a_burst_within_the_usual_rate_raises_nothing(world: World) -> None:
    history(world, 30, per_hour=300)
    world.log_matches("timeout", 60)  # 360/h against 300/h
    world.predictions.check_rates(world.clock.now)
    assert world.incidents("ritmo_inusual") == []


async def test_retention_forgets_old_samples_and_counts(world: World) -> None:
    await world.rounds(20, RATE, NOW_USED)
    world.log_matches("timeout", 3)
    pruned = prune(world.store, world.clock.now + timedelta(seconds=1))
    assert pruned.samples == 11 + 1
    assert world.trends.disk_samples(FOLDER, T0 - timedelta(days=1)) == []
    assert world.trends.recent(T0 - timedelta(days=1)) == {}


def test_after_a_restart_an_open_warning_is_not_raised_again(world: World) -> None:
    world.intake.raise_incident(
        Origin.CHECK, "disco_previsto", Severity.WARNING, "old", source="check:predict", key=FOLDER
    )
    again = Predictions(
        world.trends,
        world.intake,
        None,
        crit_percent=95,
        horizon=timedelta(hours=6),
        clock=world.clock,
    )
    again.disk.hold(FOLDER, "new", {})
    [incident] = world.store.incidents(rule="disco_previsto", states=list(OPEN_STATES))
    assert incident.count == 1
