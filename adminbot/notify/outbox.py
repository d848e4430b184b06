"""Deciding what to tell the admin, and queueing it durably in the store's outbox.

Nothing here sends anything: the Telegram layer drains the outbox, so an alert raised
while Telegram is down waits in the store instead of being lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping
from datetime import timedelta
from typing import Any

from adminbot.clock import Clock, utcnow
from adminbot.incidents.book import EventKind, IncidentEvent
from adminbot.models import Severity
from adminbot.notify.notices import Notice, to_payload
from adminbot.store.sqlite import Store

ALERT = "alert"
UPDATE = "update"
MESSAGE = "message"


class Doorbell:
    """Wakes the outbox's consumer on the event loop, from any thread, after a commit."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._rung = asyncio.Event()

    def ring(self) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._rung.set)

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109 - a wake-up with a bound
        """Until the bell rings or `timeout` passes."""
        try:
            await asyncio.wait_for(self._rung.wait(), timeout)
        except TimeoutError:
            return
        finally:
            self._rung.clear()


class Outbox:
    """Turns incident events and notices into outbox rows, one per admin chat."""

    def __init__(
        self,
        store: Store,
        chats: Collection[int],
        *,
        throttle_seconds: float = 15.0,
        min_severity: Severity = Severity.INFO,
        clock: Clock = utcnow,
        on_enqueue: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.chats = tuple(sorted(chats))
        self.throttle = timedelta(seconds=throttle_seconds)
        self.min_severity = min_severity
        self.clock = clock
        self.on_enqueue = on_enqueue

    def incident_event(self, event: IncidentEvent) -> None:
        """A new incident is alerted at once; repeats become one throttled edit."""
        if event.muted or event.incident.severity.rank < self.min_severity.rank:
            return
        if event.kind is EventKind.OPENED:
            self._each_chat(ALERT, {}, incident_id=event.incident.id)
        else:
            self.incident_changed(event.incident.id, delay=self.throttle)

    def alert(self, incident_id: int) -> None:
        """Send the incident's alert now (an auto fix that failed, or one over budget)."""
        self._each_chat(ALERT, {}, incident_id=incident_id, coalesce=True)

    def incident_changed(self, incident_id: int, delay: timedelta | None = None) -> None:
        """Refresh the incident's alert message (state, count, action outcome)."""
        self._each_chat(
            UPDATE, {}, incident_id=incident_id, delay=delay or timedelta(0), coalesce=True
        )

    def notice(self, notice: Notice) -> None:
        """Queue a notice (check flips, mute expiry, start-up, summary) for every admin."""
        self._each_chat(MESSAGE, to_payload(notice))

    def _each_chat(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        incident_id: int | None = None,
        delay: timedelta = timedelta(0),
        coalesce: bool = False,
    ) -> None:
        now = self.clock()
        with self.store.transaction():
            for chat in self.chats:
                self.store.enqueue(
                    kind,
                    payload,
                    now,
                    chat_id=chat,
                    incident_id=incident_id,
                    not_before=now + delay,
                    coalesce=coalesce,
                )
        if self.on_enqueue is not None and self.chats:
            self.store.after_commit(self.on_enqueue)
