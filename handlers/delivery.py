"""Drains the store's outbox to Telegram: by priority, once, paced, and patiently when down.

The most urgent due row goes first (a new critical alert before queued edits and
notices; oldest first within a priority), at the pace Telegram allows each chat
(`handlers.pacing`). Each row is claimed with compare-and-set just before its request
and marked sent in the commit that follows Telegram's answer, so a crash can repeat
at most the request in flight; such a re-send, and one after a timed-out answer,
says it may be a repeat. Transient failures (network, 5xx, 429, an answer that is
not the Bot API's JSON) put the row back and pause the whole queue, so later alerts
never overtake an earlier one of the same priority. Permanent failures are recorded,
not retried forever.

This module is the exactly-once protocol (claim, send, mark, pause, settle once the
store is back) in one place, so its order can be read at once; what each row becomes
in Telegram is `handlers.sending`, what Telegram's failures mean `handlers.failures`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from telegram import Bot
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from adminbot.service.lease import Lease
from adminbot.service.runtime import Runtime
from adminbot.store.errors import StoreUnreachable
from adminbot.store.fence import Fence
from adminbot.store.rows import OutboxItem
from handlers.failures import PermanentFailure, maybe_delivered, not_the_bot_api, retry_seconds
from handlers.pacing import Pacer
from handlers.sending import Sender

logger = logging.getLogger(__name__)

MAX_PAUSE = 30.0
IDLE_WAKE = 1.0
LOOKAHEAD = 100
"""Due rows looked at per pick: enough to find one for a chat that is not waiting."""


class LeaseLost(Exception):
    """The row was taken back by a new front while this one sent it; it stops sending."""


class Delivery:
    """The single consumer of the outbox."""

    def __init__(
        self,
        bot: Bot,
        runtime: Runtime,
        *,
        on_delivered: Callable[[float], None] | None = None,
        backoff: float = 1.0,
        pacer: Pacer | None = None,
        lease: Lease | None = None,
    ) -> None:
        self.lease = lease
        self.runtime = runtime
        self.store = runtime.store
        self.clock = runtime.clock
        self.bell = runtime.bell
        self.metrics = runtime.metrics
        self.pacer = pacer or Pacer()
        self.paused_until: datetime | None = None
        self.failures = 0
        self.last_error: str | None = None
        self.sent = 0
        self.latencies: list[float] = []
        self.on_delivered = on_delivered
        self.backoff = backoff
        self._pace_wait: float | None = None
        self._task: asyncio.Task[None] | None = None
        self.sender = Sender(bot, runtime)
        self._stopping = False
        self._fence: Fence | None = None
        self._unsettled: Callable[[], None] | None = None

    @property
    def skipped_edits(self) -> int:
        """Edits not sent because they would have changed nothing the admin sees."""
        return self.sender.skipped_edits

    def health(self) -> tuple[bool, str]:
        """For /healthz: failing while the last attempt to reach Telegram failed."""
        if self.failures == 0:
            try:
                queued = str(self.store.outbox_depth())
            except StoreUnreachable:  # the store's own part fails /healthz meanwhile
                queued = "unknown while the store is unreachable"
            return True, f"{self.sent} sent, {queued} queued"
        return False, f"{self.failures} failed attempt(s): {self.last_error}"

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-delivery")

    def _held(self) -> bool:
        """Whether this instance is the front now; its fence goes with each outbox write."""
        if self.lease is None:
            return True
        self._fence = self.lease.fence()
        return self.lease.held

    async def halt(self) -> None:
        """Stop at once, delivering nothing more: another instance is the front now.

        A send cut short leaves its row claimed in this term; the next front re-sends
        it, marked as possibly repeated."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """Stop the loop, then try to deliver what is left for a short while."""
        self._stopping = True
        self.bell.ring()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        deadline = time.monotonic() + drain_seconds
        while self.store.outbox_depth() and time.monotonic() < deadline and self._held():
            await self.deliver_due(ignore_schedule=True)
            if self.store.outbox_depth():
                pause = min(0.2, self._pace_wait or 0.2, max(0.0, deadline - time.monotonic()))
                await asyncio.sleep(pause)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.deliver_due()
            except StoreUnreachable as exc:
                logger.warning("Outbox delivery waits for the store: %s", exc)
            except Exception:  # the loop must survive our own bugs; the row stays queued
                logger.exception("Outbox delivery failed unexpectedly")
            await self._sleep()

    async def _sleep(self) -> None:
        wait = IDLE_WAKE
        now = self.clock()
        if self.paused_until is not None:
            wait = max(0.05, (self.paused_until - now).total_seconds())
        else:
            if self._pace_wait is not None:
                wait = min(wait, self._pace_wait)
            try:
                next_at = self.store.next_due_at(after=now)
            except StoreUnreachable:  # looked at again after the idle wait
                next_at = None
            if next_at is not None:
                wait = min(wait, max(0.0, (next_at - now).total_seconds()))
        await self.bell.wait(wait)

    async def deliver_due(self, *, ignore_schedule: bool = False) -> int:
        """Send due rows, most urgent first, while the chats' pace allows; stop at the
        first transient failure."""
        now = self.clock()
        if self.paused_until is not None and now < self.paused_until and not ignore_schedule:
            return 0
        self.paused_until = None
        if not self._held() or not await self._deliver_memory():
            return 0
        self._settle()
        self.runtime.outbox.settle()
        sent = 0
        while (item := self._pick(ignore_schedule)) is not None:
            if (self._stopping and not ignore_schedule) or not self._held():
                break
            if not self.store.claim(item.id, self._fence):
                if self.lease is not None and self.lease.fence() is None:
                    break
                continue
            if item.chat_id is not None:
                self.pacer.take(item.chat_id)
            if not await self._deliver_one(item):
                break
            sent += 1
        return sent

    def _settle(self) -> None:
        """The store write a lost server cut off, made now that it answers: a sent row
        marked sent, an unsent one given back."""
        settle = self._unsettled
        if settle is None:
            return
        try:
            settle()
        except LeaseLost as exc:
            logger.warning("Outbox row %s was taken back by a new front meanwhile", exc)
        self._unsettled = None

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

    def _pick(self, ignore_schedule: bool) -> OutboxItem | None:
        """The most urgent due row whose chat may be sent to now (a new critical alert
        queued while we were sending is seen at once)."""
        now = self.clock()
        horizon = now + timedelta(days=3650) if ignore_schedule else now
        waiting: dict[int, float] = {}
        for item in self.store.due(horizon, limit=LOOKAHEAD):
            chat = item.chat_id
            if chat is None:
                return item
            if chat in waiting:
                continue  # its chat waits for the pace: later rows of it wait behind
            wait = self.pacer.wait(chat)
            if wait <= 0:
                return item
            waiting[chat] = wait
        self._pace_wait = min(waiting.values()) if waiting else None
        return None

    async def _deliver_one(self, item: OutboxItem) -> bool:
        if item.doubt:
            self.metrics.alert_resent()
        try:
            await self._send(item)
        except LeaseLost:
            logger.warning("Outbox row %s was taken back by a new front; stopping", item.id)
            return False
        except RetryAfter as exc:
            seconds = retry_seconds(exc.retry_after)
            self._transient(item, seconds, f"429 retry after {seconds:g}s", "rate_limited")
            return False
        except (PermanentFailure, Forbidden, BadRequest, InvalidToken) as exc:
            if isinstance(exc, TelegramError) and not_the_bot_api(exc):
                self._transient(item, self._pause(), f"not the Bot API: {exc}", "unreadable")
                return False
            if isinstance(exc, InvalidToken):
                self._transient(item, MAX_PAUSE, "invalid token", "invalid_token")
                return False
            logger.error("Dropping outbox row %s (%s): %s", item.id, item.kind, exc)
            self.store.mark_failed(item.id, str(exc), self._fence)
            return True
        except TimedOut as exc:
            unsure = maybe_delivered(exc)
            why = f"timed out{' (maybe delivered)' if unsure else ''}: {exc}"
            self._transient(item, self._pause(), why, "timeout", unsure=unsure)
            return False
        except NetworkError as exc:
            self._transient(item, self._pause(), f"{type(exc).__name__}: {exc}", "network")
            return False
        except TelegramError as exc:
            if not not_the_bot_api(exc):
                logger.error("Dropping outbox row %s (%s): %s", item.id, item.kind, exc)
                self.store.mark_failed(item.id, str(exc), self._fence)
                return True
            self._transient(item, self._pause(), f"unreadable answer: {exc}", "unreadable")
            return False
        except StoreUnreachable as exc:  # neither sent nor failed: settled once it is back
            if self._unsettled is None:
                why = f"store unreachable: {exc}"
                self._unsettled = lambda: self.store.release(
                    item.id, self.clock(), why, fence=self._fence
                )
            raise
        except Exception as exc:  # our bug must not strand the row in 'sending' for the run
            logger.exception("Outbox row %s (%s) could not be sent", item.id, item.kind)
            self.store.mark_failed(item.id, f"{type(exc).__name__}: {exc}", self._fence)
            return True
        latency = (self.clock() - item.created_at).total_seconds()
        self.latencies.append(latency)
        if self.on_delivered is not None:
            self.on_delivered(latency)
        del self.latencies[:-1000]
        self.failures = 0
        self.last_error = None
        self.sent += 1
        return True

    def _pause(self) -> float:
        return min(MAX_PAUSE, self.backoff * 2.0 ** min(self.failures, 5))

    def _transient(
        self, item: OutboxItem, seconds: float, why: str, reason: str, *, unsure: bool = False
    ) -> None:
        now = self.clock()
        self.failures += 1
        self.last_error = why
        self.paused_until = now + timedelta(seconds=seconds)
        self.store.release(item.id, now, why, unsure=unsure, fence=self._fence)
        self.metrics.delivery_failed(reason)
        logger.warning("Telegram unavailable (%s); alerts wait %.1fs", why, seconds)

    def _done(self, item: OutboxItem, record: Callable[[], None] | None = None) -> None:
        """Telegram answered: record the message and mark the row sent in one commit,
        before anything else runs, so a crash after the answer cannot send it again; a
        server lost meanwhile gets the same commit once it is back."""
        try:
            with self.store.transaction():
                marked = self.store.mark_sent(item.id, self.clock(), self._fence)
                if not marked and self._fence is not None and item.id > 0:  # memory: no row
                    raise LeaseLost(item.id)
                if record is not None:
                    record()
        except StoreUnreachable:
            self._unsettled = lambda: self._done(item, record)
            raise

    async def _send(self, item: OutboxItem) -> None:
        """Send the row (`handlers.sending`), then mark it sent with what the send records."""
        record = await self.sender.send(item)
        self._done(item, record)
