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

Over ~400 lines: one sender's whole exactly-once protocol (claim, send, mark, pause,
re-send marking, skipped edits) is kept together so its order can be read at once;
what Telegram's failures mean is `handlers.failures`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from adminbot.models import Incident
from adminbot.notify.notices import DigestChart, NoticeKind, notice_from_payload
from adminbot.notify.outbox import ALERT, CONTINUES_FIELD, MESSAGE, SILENT_FIELD, STORM, UPDATE
from adminbot.service.lease import Lease
from adminbot.service.runtime import Runtime
from adminbot.store.errors import StoreUnreachable
from adminbot.store.fence import Fence
from adminbot.store.rows import OutboxItem, SentRef
from handlers import layout, notice_views, screens
from handlers.failures import (
    PermanentFailure,
    html_or_plain,
    maybe_delivered,
    message_gone,
    not_the_bot_api,
    retry_seconds,
)
from handlers.pacing import Pacer
from handlers.topics import Topics

logger = logging.getLogger(__name__)

MAX_PAUSE = 30.0
IDLE_WAKE = 1.0
SEND_READ_TIMEOUT = 30.0
"""Telegram sometimes takes seconds to answer a send; giving up sooner re-sends a
message it did deliver."""
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
        self.bot = bot
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
        self.skipped_edits = 0
        self.latencies: list[float] = []
        self.on_delivered = on_delivered
        self.backoff = backoff
        self._pace_wait: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._shown = Shown()
        self.topics = Topics(bot, runtime.config, runtime.store)
        self._stopping = False
        self._fence: Fence | None = None
        self._unsettled: Callable[[], None] | None = None

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
        if item.chat_id is None:
            raise PermanentFailure("no chat")
        if item.kind == MESSAGE and item.payload.get("kind") == NoticeKind.DIGEST_CHART.value:
            await self._send_chart(item, item.chat_id)
        elif item.kind == MESSAGE:
            view = screens.message(self.runtime, item.payload)
            if item.doubt:
                view = notice_views.possibly_repeated(view, screens.words(self.runtime))
            replied = self._replied(item)
            await self._new_message(
                item.chat_id,
                view,
                silent=bool(item.payload.get(SILENT_FIELD)),
                reply_to=replied[0] if replied else None,
                thread=await self.topics.thread(item.chat_id, *replied[1:]) if replied else None,
            )
            self._done(item)
        elif item.kind in (ALERT, UPDATE):
            await self._send_incident(item, item.chat_id)
        elif item.kind == STORM:
            await self._send_storm(item, item.chat_id)
        else:
            raise PermanentFailure(f"unknown kind {item.kind!r}")

    async def _send_incident(self, item: OutboxItem, chat: int) -> None:
        assert item.incident_id is not None
        incident = self.store.incident(item.incident_id)
        if incident is None:
            raise PermanentFailure(f"incident {item.incident_id} is gone")
        ref = self.store.alert_message(incident.id, chat)
        taken = None
        if ref is None and item.payload.get(CONTINUES_FIELD):
            ref = taken = self._continued(incident, chat)
        if ref is not None and taken is None and self._taken_over(incident.id, chat, ref):
            self._done(item)  # a later incident of the loop shows in that message now
            return
        if ref is not None:
            view = screens.alert(self.runtime, incident, repeated=ref.repeated)
            if await self._edited(chat, ref, view):
                self._done(item, self._take_over(incident.id, chat, taken))
                return
        elif item.kind == UPDATE and incident.state.is_closed:
            self._done(item)
            return
        repeated = item.doubt > 0
        sent = await self._new_message(
            chat,
            screens.alert(self.runtime, incident, repeated=repeated),
            silent=bool(item.payload.get(SILENT_FIELD)) and item.kind == ALERT,
            thread=await self.topics.thread(chat, incident.rule, incident.host),
        )
        now = self.clock()
        self._done(
            item,
            lambda: self.store.save_alert_message(
                incident.id, chat, sent.message_id, now, repeated=repeated
            ),
        )

    def _continued(self, incident: Incident, chat: int) -> SentRef | None:
        """The alert message of the incident this one continues (a crash loop, a flapping
        outage), which this one's alert takes over instead of pushing a new message."""
        again = screens.recurrence_of(self.runtime, incident)
        return None if again is None else self.store.alert_message(again.previous, chat)

    def _taken_over(self, incident_id: int, chat: int, ref: SentRef) -> bool:
        owner = self.store.alert_owner(chat, ref.message_id)
        return owner is not None and owner > incident_id

    def _take_over(
        self, incident_id: int, chat: int, taken: SentRef | None
    ) -> Callable[[], None] | None:
        """Record the continued message as this incident's own, in the commit that marks
        the row sent; nothing to record when it was already its own."""
        if taken is None:
            return None
        now = self.clock()
        return lambda: self.store.save_alert_message(
            incident_id, chat, taken.message_id, now, repeated=taken.repeated
        )

    async def _send_storm(self, item: OutboxItem, chat: int) -> None:
        storm_id = item.storm_id
        facts = self.store.storm(storm_id) if storm_id is not None else None
        if storm_id is None or facts is None:
            raise PermanentFailure(f"storm {storm_id} is gone")
        screen = screens.screen(self.runtime)
        ref = self.store.storm_message(storm_id, chat)
        if ref is not None and await self._edited(
            chat, ref, notice_views.storm(facts, screen, repeated=ref.repeated)
        ):
            self._done(item)
            return
        repeated = item.doubt > 0
        sent = await self._new_message(
            chat,
            notice_views.storm(facts, screen, repeated=repeated),
            thread=await self.topics.thread(chat, facts.rule),
        )
        self._done(
            item,
            lambda: self.store.save_storm_message(
                storm_id, chat, sent.message_id, repeated=repeated
            ),
        )

    async def _send_chart(self, item: OutboxItem, chat: int) -> None:
        """A chart notice is a photo, drawn from the store now, its caption the notice's text."""
        notice = notice_from_payload(item.payload)
        if not isinstance(notice, DigestChart):
            raise PermanentFailure(f"unreadable chart notice {dict(item.payload)!r}")
        png = await asyncio.to_thread(screens.chart_png, self.runtime, notice.since, notice.until)
        caption, _ = screens.message(self.runtime, item.payload)
        await self.bot.send_photo(
            chat,
            png,
            caption=caption,
            parse_mode=ParseMode.HTML,
            disable_notification=bool(item.payload.get(SILENT_FIELD)),
            read_timeout=SEND_READ_TIMEOUT,
            write_timeout=SEND_READ_TIMEOUT,
        )
        self._done(item)

    def _replied(self, item: OutboxItem) -> tuple[int, str, str] | None:
        """A reminder answers its incident's alert in that chat, when the alert is there
        (in the alert's forum topic): the alert's message id, the incident's type and host."""
        if item.chat_id is None or item.payload.get("kind") != NoticeKind.REMINDER.value:
            return None
        incident = self.store.incident(int(item.payload["incident"]))
        ref = None if incident is None else self.store.alert_message(incident.id, item.chat_id)
        if incident is None or ref is None:
            return None
        return ref.message_id, incident.rule, incident.host

    async def _new_message(
        self,
        chat: int,
        view: layout.View,
        *,
        silent: bool = False,
        reply_to: int | None = None,
        thread: int | None = None,
    ) -> Message:
        text, markup = view
        extra: dict[str, Any] = {"disable_notification": True} if silent else {}
        if thread is not None:
            extra["message_thread_id"] = thread
        if reply_to is not None:
            extra["reply_to_message_id"] = reply_to
            extra["allow_sending_without_reply"] = True
        sent: Message = await html_or_plain(
            self.bot.send_message,
            text,
            chat_id=chat,
            reply_markup=markup,
            read_timeout=SEND_READ_TIMEOUT,
            **extra,
        )
        self._shown.remember(chat, sent.message_id, view)
        return sent

    async def _edited(self, chat: int, ref: SentRef, view: layout.View) -> bool:
        """Edit the message in place; False when it is gone and a new one must be sent.
        An edit that would change nothing the admin sees is not sent at all."""
        text, markup = view
        if self._shown.same(chat, ref.message_id, view):
            self.skipped_edits += 1
            return True
        try:
            await html_or_plain(
                self.bot.edit_message_text,
                text,
                chat_id=chat,
                message_id=ref.message_id,
                reply_markup=markup,
                read_timeout=SEND_READ_TIMEOUT,
            )
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return True
            if not message_gone(exc):
                raise
            logger.info("Message %s is gone; sending a new one", ref.message_id)
            return False
        self._shown.remember(chat, ref.message_id, view)
        return True


class Shown:
    """What each recent message shows now, to skip edits that would change nothing.

    Bounded (the oldest are forgotten): after a restart or for a forgotten message
    one redundant edit may go out, and Telegram's "not modified" answer covers it.
    """

    LIMIT = 5000

    def __init__(self) -> None:
        self._views: OrderedDict[tuple[int, int], str] = OrderedDict()

    def same(self, chat: int, message_id: int, view: layout.View) -> bool:
        return self._views.get((chat, message_id)) == _fingerprint(view)

    def remember(self, chat: int, message_id: int, view: layout.View) -> None:
        key = (chat, message_id)
        self._views[key] = _fingerprint(view)
        self._views.move_to_end(key)
        while len(self._views) > self.LIMIT:
            self._views.popitem(last=False)


def _fingerprint(view: layout.View) -> str:
    text, markup = view
    buttons = json.dumps(markup.to_dict(), sort_keys=True) if markup is not None else ""
    return f"{text}\0{buttons}"
