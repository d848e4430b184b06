"""Delivery: the outbox reaches Telegram by priority, in order, once, and waits out outages.

The core is the real one, built as `adminbot run` builds it; only the Bot is fake
(tests/fake_bot.py): it records each request and fails the next ones with the errors
the test queued, as Telegram's server would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from adminbot.incidents.events import IncidentEvent
from adminbot.models import IncidentState, Match, Record, Severity, frozen_map
from adminbot.notify.notices import MuteExpired
from adminbot.notify.outbox import Outbox
from adminbot.service.lease import FrontLease
from adminbot.service.runtime import Runtime
from adminbot.store.errors import StoreUnreachable
from adminbot.store.leases import LeaseStore
from adminbot.store.sqlite import Store
from handlers.delivery import Delivery
from handlers.pacing import Pace, Pacer
from tests.clocks import FakeClock, FakeMonotonic
from tests.fake_bot import ADMIN, EDIT, SEND, FakeBot, real_core

BACKOFF = 2.0  # the first pause after a failed send
UNPACED = Pace(rate=1000.0, burst=1000.0)


class FullStore(Store):
    """The store on a full disk: it queues nothing, so notices wait in memory."""

    def enqueue(self, *args: Any, **kwargs: Any) -> int | None:
        raise sqlite3.OperationalError("database or disk is full")


class World:
    def __init__(self, runtime: Runtime, clock: FakeClock) -> None:
        self.runtime = runtime
        self.clock = clock
        self.bot = FakeBot()
        self.delivery = self.deliver_through(runtime)

    def deliver_through(self, runtime: Runtime) -> Delivery:
        pacer = Pacer(private=UNPACED, clock=FakeMonotonic())
        return Delivery(self.bot.as_bot(), runtime, backoff=BACKOFF, pacer=pacer)

    def notice(self, target: str) -> str:
        """Queue a "mute expired" notice; return what the admin reads of it."""
        self.runtime.outbox.notice(MuteExpired(target))
        return f"Mute of {target} has expired"

    def incident(self, rule: str, severity: Severity) -> IncidentEvent:
        """An incident as a log line opens it, alerted as the router would."""
        path = f"/srv/{rule}.mp4"
        record = Record("/log/bot.log", 1, f"ERROR {rule} {path}")
        match = Match(rule, severity, record, frozen_map({"path": path}), path)
        [event] = self.runtime.intake.submit([match])
        self.runtime.outbox.incident_event(event)
        return event


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = FakeClock()
    async with real_core(tmp_path, clock) as runtime:
        yield World(runtime, clock)


def in_order(texts: list[str], *pieces: str) -> bool:
    """Whether each text holds its piece, in the same order, and nothing else was sent."""
    return len(texts) == len(pieces) and all(p in t for t, p in zip(texts, pieces, strict=True))


async def test_critical_goes_first_then_errors_then_notices_each_in_queued_order(
    world: World,
) -> None:
    first, second = world.notice("timeout"), world.notice("permisos")
    world.incident("permisos", Severity.ERROR)
    world.incident("disco_lleno", Severity.CRITICAL)
    assert await world.delivery.deliver_due() == 4
    sent = world.bot.taken()
    assert in_order(sent, "CRITICAL · disco_lleno", "ERROR · permisos", first, second)


@pytest.mark.parametrize(
    ("error", "pause"),
    [(NetworkError("Connection reset by peer"), BACKOFF), (RetryAfter(7), 7.0)],
    ids=["network", "429"],
)
async def test_a_transient_failure_puts_the_row_back_and_pauses_the_whole_queue(
    world: World, error: TelegramError, pause: float
) -> None:
    first, second = world.notice("timeout"), world.notice("permisos")
    world.bot.fail(SEND, error)
    assert await world.delivery.deliver_due() == 0
    assert len(world.bot.requests) == 1  # the second waits behind the first
    world.clock.advance(pause - 0.5)
    assert await world.delivery.deliver_due() == 0
    assert len(world.bot.requests) == 1
    world.clock.advance(0.5)
    assert await world.delivery.deliver_due() == 2
    assert in_order(world.bot.taken(), first, second)
    assert world.runtime.store.outbox_depth() == 0


@pytest.mark.parametrize(
    "error",
    [BadRequest("Chat not found"), Forbidden("Forbidden: bot was blocked by the user")],
    ids=["bad_request", "forbidden"],
)
async def test_a_permanent_failure_drops_the_row_and_goes_on(
    world: World, error: TelegramError
) -> None:
    world.notice("timeout")
    second = world.notice("permisos")
    world.bot.fail(SEND, error)
    await world.delivery.deliver_due()
    assert in_order(world.bot.taken(), second)
    world.clock.advance(3600)
    assert await world.delivery.deliver_due() == 0  # never tried again
    assert len(world.bot.requests) == 2
    assert world.runtime.store.outbox_depth() == 0


async def test_an_edit_telegram_calls_not_modified_counts_as_done(world: World) -> None:
    incident = world.incident("permisos", Severity.ERROR).incident
    await world.delivery.deliver_due()
    world.incident("permisos", Severity.ERROR)  # a repeat: the count shown changes
    world.runtime.outbox.incident_changed(incident.id)
    # Telegram may still call it unchanged (an edit from another copy got there first).
    world.bot.fail(EDIT, BadRequest("Message is not modified: specified new message content"))
    assert await world.delivery.deliver_due() == 1
    assert [r.method for r in world.bot.requests] == [SEND, EDIT]  # no second alert
    assert world.delivery.health() == (True, "2 sent, 0 queued")  # done, not dropped


async def test_an_edit_that_changes_nothing_shown_is_not_sent(world: World) -> None:
    incident = world.incident("permisos", Severity.ERROR).incident
    await world.delivery.deliver_due()
    world.runtime.outbox.incident_changed(incident.id)  # nothing about it changed
    await world.delivery.deliver_due()
    assert [r.method for r in world.bot.requests] == [SEND]
    assert world.delivery.skipped_edits == 1


async def test_html_telegram_cannot_parse_is_sent_again_as_plain_text(world: World) -> None:
    world.incident("permisos", Severity.ERROR)
    world.bot.fail(SEND, BadRequest("Can't parse entities: unsupported start tag"))
    assert await world.delivery.deliver_due() == 1
    html, plain = world.bot.requests
    assert (html.parse_mode, html.ok) == (ParseMode.HTML, False)
    assert "<b>" in html.text
    assert plain.parse_mode is None and plain.ok
    assert "<b>" not in plain.text and "ERROR · permisos" in plain.text


async def test_notices_kept_in_memory_while_the_store_was_full_go_out_first(
    world: World, tmp_path: Path
) -> None:
    queued = world.notice("timeout")
    full = FullStore(tmp_path / "full.sqlite3")
    runtime = replace(world.runtime, outbox=Outbox(full, [ADMIN], clock=world.clock))
    runtime.outbox.notice(MuteExpired("disco_lleno"))
    delivery = world.deliver_through(runtime)
    assert await delivery.deliver_due() == 1  # the stored row; memory is not counted
    sent = world.bot.taken()
    assert in_order(sent, "paused", "Mute of disco_lleno has expired", queued)
    assert runtime.outbox.peek_memory() is None
    full.close()


async def test_a_recurrence_takes_over_its_alert_and_the_older_incident_no_longer_edits_it(
    world: World,
) -> None:
    first = world.incident("permisos", Severity.ERROR).incident
    await world.delivery.deliver_due()
    assert len(world.bot.taken(SEND)) == 1
    world.runtime.book.move(first.id, IncidentState.RESOLVED, "policy")
    world.clock.advance(5)
    again = world.incident("permisos", Severity.ERROR).incident
    assert again.id != first.id
    await world.delivery.deliver_due()
    assert len(world.bot.taken(SEND)) == 1  # no second message: the first one is edited
    [edit] = world.bot.taken(EDIT)
    assert f"#{again.id}" in edit and "Failing again: 2×" in edit
    world.runtime.outbox.incident_changed(first.id)
    await world.delivery.deliver_due()
    assert world.bot.taken(EDIT) == [edit]  # the older incident leaves the message alone
    assert world.runtime.store.outbox_depth() == 0


async def test_a_front_whose_lease_ran_out_claims_and_sends_nothing(world: World) -> None:
    mono = FakeMonotonic()
    leases = LeaseStore(world.runtime.store)

    async def told(*_args: object) -> None:
        return None

    lease = FrontLease(
        lambda held: leases.take("a", 15.0, held),
        leases.give_up,
        on_gained=told,
        on_lost=told,
        monotonic=mono,
    )
    await lease.step()
    delivery = Delivery(
        world.bot.as_bot(),
        world.runtime,
        pacer=Pacer(private=UNPACED, clock=FakeMonotonic()),
        lease=lease,
    )
    first = world.notice("timeout")
    assert await delivery.deliver_due() == 1
    world.clock.advance(15.0)  # frozen past the lease: no renewal came
    mono.advance(15.0)
    world.notice("permisos")
    assert await delivery.deliver_due() == 0
    assert in_order(world.bot.taken(), first)
    [waiting] = world.runtime.store.due(world.clock())
    assert waiting.attempts == 0  # not even claimed: the next front sends it


def unreachable(*_args: Any, **_kwargs: Any) -> Any:
    raise StoreUnreachable("connection is bad: the server went away")


async def test_a_message_sent_as_the_store_went_away_is_marked_sent_once_it_is_back(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = world.notice("timeout")
    with monkeypatch.context() as patch:
        patch.setattr(world.runtime.store, "mark_sent", unreachable)
        with pytest.raises(StoreUnreachable):
            await world.delivery.deliver_due()
    assert await world.delivery.deliver_due() == 0  # marked sent, not sent again
    assert in_order(world.bot.taken(), text)
    assert world.runtime.store.outbox_depth() == 0


async def test_an_alert_the_store_went_away_before_is_sent_once_it_is_back(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.incident("permisos", Severity.ERROR)
    with monkeypatch.context() as patch:
        patch.setattr(world.runtime.store, "alert_message", unreachable)
        with pytest.raises(StoreUnreachable):
            await world.delivery.deliver_due()
    assert world.bot.requests == []
    assert await world.delivery.deliver_due() == 1  # given back, not dropped as failed
    assert in_order(world.bot.taken(), "ERROR · permisos")
    assert "Possibly repeated" not in world.bot.taken()[0]
