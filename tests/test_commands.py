"""Commands: each answers as the catalog says, and a mistake answers its usage.

The handlers run on real updates and the real core; only the Bot is fake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from telegram import Update

from adminbot.models import Match, Record, Severity
from adminbot.service.runtime import Runtime
from handlers import screens, words
from handlers.commands import cmd_errors, cmd_mute, cmd_summary, cmd_unmute, rule_names
from handlers.context import AdminContext
from handlers.i18n import Catalog
from tests.clocks import FakeClock
from tests.fake_bot import ADMIN, Context, FakeBot, command, real_core

Handler = Callable[[Update, AdminContext], Awaitable[None]]


class World:
    def __init__(self, runtime: Runtime, clock: FakeClock) -> None:
        self.runtime = runtime
        self.clock = clock
        self.bot = FakeBot()
        self.t: Catalog = Context(runtime).bot_data.words

    def context(self, text: str) -> AdminContext:
        """The context PTB gives a command: its words after the command are `args`."""
        return Context(self.runtime, tuple(text.split()[1:])).typed()

    async def say(self, text: str, handler: Handler) -> str:
        """Send `text` to `handler`; return the one reply the admin reads."""
        await handler(command(text, self.bot), self.context(text))
        [reply] = self.bot.requests
        assert reply.params["chat_id"] == ADMIN
        self.bot.requests.clear()
        return reply.text

    def until(self, period: timedelta) -> str:
        return screens.screen(self.runtime).time(self.clock.now + period)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = FakeClock()
    async with real_core(tmp_path, clock) as runtime:
        yield World(runtime, clock)


async def test_errors_of_an_unknown_type_answers_the_usage_with_every_type(world: World) -> None:
    usage = world.t("errors.usage", rules=words.esc(", ".join(rule_names(world.runtime))))
    assert await world.say("/errors no_such_rule 5", cmd_errors) == usage


async def test_errors_of_a_known_type_lists_its_incidents(world: World) -> None:
    record = Record("/log/bot.log", 1, "ERROR denied /srv/a.mp4")
    world.runtime.intake.submit([Match("permisos", Severity.ERROR, record, key="/srv/a.mp4")])
    reply = await world.say("/errors permisos 5", cmd_errors)
    assert reply.startswith("<b>Incidents</b>")
    assert "#1 <b>permisos</b> ×1" in reply


async def test_mute_silences_a_type_until_the_time_it_answers(world: World) -> None:
    reply = await world.say("/mute timeout 2h", cmd_mute)
    assert reply == world.t("mute.done", target="timeout", until=world.until(timedelta(hours=2)))
    assert world.runtime.book.is_muted("timeout")
    assert not world.runtime.book.is_muted("permisos")


async def test_mute_without_a_duration_takes_an_hour(world: World) -> None:
    reply = await world.say("/mute all", cmd_mute)
    assert reply == world.t("mute.done", target="all", until=world.until(timedelta(hours=1)))
    assert world.runtime.book.is_muted("permisos")


@pytest.mark.parametrize("text", ["/mute", "/mute timeout soon", "/mute nothing 1h"])
async def test_mute_without_a_known_type_or_with_a_bad_period_answers_the_usage(
    world: World, text: str
) -> None:
    usage = world.t("mute.usage", rules=words.esc(", ".join(rule_names(world.runtime))))
    assert await world.say(text, cmd_mute) == usage
    assert not world.runtime.book.is_muted("timeout")


async def test_unmute_says_how_many_mutes_it_removed_or_that_none_was_on(world: World) -> None:
    assert await world.say("/unmute", cmd_unmute) == world.t("unmute.none")
    await world.say("/mute timeout 1h", cmd_mute)
    assert await world.say("/unmute timeout", cmd_unmute) == world.t("unmute.done", count=1)
    assert not world.runtime.book.is_muted("timeout")


async def test_summary_of_a_period_it_cannot_read_answers_the_usage(world: World) -> None:
    assert await world.say("/summary yesterday", cmd_summary) == world.t("summary.usage")


async def test_summary_with_more_than_a_period_and_chart_answers_the_usage(world: World) -> None:
    assert await world.say("/summary 24h chart 7d", cmd_summary) == world.t("summary.usage")


async def test_summary_of_a_period_answers_the_summary_since_its_start(world: World) -> None:
    reply = await world.say("/summary 24h", cmd_summary)
    assert reply.startswith("<b>Summary</b> since")
