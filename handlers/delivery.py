"""Drains the store's outbox to Telegram: in order, once, and patiently when it is down.

Each row is claimed with compare-and-set before it is sent and marked sent after.
Transient failures (network, 5xx, 429) put the row back and pause the whole queue,
so later alerts never overtake an earlier one. Permanent failures are recorded, not
retried forever.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from adminbot.notify.outbox import ALERT, MESSAGE, UPDATE
from adminbot.service.runtime import Runtime
from adminbot.store.sqlite import OutboxItem
from handlers import screens
from handlers.words import plain_text

logger = logging.getLogger(__name__)

MAX_PAUSE = 30.0
IDLE_WAKE = 1.0


class PermanentFailure(Exception):
    """This row can never be delivered as it is (our bug, or the admin blocked the bot)."""


class Delivery:
    """The single consumer of the outbox."""

    def __init__(
        self,
        bot: Bot,
        runtime: Runtime,
        *,
        on_delivered: Callable[[float], None] | None = None,
        backoff: float = 1.0,
    ) -> None:
        self.bot = bot
        self.runtime = runtime
        self.store = runtime.store
        self.clock = runtime.clock
        self.bell = runtime.bell
        self.paused_until: datetime | None = None
        self.failures = 0
        self.last_error: str | None = None
        self.sent = 0
        self.latencies: list[float] = []
        self.on_delivered = on_delivered
        self.backoff = backoff
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def health(self) -> tuple[bool, str]:
        """For /healthz: failing while the last attempt to reach Telegram failed."""
        if self.failures == 0:
            return True, f"{self.sent} sent, {self.store.outbox_depth()} queued"
        return False, f"{self.failures} failed attempt(s): {self.last_error}"

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-delivery")

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """Stop the loop, then try to deliver what is left for a short while."""
        self._stopping = True
        self.bell.ring()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        deadline = time.monotonic() + drain_seconds
        while self.store.outbox_depth() and time.monotonic() < deadline:
            await self.deliver_due(ignore_schedule=True)
            if self.store.outbox_depth():
                await asyncio.sleep(0.2)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.deliver_due()
            except Exception:  # the loop must survive our own bugs; the row stays queued
                logger.exception("Outbox delivery failed unexpectedly")
            await self._sleep()

    async def _sleep(self) -> None:
        wait = IDLE_WAKE
        now = self.clock()
        if self.paused_until is not None:
            wait = max(0.05, (self.paused_until - now).total_seconds())
        else:
            next_at = self.store.next_due_at()
            if next_at is not None:
                wait = min(wait, max(0.0, (next_at - now).total_seconds()))
        await self.bell.wait(wait)

    async def deliver_due(self, *, ignore_schedule: bool = False) -> int:
        """Send every due row in order; stop at the first transient failure."""
        now = self.clock()
        if self.paused_until is not None and now < self.paused_until and not ignore_schedule:
            return 0
        self.paused_until = None
        if not await self._deliver_memory():
            return 0
        sent = 0
        horizon = now + timedelta(days=3650) if ignore_schedule else now
        for item in self.store.due(horizon, limit=50):
            if not self.store.claim(item.id):
                continue
            if not await self._deliver_one(item):
                break
            sent += 1
        return sent

    async def _deliver_memory(self) -> bool:
        """Notices the full store could not queue go first, straight from memory."""
        outbox = self.runtime.outbox
        while (item := outbox.peek_memory()) is not None:
            try:
                await self._send(item)
            except (PermanentFailure, Forbidden, BadRequest) as exc:
                logger.error("Dropping a notice kept in memory: %s", exc)
            except TelegramError as exc:  # 429, network, token: keep it and pause
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                pause = min(MAX_PAUSE, self.backoff * 2.0 ** min(self.failures, 5))
                self.paused_until = self.clock() + timedelta(seconds=pause)
                return False
            outbox.drop_memory(item)
        return True

    async def _deliver_one(self, item: OutboxItem) -> bool:
        try:
            await self._send(item)
        except RetryAfter as exc:
            seconds = _seconds(exc.retry_after)
            self._transient(item, seconds, f"429 retry after {seconds:g}s")
            return False
        except (PermanentFailure, Forbidden, BadRequest) as exc:
            logger.error("Dropping outbox row %s (%s): %s", item.id, item.kind, exc)
            self.store.mark_failed(item.id, str(exc))
            return True
        except InvalidToken:
            self._transient(item, MAX_PAUSE, "invalid token")
            return False
        except NetworkError as exc:
            pause = min(MAX_PAUSE, self.backoff * 2.0 ** min(self.failures, 5))
            self._transient(item, pause, f"{type(exc).__name__}: {exc}")
            return False
        now = self.clock()
        self.store.mark_sent(item.id, now)
        latency = (now - item.created_at).total_seconds()
        self.latencies.append(latency)
        if self.on_delivered is not None:
            self.on_delivered(latency)
        del self.latencies[:-1000]
        self.failures = 0
        self.last_error = None
        self.sent += 1
        return True

    def _transient(self, item: OutboxItem, seconds: float, why: str) -> None:
        now = self.clock()
        self.failures += 1
        self.last_error = why
        self.paused_until = now + timedelta(seconds=seconds)
        self.store.release(item.id, now, why)
        logger.warning("Telegram unavailable (%s); alerts wait %.1fs", why, seconds)

    async def _send(self, item: OutboxItem) -> None:
        if item.chat_id is None:
            raise PermanentFailure("no chat")
        if item.kind == MESSAGE:
            text, markup = screens.message(self.runtime, item.payload)
            await _html_or_plain(
                self.bot.send_message, text, chat_id=item.chat_id, reply_markup=markup
            )
        elif item.kind in (ALERT, UPDATE):
            await self._send_incident(item)
        else:
            raise PermanentFailure(f"unknown kind {item.kind!r}")

    async def _send_incident(self, item: OutboxItem) -> None:
        assert item.chat_id is not None and item.incident_id is not None
        incident = self.store.incident(item.incident_id)
        if incident is None:
            raise PermanentFailure(f"incident {item.incident_id} is gone")
        text, markup = screens.alert(self.runtime, incident)
        message_id = self.store.alert_messages(incident.id).get(item.chat_id)
        if message_id is not None:
            try:
                await _html_or_plain(
                    self.bot.edit_message_text,
                    text,
                    chat_id=item.chat_id,
                    message_id=message_id,
                    reply_markup=markup,
                )
                return
            except BadRequest as exc:
                if "not modified" in exc.message.lower():
                    return
                if not _message_gone(exc):
                    raise
                logger.info("Alert message %s is gone; sending a new one", message_id)
        elif item.kind == UPDATE and incident.state.is_closed:
            return
        sent = await _html_or_plain(
            self.bot.send_message, text, chat_id=item.chat_id, reply_markup=markup
        )
        self.store.save_alert_message(incident.id, item.chat_id, sent.message_id, self.clock())


async def _html_or_plain(send: Callable[..., Awaitable[Any]], text: str, **kwargs: Any) -> Any:
    """Send as HTML; if Telegram cannot parse it (our escaping bug), send it as plain
    text rather than lose the alert."""
    try:
        return await send(text=text, parse_mode=ParseMode.HTML, **kwargs)
    except BadRequest as exc:
        if "parse entities" not in exc.message.lower():
            raise
        logger.error("Telegram refused our HTML (%s); sending plain text", exc.message)
        return await send(text=plain_text(text), **kwargs)


def _message_gone(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return "not found" in text or "can't be edited" in text


def _seconds(value: int | timedelta) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)
