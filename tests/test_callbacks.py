"""Button taps: each is answered as the catalog says, settles an incident once, runs only
the fixes offered. The handlers run on real updates and the real core; only the Bot is fake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from adminbot.models import Incident, IncidentState, Match, Record, Severity, frozen_map
from adminbot.notify.outbox import UPDATE
from adminbot.service.runtime import Runtime
from handlers.callbacks import on_act, on_ignore, on_page, on_resolve
from handlers.i18n import Catalog
from handlers.taps import PageTap, Tap, Verb
from tests.clocks import FakeClock
from tests.fake_bot import EDIT, Context, FakeBot, real_core, tap


class World:
    def __init__(self, runtime: Runtime, clock: FakeClock) -> None:
        self.runtime = runtime
        self.clock = clock
        self.bot = FakeBot()
        self.context = Context(runtime)
        self.t: Catalog = self.context.bot_data.words

    def incident(self, rule: str = "permisos") -> Incident:
        path = f"/srv/{rule}.mp4"
        record = Record("/log/bot.log", 1, f"ERROR {rule} {path}")
        match = Match(rule, Severity.ERROR, record, frozen_map({"path": path}), path)
        [event] = self.runtime.intake.submit([match])
        return event.incident

    def state(self, incident: Incident) -> IncidentState:
        found = self.runtime.store.incident(incident.id)
        assert found is not None
        return found.state

    def all_sent(self) -> None:
        """Telegram took everything queued so far."""
        store = self.runtime.store
        for item in store.due(self.clock.now + timedelta(days=1), limit=100):
            assert store.claim(item.id)
            store.mark_sent(item.id, self.clock.now)

    def updates_queued(self) -> list[int | None]:
        due = self.runtime.store.due(self.clock.now + timedelta(days=1), limit=100)
        return [item.incident_id for item in due if item.kind == UPDATE]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = FakeClock()
    async with real_core(tmp_path, clock) as runtime:
        yield World(runtime, clock)


async def test_a_tap_with_a_forged_token_is_refused_and_changes_nothing(world: World) -> None:
    incident = world.incident()
    await on_ignore(
        tap(Tap(Verb.IGNORE, incident.id, "forged").encode(), world.bot), world.context.typed()
    )
    assert world.bot.answers() == [(world.t("tap.invalid"), True)]
    assert world.state(incident) is IncidentState.OPEN


async def test_a_tap_on_a_closed_incident_says_its_state_and_refreshes_the_alert(
    world: World,
) -> None:
    incident = world.incident()
    world.runtime.remedies.resolve(incident.id, "@bob")
    world.all_sent()
    data = Tap(Verb.IGNORE, incident.id, incident.token).encode()
    await on_ignore(tap(data, world.bot), world.context.typed())
    closed = world.t("tap.closed", state=world.t("state.resolved"))
    assert world.bot.answers() == [(closed, False)]
    assert world.state(incident) is IncidentState.RESOLVED
    assert world.updates_queued() == [incident.id]


async def test_ignore_settles_the_incident_once(world: World) -> None:
    incident = world.incident()
    data = Tap(Verb.IGNORE, incident.id, incident.token).encode()
    await on_ignore(tap(data, world.bot), world.context.typed())
    await on_ignore(tap(data, world.bot), world.context.typed())
    again = world.t("tap.closed", state=world.t("state.ignored"))
    assert world.bot.answers() == [(world.t("tap.ignored"), False), (again, False)]
    assert world.state(incident) is IncidentState.IGNORED
    moves = [(t.new_state, t.actor) for t in world.runtime.store.transitions(incident.id)][1:]
    assert moves == [(IncidentState.IGNORED, "@ana · id 4242")]  # who, audited by name and id


async def test_mark_fixed_resolves_the_incident_once(world: World) -> None:
    incident = world.incident()
    data = Tap(Verb.RESOLVE, incident.id, incident.token).encode()
    await on_resolve(tap(data, world.bot), world.context.typed())
    await on_resolve(tap(data, world.bot), world.context.typed())
    again = world.t("tap.closed", state=world.t("state.resolved"))
    assert world.bot.answers() == [(world.t("tap.resolved"), False), (again, False)]
    moves = [(t.new_state, t.actor) for t in world.runtime.store.transitions(incident.id)][1:]
    assert moves == [(IncidentState.RESOLVED, "@ana · id 4242")]


@pytest.mark.parametrize(
    ("fix", "answer"),
    [("restart_container", "tap.unavailable"), ("no_such_fix", "tap.invalid")],
    ids=["not_offered", "unknown"],
)
async def test_a_fix_not_offered_for_the_incident_is_refused_and_not_run(
    world: World, fix: str, answer: str
) -> None:
    incident = world.incident("permisos")
    data = Tap(Verb.ACT, incident.id, incident.token, fix).encode()
    await on_act(tap(data, world.bot), world.context.typed())
    assert world.bot.answers() == [(world.t(answer), True)]
    assert world.context.tasks == []
    assert world.state(incident) is IncidentState.OPEN
    assert world.runtime.store.audit(incident_id=incident.id) == []


async def test_a_page_tap_for_an_unknown_type_is_refused_and_edits_nothing(world: World) -> None:
    data = PageTap(1, 10, "no_such_rule").encode()
    await on_page(tap(data, world.bot), world.context.typed())
    assert world.bot.answers() == [(world.t("tap.invalid"), True)]
    assert world.bot.taken(EDIT) == []


async def test_a_page_tap_turns_the_errors_page_in_place(world: World) -> None:
    world.incident("permisos")
    await on_page(tap(PageTap(0, 10, "permisos").encode(), world.bot), world.context.typed())
    assert world.bot.answers() == [("", False)]
    [page] = world.bot.taken(EDIT)
    assert "permisos" in page
