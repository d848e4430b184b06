"""What an outbox row becomes in Telegram: a notice as a new message (a reminder as a
reply to its alert, a chart as a photo), an alert or a storm as an edit of its message
while that message is there, else as a new one (a crash loop's next incident takes
over the message of the one it continues).

Each send answers what to record in the commit that marks its row sent; claiming,
marking and pausing are `handlers.delivery`'s. An edit that would change nothing the
admin sees is not sent (`Shown`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest

from adminbot.models import Incident
from adminbot.notify.notices import DigestChart, NoticeKind, notice_from_payload
from adminbot.notify.outbox import ALERT, CONTINUES_FIELD, MESSAGE, SILENT_FIELD, UPDATE
from adminbot.notify.storms import STORM
from adminbot.service.runtime import Runtime
from adminbot.store.rows import OutboxItem, SentRef
from handlers import layout, notice_views, screens
from handlers.failures import PermanentFailure, html_or_plain, message_gone
from handlers.topics import Topics

logger = logging.getLogger(__name__)

SEND_READ_TIMEOUT = 30.0
"""Telegram sometimes takes seconds to answer a send; giving up sooner re-sends a
message it did deliver."""

Record = Callable[[], None]
"""A store write for the commit that marks a row sent (the message id of an alert)."""


class Sender:
    """Sends each outbox row as the message (or edit) it stands for."""

    def __init__(self, bot: Bot, runtime: Runtime) -> None:
        self.bot = bot
        self.runtime = runtime
        self.store = runtime.store
        self.clock = runtime.clock
        self.skipped_edits = 0
        self._shown = Shown()
        self.topics = Topics(bot, runtime.config, runtime.store)

    async def send(self, item: OutboxItem) -> Record | None:
        """Send the row; what to record in the commit that marks it sent (None: nothing
        but the mark). A row that can never be sent as it is raises PermanentFailure."""
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
        elif item.kind in (ALERT, UPDATE):
            return await self._send_incident(item, item.chat_id)
        elif item.kind == STORM:
            return await self._send_storm(item, item.chat_id)
        else:
            raise PermanentFailure(f"unknown kind {item.kind!r}")
        return None

    async def _send_incident(self, item: OutboxItem, chat: int) -> Record | None:
        assert item.incident_id is not None
        incident = self.store.incident(item.incident_id)
        if incident is None:
            raise PermanentFailure(f"incident {item.incident_id} is gone")
        ref = self.store.alert_message(incident.id, chat)
        taken = None
        if ref is None and item.payload.get(CONTINUES_FIELD):
            ref = taken = self._continued(incident, chat)
        if ref is not None and taken is None and self._taken_over(incident.id, chat, ref):
            return None  # a later incident of the loop shows in that message now
        if ref is not None:
            view = screens.alert(self.runtime, incident, repeated=ref.repeated)
            if await self._edited(chat, ref, view):
                return self._take_over(incident.id, chat, taken)
        elif item.kind == UPDATE and incident.state.is_closed:
            return None
        repeated = item.doubt > 0
        sent = await self._new_message(
            chat,
            screens.alert(self.runtime, incident, repeated=repeated),
            silent=bool(item.payload.get(SILENT_FIELD)) and item.kind == ALERT,
            thread=await self.topics.thread(chat, incident.rule, incident.host),
        )
        now = self.clock()
        return lambda: self.store.save_alert_message(
            incident.id, chat, sent.message_id, now, repeated=repeated
        )

    def _continued(self, incident: Incident, chat: int) -> SentRef | None:
        """The alert message of the incident this one continues (a crash loop, a flapping
        outage), which this one's alert takes over instead of pushing a new message."""
        again = screens.recurrence_of(self.runtime, incident)
        return None if again is None else self.store.alert_message(again.previous, chat)

    def _taken_over(self, incident_id: int, chat: int, ref: SentRef) -> bool:
        owner = self.store.alert_owner(chat, ref.message_id)
        return owner is not None and owner > incident_id

    def _take_over(self, incident_id: int, chat: int, taken: SentRef | None) -> Record | None:
        """Record the continued message as this incident's own, in the commit that marks
        the row sent; nothing to record when it was already its own."""
        if taken is None:
            return None
        now = self.clock()
        return lambda: self.store.save_alert_message(
            incident_id, chat, taken.message_id, now, repeated=taken.repeated
        )

    async def _send_storm(self, item: OutboxItem, chat: int) -> Record | None:
        storm_id = item.storm_id
        facts = self.store.storm(storm_id) if storm_id is not None else None
        if storm_id is None or facts is None:
            raise PermanentFailure(f"storm {storm_id} is gone")
        screen = screens.screen(self.runtime)
        ref = self.store.storm_message(storm_id, chat)
        if ref is not None and await self._edited(
            chat, ref, notice_views.storm(facts, screen, repeated=ref.repeated)
        ):
            return None
        repeated = item.doubt > 0
        sent = await self._new_message(
            chat,
            notice_views.storm(facts, screen, repeated=repeated),
            thread=await self.topics.thread(chat, facts.rule),
        )
        return lambda: self.store.save_storm_message(
            storm_id, chat, sent.message_id, repeated=repeated
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
