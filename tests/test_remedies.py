"""Remedies: which fixes are offered, and running each fix once, audited and reported.

Real Store, IncidentBook and Outbox; only the machine is fake. `FakeMachine` stands in
for adminbot.actions.executor.Actions, which would run commands, chown files and restart
containers: it records what it was asked to do and answers with a chosen outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adminbot.actions.executor import ActionBudget, ActionKind, ActionOutcome
from adminbot.actions.outcome import ActionReason, note
from adminbot.actions.remedies import POLICY_ACTOR, Remedies
from adminbot.actions.runs import RunStatus
from adminbot.incidents.book import IncidentBook
from adminbot.incidents.events import IncidentEvent
from adminbot.models import IncidentState, Match, Policy, Record, Severity, frozen_map
from adminbot.notify.outbox import ALERT, UPDATE, Outbox
from adminbot.rules.loader import build_rulebook, rule_from_table
from adminbot.store.sqlite import Store
from tests.clocks import T0, FakeClock

ADMIN_CHAT = 5
K = ActionKind


class FakeMachine:
    """Stands in for the machine (adminbot.actions.executor.Actions): no command, file or container
    is touched; each run is recorded and answered with the outcome the test chose."""

    def __init__(
        self,
        *,
        ok: bool = True,
        unavailable: frozenset[ActionKind] = frozenset(),
        raises: BaseException | None = None,
    ) -> None:
        self.ok = ok
        self.unavailable = unavailable
        self.raises = raises
        self.runs: list[tuple[ActionKind, dict[str, str]]] = []
        self.gate: asyncio.Event | None = None

    def available(self, kind: ActionKind, fields: Mapping[str, str]) -> bool:
        return self.why_not(kind, fields) is None

    def why_not(self, kind: ActionKind, fields: Mapping[str, str]) -> str | None:
        if "path" not in fields:
            return "the log line does not give path"
        return f"{kind.value} is not possible here" if kind in self.unavailable else None

    async def run(self, kind: ActionKind, fields: Mapping[str, str]) -> ActionOutcome:
        self.runs.append((kind, dict(fields)))
        await asyncio.sleep(0)  # a real action always awaits its command
        if self.gate is not None:
            await self.gate.wait()
        if self.raises is not None:
            raise self.raises
        return ActionOutcome(
            kind=kind,
            ok=self.ok,
            notes=note(
                ActionReason.TEXT,
                text=f"{kind.value} {'succeeded' if self.ok else 'failed: exit 1'}",
            ),
            operation=f"{kind.value} {fields['path']}",
            exit_code=0 if self.ok else 1,
            output_tail="" if self.ok else "curl: (28) timed out",
            duration=1.5,
            attempts=1,
        )


class World:
    """The real store, book and outbox around one Remedies, as the runtime wires them."""

    def __init__(
        self,
        tmp_path: Path,
        machine: FakeMachine | None,
        *,
        storm_threshold: int = 0,
        **options: Any,
    ) -> None:
        self.clock = FakeClock()
        self.store = Store(tmp_path / "s.sqlite3")
        self.book = IncidentBook(self.store, self.clock)
        self.outbox = Outbox(
            self.store, [ADMIN_CHAT], clock=self.clock, storm_threshold=storm_threshold
        )
        self.machine = machine
        self.remedies = Remedies(
            self.store, self.book, self.outbox, machine, clock=self.clock, **options
        )

    def record(self, rule: str, path: str = "/srv/media/a.mp4") -> IncidentEvent:
        record = Record(source="/log/bot.log", line_no=1, text=f"ERROR {rule} {path}")
        match = Match(rule, Severity.ERROR, record, frozen_map({"path": path}), path)
        return self.book.record(match)

    def queued(self, incident_id: int) -> list[str]:
        """Kinds of the notifications waiting for this incident, whenever they are due."""
        due = self.store.due(self.clock.now + timedelta(days=1), limit=1000)
        return [item.kind for item in due if item.incident_id == incident_id]

    def state(self, incident_id: int) -> IncidentState:
        incident = self.store.incident(incident_id)
        assert incident is not None
        return incident.state


@pytest.fixture
def machine() -> FakeMachine:
    return FakeMachine()


@pytest.fixture
def world(tmp_path: Path, machine: FakeMachine) -> Iterator[World]:
    built = World(tmp_path, machine)
    yield built
    built.store.close()


# -- offered ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "kinds"),
    [
        ("timeout", [K.RETRY]),
        ("corrupto", [K.CLEAN_RETRY, K.RETRY]),
        ("permisos", [K.CHOWN]),
        ("ruta_inexistente", [K.MKDIR]),
        ("servidor_caido", [K.RESTART_CONTAINER]),
        ("disco_lleno", []),  # policy alert: only tell
        ("custom_rule", []),  # no built-in fix
    ],
)
def test_each_rule_offers_its_fixes(world: World, rule: str, kinds: list[ActionKind]) -> None:
    assert world.remedies.offered(world.record(rule).incident) == kinds


def test_a_fix_the_machine_cannot_do_is_not_offered(tmp_path: Path) -> None:
    world = World(tmp_path, FakeMachine(unavailable=frozenset({K.CLEAN_RETRY})))
    assert world.remedies.offered(world.record("corrupto").incident) == [K.RETRY]


def test_an_alert_policy_offers_no_fix_buttons(tmp_path: Path) -> None:
    rules = build_rulebook(policies={"timeout": Policy.ALERT})
    world = World(tmp_path, FakeMachine(), rules=rules)
    assert world.remedies.offered(world.record("timeout").incident) == []
    assert world.remedies.offered(world.record("permisos").incident) == [K.CHOWN]


def test_without_actions_configured_nothing_is_offered(tmp_path: Path) -> None:
    world = World(tmp_path, None)
    assert world.remedies.offered(world.record("timeout").incident) == []


# -- run --------------------------------------------------------------------------------------


async def test_a_tapped_fix_that_works_resolves_audits_and_updates_the_alert(
    world: World, machine: FakeMachine
) -> None:
    incident = world.record("permisos").incident
    world.store.save_alert_message(incident.id, ADMIN_CHAT, 99, T0)  # the alert was sent
    result = await world.remedies.run(incident.id, K.CHOWN, "@ana")
    assert result.status is RunStatus.DONE
    assert result.outcome is not None and result.outcome.ok
    assert machine.runs == [(K.CHOWN, {"path": "/srv/media/a.mp4"})]
    assert world.state(incident.id) is IncidentState.RESOLVED
    [row] = world.store.audit(incident_id=incident.id)
    assert (row.actor, row.kind, row.operation, row.ok) == (
        "@ana",
        "chown",
        "chown /srv/media/a.mp4",
        True,
    )
    assert row.summary == "chown succeeded"
    assert world.queued(incident.id) == [UPDATE]
    moves = [(t.new_state, t.actor) for t in world.store.transitions(incident.id)][1:]
    assert moves == [(IncidentState.FIXING, "@ana"), (IncidentState.RESOLVED, "@ana")]


async def test_a_failed_fix_reopens_the_incident_and_keeps_the_output(tmp_path: Path) -> None:
    world = World(tmp_path, FakeMachine(ok=False))
    incident = world.record("timeout").incident
    result = await world.remedies.run(incident.id, K.RETRY, "@ana")
    assert result.status is RunStatus.DONE
    assert world.state(incident.id) is IncidentState.OPEN
    [row] = world.store.audit(incident_id=incident.id)
    assert (row.ok, row.exit_code, row.output_tail) == (False, 1, "curl: (28) timed out")
    assert ALERT in world.queued(incident.id)


async def test_two_taps_at_once_run_the_fix_once(world: World, machine: FakeMachine) -> None:
    incident = world.record("permisos").incident
    first, second = await asyncio.gather(
        world.remedies.run(incident.id, K.CHOWN, "@ana"),
        world.remedies.run(incident.id, K.CHOWN, "@bob"),
    )
    assert sorted([first.status, second.status]) == [RunStatus.BUSY, RunStatus.DONE]
    assert len(machine.runs) == 1
    assert len(world.store.audit(incident_id=incident.id)) == 1


async def test_a_tap_while_an_automatic_fix_runs_is_busy(
    world: World, machine: FakeMachine
) -> None:
    machine.gate = asyncio.Event()
    incident = world.record("timeout").incident
    running = asyncio.ensure_future(world.remedies.run(incident.id, K.RETRY, POLICY_ACTOR))
    await asyncio.sleep(0)
    assert world.state(incident.id) is IncidentState.FIXING
    assert (await world.remedies.run(incident.id, K.RETRY, "@ana")).status is RunStatus.BUSY
    machine.gate.set()
    assert (await running).status is RunStatus.DONE
    assert len(machine.runs) == 1


@pytest.mark.parametrize("state", [IncidentState.RESOLVED, IncidentState.IGNORED])
async def test_a_closed_incident_is_not_fixed_again(
    world: World, machine: FakeMachine, state: IncidentState
) -> None:
    incident = world.record("timeout").incident
    world.book.move(incident.id, state, "@ana")
    assert (await world.remedies.run(incident.id, K.RETRY, "@bob")).status is RunStatus.CLOSED
    assert (await world.remedies.run(12345, K.RETRY, "@bob")).status is RunStatus.CLOSED
    assert machine.runs == []


async def test_a_fix_not_offered_for_the_incident_is_refused(
    world: World, machine: FakeMachine
) -> None:
    incident = world.record("timeout").incident
    result = await world.remedies.run(incident.id, K.RESTART_CONTAINER, "@ana")
    assert result.status is RunStatus.UNAVAILABLE
    assert machine.runs == []
    assert world.state(incident.id) is IncidentState.OPEN


async def test_an_action_that_raises_leaves_the_incident_open_not_fixing(tmp_path: Path) -> None:
    world = World(tmp_path, FakeMachine(raises=RuntimeError("bug in an executor")))
    incident = world.record("timeout").incident
    result = await world.remedies.run(incident.id, K.RETRY, "@ana")
    assert result.status is RunStatus.DONE
    assert result.outcome is not None and not result.outcome.ok
    assert world.state(incident.id) is IncidentState.OPEN
    [row] = world.store.audit(incident_id=incident.id)
    assert row.ok is False
    assert row.summary == "retry crashed: RuntimeError"


async def test_a_cancelled_fix_does_not_leave_the_incident_fixing(
    world: World, machine: FakeMachine
) -> None:
    machine.gate = asyncio.Event()
    incident = world.record("timeout").incident
    running = asyncio.ensure_future(world.remedies.run(incident.id, K.RETRY, "@ana"))
    await asyncio.sleep(0)
    assert world.state(incident.id) is IncidentState.FIXING
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert world.state(incident.id) is IncidentState.OPEN


async def test_listeners_hear_every_outcome(tmp_path: Path) -> None:
    heard: list[tuple[int, bool, str]] = []
    world = World(
        tmp_path,
        FakeMachine(),
        on_outcome=[lambda i, outcome, actor: heard.append((i.id, outcome.ok, actor))],
    )
    incident = world.record("timeout").incident
    await world.remedies.run(incident.id, K.RETRY, "@ana")
    assert heard == [(incident.id, True, "@ana")]


def test_mark_fixed_and_ignore_settle_once_and_refresh_the_alert(world: World) -> None:
    first = world.record("timeout", "/srv/a.mp4").incident
    second = world.record("timeout", "/srv/b.mp4").incident
    assert world.remedies.resolve(first.id, "@ana") is not None
    assert world.remedies.resolve(first.id, "@bob") is None
    assert world.remedies.ignore(second.id, "@ana") is not None
    assert world.state(first.id) is IncidentState.RESOLVED
    assert world.state(second.id) is IncidentState.IGNORED
    assert world.queued(first.id) == [ALERT]


# -- route (automatic policies) ---------------------------------------------------------------


async def test_an_auto_policy_fixes_first_and_alerts_only_when_the_fix_fails(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, FakeMachine(ok=False))
    event = world.record("timeout")
    world.remedies.route(event)
    assert world.queued(event.incident.id) == []  # no alert while the fix may still work
    await asyncio.sleep(0)
    await world.remedies.wait_idle()
    assert world.machine is not None and len(world.machine.runs) == 1
    assert world.state(event.incident.id) is IncidentState.OPEN
    assert world.queued(event.incident.id) == [ALERT]
    [row] = world.store.audit(incident_id=event.incident.id)
    assert (row.actor, row.ok) == (POLICY_ACTOR, False)


async def test_wait_idle_waits_for_a_fix_route_just_scheduled(tmp_path: Path) -> None:
    world = World(tmp_path, FakeMachine(ok=False))
    event = world.record("timeout")
    world.remedies.route(event)
    await world.remedies.wait_idle()
    assert world.queued(event.incident.id) == [ALERT]


async def test_a_quiet_automatic_fix_that_works_tells_no_one(world: World) -> None:
    event = world.record("ruta_inexistente", "/srv/media/new")
    world.remedies.route(event)
    await asyncio.sleep(0)
    await world.remedies.wait_idle()
    assert world.state(event.incident.id) is IncidentState.RESOLVED
    assert world.store.outbox_depth() == 0
    assert len(world.store.audit(incident_id=event.incident.id)) == 1


async def test_an_automatic_fix_that_works_is_reported_unless_quiet(world: World) -> None:
    event = world.record("timeout")
    world.remedies.route(event)
    await asyncio.sleep(0)
    await world.remedies.wait_idle()
    assert world.state(event.incident.id) is IncidentState.RESOLVED
    assert world.queued(event.incident.id) == [ALERT]


def test_without_a_loop_an_auto_policy_falls_back_to_an_alert(
    world: World, machine: FakeMachine
) -> None:
    event = world.record("timeout")
    world.remedies.route(event)
    assert world.queued(event.incident.id) == [ALERT]
    assert machine.runs == []


async def test_an_ask_policy_alerts_at_once_and_runs_nothing(
    world: World, machine: FakeMachine
) -> None:
    event = world.record("permisos")
    world.remedies.route(event)
    await asyncio.sleep(0)
    await world.remedies.wait_idle()
    assert world.queued(event.incident.id) == [ALERT]
    assert machine.runs == []


async def test_a_muted_rule_is_still_fixed_by_policy_but_not_alerted(
    world: World, machine: FakeMachine
) -> None:
    world.book.mute("timeout", timedelta(hours=1), "@ana")
    event = world.record("timeout")
    world.remedies.route(event)
    await asyncio.sleep(0)
    await world.remedies.wait_idle()
    assert [kind for kind, _ in machine.runs] == [K.RETRY]  # a mute silences, never unfixes
    assert world.state(event.incident.id) is IncidentState.RESOLVED
    assert world.store.outbox_depth() == 0


async def test_a_muted_rules_failed_fix_is_audited_but_not_alerted(tmp_path: Path) -> None:
    world = World(tmp_path, FakeMachine(ok=False))
    world.book.mute("timeout", timedelta(hours=1), "@ana")
    event = world.record("timeout")
    world.remedies.route(event)
    await world.remedies.wait_idle()
    assert [row.ok for row in world.store.audit(incident_id=event.incident.id)] == [False]
    assert world.store.outbox_depth() == 0


async def test_a_repeat_of_an_incident_is_not_fixed_again(tmp_path: Path) -> None:
    machine = FakeMachine(ok=False)  # the incident stays open, so repeats join it
    world = World(tmp_path, machine)
    world.remedies.route(world.record("timeout"))
    await asyncio.sleep(0)
    await world.remedies.wait_idle()
    repeat = world.record("timeout")
    assert repeat.kind == "repeated"
    world.remedies.route(repeat)
    await asyncio.sleep(0)
    await world.remedies.wait_idle()
    assert len(machine.runs) == 1


async def test_an_exhausted_budget_stops_automatic_fixes_and_alerts_the_admin(
    tmp_path: Path,
) -> None:
    ticks = iter(range(1000))
    budget = ActionBudget(2, 3600, monotonic=lambda: float(next(ticks)))
    machine = FakeMachine(ok=True)
    world = World(tmp_path, machine, budgets={K.RETRY: budget})
    events = [world.record("timeout", f"/srv/{n}.mp4") for n in range(3)]
    for event in events:
        world.remedies.route(event)
    await asyncio.sleep(0)
    await world.remedies.wait_idle()
    assert len(machine.runs) == 2
    last = events[-1].incident.id
    assert world.state(last) is IncidentState.OPEN
    assert world.queued(last) == [ALERT]
    direct = await world.remedies.run(last, K.RETRY, POLICY_ACTOR)
    assert direct.status is RunStatus.OVER_BUDGET
    assert len(machine.runs) == 2


async def test_the_budget_limits_automatic_fixes_not_the_admins_taps(tmp_path: Path) -> None:
    budget = ActionBudget(0, 3600, monotonic=lambda: 0.0)
    machine = FakeMachine(ok=True)
    world = World(tmp_path, machine, budgets={K.RETRY: budget})
    incident = world.record("timeout").incident
    assert (await world.remedies.run(incident.id, K.RETRY, "@ana")).status is RunStatus.DONE
    assert len(machine.runs) == 1


def test_a_rule_the_config_redefines_offers_what_its_spec_says(tmp_path: Path) -> None:
    ruta = rule_from_table({"name": "ruta_inexistente", "pattern": "falta", "policy": "ask"}, 0)
    world = World(tmp_path, FakeMachine(), rules=build_rulebook([ruta]))
    assert world.remedies.policy("ruta_inexistente") is Policy.ASK
    assert world.remedies.offered(world.record("ruta_inexistente").incident) == [K.MKDIR]


async def test_quiet_success_follows_the_spec_not_the_rule_name(tmp_path: Path) -> None:
    loud = replace(build_rulebook()["ruta_inexistente"], quiet_success=False)
    world = World(tmp_path, FakeMachine(), rules=build_rulebook([loud]))
    event = world.record("ruta_inexistente", "/srv/media/new")
    world.remedies.route(event)
    await asyncio.sleep(0)
    await world.remedies.wait_idle()
    assert world.state(event.incident.id) is IncidentState.RESOLVED
    assert world.queued(event.incident.id) == [ALERT]


def test_a_corrupt_file_whose_retry_is_impossible_is_offered_quarantine_alone(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, FakeMachine(unavailable=frozenset({K.CLEAN_RETRY, K.RETRY})))
    incident = world.record("corrupto").incident
    assert world.remedies.offered(incident) == [K.QUARANTINE]


def test_a_corrupt_file_that_can_be_retried_is_not_offered_quarantine(world: World) -> None:
    incident = world.record("corrupto").incident
    assert world.remedies.offered(incident) == [K.CLEAN_RETRY, K.RETRY]


async def test_a_refused_automatic_fix_is_audited_and_the_alert_says_why(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, FakeMachine(unavailable=frozenset({K.MKDIR})))
    event = world.record("ruta_inexistente", "/srv/otra/x.mp4")
    world.remedies.route(event)
    await world.remedies.wait_idle()
    assert world.store.audit(incident_id=event.incident.id) == []  # written once per drain
    world.remedies.flush()
    [row] = world.store.audit(incident_id=event.incident.id)
    assert (row.actor, row.kind, row.ok) == (POLICY_ACTOR, "refused", False)
    assert "mkdir is not possible here" in row.summary
    assert world.queued(event.incident.id) == [ALERT]
    assert world.remedies.why_no_fix(event.incident) == "mkdir is not possible here"


async def test_a_retry_waiting_for_the_bot_api_server_says_so_then_runs(tmp_path: Path) -> None:
    down: list[datetime] = [T0]
    seen: list[dict[int, datetime]] = []
    worlds: list[World] = []

    async def sleep(_: float) -> None:
        seen.append(dict(worlds[0].remedies.waiting))
        down.clear()  # the server comes back while the fix waits

    world = World(
        tmp_path,
        FakeMachine(),
        server_down_since=lambda: down[0] if down else None,
        sleep=sleep,
    )
    worlds.append(world)
    incident = world.record("timeout").incident
    result = await world.remedies.run(incident.id, K.RETRY, "@ana")
    assert result.status is RunStatus.DONE
    assert seen == [{incident.id: T0}]
    assert world.remedies.waiting == {}


async def test_a_storm_of_distinct_timeouts_starts_no_more_retries_than_the_budget(
    tmp_path: Path,
) -> None:
    machine = FakeMachine()
    world = World(tmp_path, machine, budgets={K.RETRY: ActionBudget(2, 600)})
    events = [world.record("timeout", f"/srv/media/{n}.mp4") for n in range(5)]
    for event in events:
        world.remedies.route(event)
    await world.remedies.wait_idle()
    assert len(machine.runs) == 2
    skipped = [row for row in world.store.audit() if row.kind == "skipped"]
    assert len(skipped) == 3  # each is told and handed to the admin
    ids = [row.incident_id for row in skipped if row.incident_id is not None]
    assert len(ids) == 3
    for incident_id in ids:
        assert world.state(incident_id) is IncidentState.OPEN  # never claimed for nothing
        assert [t.new_state for t in world.store.transitions(incident_id)] == [IncidentState.OPEN]
        assert world.queued(incident_id) == [ALERT]


async def test_in_a_storm_incidents_past_the_budget_are_left_to_the_storm_message(
    tmp_path: Path,
) -> None:
    """Routed as the router routes a batch (no fix starts in between): before the storm
    each incident is scheduled and, past the budget, handed back and audited; once its
    rule storms, the incidents past the budget (counting the fixes waiting to start) stay
    open, unclaimed and unaudited, and the storm's message tells of them."""
    machine = FakeMachine()
    budgets = {K.RETRY: ActionBudget(2, 600)}
    world = World(tmp_path, machine, storm_threshold=10, budgets=budgets)
    events = [world.record("timeout", f"/srv/media/{n}.mp4") for n in range(30)]
    for event in events:
        world.remedies.route(event)
    assert world.outbox.storming == ("timeout",)
    await world.remedies.wait_idle()
    assert len(machine.runs) == 2
    skipped = {row.incident_id for row in world.store.audit() if row.kind == "skipped"}
    before = [e.incident.id for e in events[:10]]  # the eleventh starts the storm
    after = [e.incident.id for e in events[10:]]
    assert len(skipped) == 8 and skipped <= set(before)
    for incident_id in after:
        assert world.state(incident_id) is IncidentState.OPEN
        assert [t.new_state for t in world.store.transitions(incident_id)] == [IncidentState.OPEN]
    due = world.store.due(world.clock.now + timedelta(days=1), limit=1000)
    assert [item for item in due if item.kind == ALERT] == []  # each one told by the storm
    assert len(due) <= 20
