"""The Telegram edge for unit tests of handlers/: a fake Bot, and the real core behind it.

`FakeBot` stands in for telegram.Bot: it records every request (PTB's `query.answer()`
and `message.reply_text()` reach it through `get_bot()`) and fails the next ones with
the errors a test queued. Everything behind it is real, built as `adminbot run` builds it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from telegram import Bot, Chat, Message, Update

from adminbot.config import load_config
from adminbot.service.runtime import Edges, Runtime, build_runtime
from handlers.context import AdminContext, BotData
from tests.clocks import T0, FakeClock

ADMIN = 4242
SEND, EDIT, ANSWER = "send_message", "edit_message_text", "answer_callback_query"


@dataclass(frozen=True)
class Request:
    """One request the bot made, and whether Telegram took it."""

    method: str
    text: str
    """What the admin reads ("" for a tap answered without words)."""
    params: Mapping[str, Any]
    ok: bool

    @property
    def parse_mode(self) -> str | None:
        mode = self.params.get("parse_mode")
        return None if mode is None else str(mode)


class FakeBot:
    """Stands in for telegram.Bot: records every request; the next ones fail as queued."""

    defaults = None  # PTB asks a bot for its defaults when it reads an update

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.failures: dict[str, deque[Exception]] = {SEND: deque(), EDIT: deque()}
        self._ids = itertools.count(100)

    def as_bot(self) -> Bot:
        return cast(Bot, self)

    def fail(self, method: str, *errors: Exception) -> None:
        self.failures[method].extend(errors)

    def taken(self, method: str = SEND) -> list[str]:
        """The texts Telegram took, of `method`, in order."""
        return [r.text for r in self.requests if r.ok and r.method == method]

    def answers(self) -> list[tuple[str, bool]]:
        """Each tap's answer: its text and whether it shows as an alert."""
        return [
            (r.text, bool(r.params.get("show_alert"))) for r in self.requests if r.method == ANSWER
        ]

    async def send_message(self, *, chat_id: int, text: str, **params: Any) -> Message:
        self._answer(SEND, text, {"chat_id": chat_id, **params})
        return Message(next(self._ids), T0, Chat(chat_id, Chat.PRIVATE))

    async def edit_message_text(self, *, text: str, **params: Any) -> bool:
        self._answer(EDIT, text, params)
        return True

    async def answer_callback_query(
        self, *, callback_query_id: str, text: str | None = None, **params: Any
    ) -> bool:
        self._answer(ANSWER, text or "", params)
        return True

    def _answer(self, method: str, text: str, params: Mapping[str, Any]) -> None:
        failures = self.failures.get(method)
        self.requests.append(Request(method, text, dict(params), ok=not failures))
        if failures:
            raise failures.popleft()


class Context:
    """What handlers use of PTB's CallbackContext: bot_data, args, application.create_task."""

    def __init__(self, runtime: Runtime, args: tuple[str, ...] = ()) -> None:
        self.bot_data = BotData(runtime)
        self.args = list(args)
        self.application = self
        self.tasks: list[asyncio.Task[Any]] = []

    def create_task(
        self, coroutine: Coroutine[Any, Any, Any], update: object = None, name: str | None = None
    ) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine, name=name)
        self.tasks.append(task)
        return task

    def typed(self) -> AdminContext:
        return cast(AdminContext, self)


USER = {"id": ADMIN, "is_bot": False, "first_name": "Ana", "username": "ana"}
CHAT = {"id": ADMIN, "type": "private"}


def command(text: str, bot: FakeBot) -> Update:
    """The update Telegram sends when the admin types `text`."""
    message = {"message_id": 10, "date": int(T0.timestamp()), "chat": CHAT, "from": USER}
    return Update.de_json({"update_id": 1, "message": {**message, "text": text}}, bot.as_bot())


def tap(data: str, bot: FakeBot) -> Update:
    """The update Telegram sends when the admin taps a button carrying `data`."""
    message = {"message_id": 77, "date": int(T0.timestamp()), "chat": CHAT, "text": "alert"}
    query = {"id": "q1", "from": USER, "chat_instance": "c1", "data": data, "message": message}
    return Update.de_json({"update_id": 2, "callback_query": query}, bot.as_bot())


@asynccontextmanager
async def real_core(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Runtime]:
    """The core as `adminbot run` builds it for one admin, on `clock`, with no health checks."""
    env = {
        "TELEGRAM_TOKEN": "123456:fake-token-for-tests",
        "ADMIN_ID": str(ADMIN),
        "ADMINBOT_WATCH": str(tmp_path / "pipeline" / "*.log"),
        "ADMINBOT_DATA_DIR": str(tmp_path / "data"),
    }
    runtime, _ = build_runtime(load_config(env, cwd=tmp_path), Edges(clock=clock, checks=[]))
    try:
        yield runtime
    finally:
        runtime.intake.events.close()
        runtime.store.close()
        if runtime.lock is not None:
            runtime.lock.release()
