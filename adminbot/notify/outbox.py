"""Deciding what to tell the admin, and queueing it durably in the store's outbox.

Nothing here sends anything: the Telegram layer drains the outbox, so an alert raised
while Telegram is down waits in the store instead of being lost. When the store
cannot take a write (its disk is full), notices wait in a small memory lane that the
sender drains first, so "disk critical" still reaches the admin; the first one says
that history is paused.

Storm mode (one message per rule in a storm of new incidents) is `StormMessages` in
`storms.py`, which the outbox builds and asks before it queues an alert; the row
priorities both use are in `priority.py`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Collection, Mapping
from datetime import timedelta
from typing import Any

from adminbot.checks.base import CheckResult, CheckState
from adminbot.clock import Clock, utcnow
from adminbot.incidents.events import EventKind, IncidentEvent
from adminbot.models import Incident, Severity
from adminbot.notify.notices import (
    CheckFlip,
    HeldAlert,
    LinesUnrecorded,
    Notice,
    QuietDigest,
    StoreFull,
    to_payload,
)
from adminbot.notify.priority import Priority, alert_priority
from adminbot.notify.quiet import Hush, QuietPolicy
from adminbot.notify.storms import StormMessages, StormWatch
from adminbot.store.api import StoreApi
from adminbot.store.damage import is_full
from adminbot.store.rows import OutboxItem
from adminbot.store.sqlite import host_key

logger = logging.getLogger(__name__)

MEMORY_LIMIT = 50
"""Notices kept in memory while the store is full; later ones are dropped (and logged)."""

ALERT = "alert"
UPDATE = "update"
MESSAGE = "message"
SILENT_FIELD = "silent"
"""A row whose payload holds this is sent without sound (quiet hours)."""
CONTINUES_FIELD = "continues"
"""A row whose payload holds this may edit the alert of the incident it continues (the
same rule and key closed a moment ago: a crash loop, a flapping outage) instead of
pushing a new message; see `adminbot.incidents.recurrence`."""
HELD_META = "quiet_held"
"""Store meta key: the alerts held for the quiet-hours digest, kept across a restart."""


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
    """Turns incident events and notices into outbox rows, one per admin chat.

    Rows carry a priority: a new critical or error alert overtakes queued edits and
    notices. A rule that opens more new incidents in a window than `storm_threshold`
    (0: never) is told as one storm message, refreshed at most every throttle period,
    until it calms down; other rules' alerts go on as before.
    """

    def __init__(
        self,
        store: StoreApi,
        chats: Collection[int],
        *,
        throttle_seconds: float = 15.0,
        min_severity: Severity = Severity.INFO,
        clock: Clock = utcnow,
        on_enqueue: Callable[[], None] | None = None,
        storm_threshold: int = 0,
        storm_window: float = 60.0,
        memory_limit: int = MEMORY_LIMIT,
        quiet: QuietPolicy | None = None,
    ) -> None:
        self.store = store
        self.chats = tuple(sorted(chats))
        self.throttle = timedelta(seconds=throttle_seconds)
        self.min_severity = min_severity
        self.clock = clock
        self.on_enqueue = on_enqueue
        self.storms = StormWatch(storm_threshold, timedelta(seconds=storm_window))
        self._storm_messages = StormMessages(
            store, self.chats, self.storms, throttle=self.throttle, clock=clock, rang=self._rang
        )
        self._memory: deque[OutboxItem] = deque()
        self._memory_limit = memory_limit
        self._memory_lock = threading.Lock()
        self._memory_ids = itertools.count(-1, -1)
        self._full = False
        self._unannounced: set[str] = set()  # checks whose trouble never reached the admin
        self.quiet = quiet or QuietPolicy()
        self._held_key = host_key(HELD_META, store.host)  # each host holds its own alerts
        held = store.get_meta(self._held_key) if self.chats else None
        self._held: list[int] = [int(i) for i in held.split(",") if i] if held else []

    def incident_event(self, event: IncidentEvent, *, counted: bool = False) -> None:
        """A new incident is alerted at once; repeats become one throttled edit.
        `counted`: `automatic` already counted the new incident toward its rule's storm."""
        incident = event.incident
        if not self._told(event):
            return
        if event.kind is EventKind.OPENED:
            if self._storm_messages.in_storm(incident, opened=not counted):
                return
            payload = self._hushed(incident)
            if payload is None:
                return
            priority = alert_priority(incident.severity)
            payload[CONTINUES_FIELD] = True
            self._each_chat(ALERT, payload, incident_id=incident.id, priority=priority)
        elif incident.id in self._held or self._storm_messages.in_storm(incident, opened=False):
            return
        else:
            self.incident_changed(incident.id, delay=self.throttle)

    def automatic(self, event: IncidentEvent) -> bool:
        """A new incident a policy fixes before anyone is told: it counts toward its
        rule's storm all the same (and may start it); True when the storm's message tells
        of it. Without this, a storm of fixable incidents past the fix budget would be an
        alert each."""
        return self._told(event) and self._storm_messages.in_storm(event.incident, opened=True)

    def _told(self, event: IncidentEvent) -> bool:
        """Whether the admin hears of this event at all (a mute, a minimum severity)."""
        return not event.muted and event.incident.severity.rank >= self.min_severity.rank

    def alert(self, incident_id: int) -> None:
        """Send the incident's alert now (an auto fix that failed, or one over budget).

        One an automatic fix already settled needs nobody: it arrives without sound and
        edits the alert of the incident it continues (the restart of a crash loop)."""
        incident = self.store.incident(incident_id)
        if incident is not None and self._storm_messages.in_storm(incident, opened=False):
            return
        payload = self._hushed(incident) if incident is not None else {}
        if payload is None:
            return
        if incident is not None and incident.state.is_closed:
            payload |= {SILENT_FIELD: True, CONTINUES_FIELD: True}
        priority = alert_priority(incident.severity) if incident else Priority.ERROR
        self._each_chat(ALERT, payload, incident_id=incident_id, coalesce=True, priority=priority)

    def incident_changed(self, incident_id: int, delay: timedelta | None = None) -> None:
        """Refresh the incident's alert message (state, count, action outcome)."""
        if incident_id in self._held:
            return  # told by the digest when quiet hours end
        self._each_chat(
            UPDATE,
            {},
            incident_id=incident_id,
            delay=delay or timedelta(0),
            coalesce=True,
            priority=Priority.EDIT,
        )

    def check_flipped(self, result: CheckResult, old: CheckState | None) -> None:
        """A health check changed state: a notice of the flip (`checks.health`)."""
        self.notice(CheckFlip.of(result, old))

    def notice(self, notice: Notice, *, urgent: bool = False) -> None:
        """Queue a notice (check flips, mute expiry, start-up, summary) for every admin.

        A check's return to ok is not announced if its trouble never was (it could
        be neither stored nor kept in memory): no end of something never begun."""
        trouble = isinstance(notice, CheckFlip) and notice.state is not CheckState.OK
        if isinstance(notice, CheckFlip) and not trouble and notice.name in self._unannounced:
            self._unannounced.discard(notice.name)
            logger.warning("Check %s is ok again; its trouble was never told", notice.name)
            return
        payload = to_payload(notice)
        urgent = urgent or (isinstance(notice, CheckFlip) and notice.state is CheckState.CRITICAL)
        if self.quiet.message(urgent, self.clock()) is Hush.SILENT:
            payload[SILENT_FIELD] = True
        told = self._each_chat(MESSAGE, payload, priority=Priority.NOTICE, notice=notice)
        if isinstance(notice, CheckFlip) and trouble:
            if told:
                self._unannounced.discard(notice.name)
            else:
                self._unannounced.add(notice.name)

    def peek_memory(self) -> OutboxItem | None:
        """The oldest notice kept in memory (the store was full), for the sender."""
        with self._memory_lock:
            return self._memory[0] if self._memory else None

    def drop_memory(self, item: OutboxItem) -> None:
        """The sender is done with `item` (sent, or refused for good)."""
        with self._memory_lock:
            if self._memory and self._memory[0] is item:
                self._memory.popleft()

    @property
    def storming(self) -> tuple[str, ...]:
        """The rules told as a storm right now."""
        return self._storm_messages.storming

    def settle(self) -> None:
        """Refresh storm messages that are due, end the storms that calmed down, and send
        the quiet-hours digest once they are over."""
        now = self.clock()
        if self._held and not self.quiet.quiet(now):
            self._send_digest()
        self._storm_messages.settle(now)

    def _hushed(self, incident: Incident) -> dict[str, Any] | None:
        """The alert row's payload under quiet hours; None when it is held for the digest."""
        hush = self.quiet.alert(incident.severity, self.clock())
        if hush is Hush.HOLD and self.chats:
            if incident.id not in self._held:
                self._held.append(incident.id)
                self.store.set_meta(self._held_key, ",".join(map(str, self._held)))
            return None
        return {SILENT_FIELD: True} if hush is Hush.SILENT else {}

    def _send_digest(self) -> None:
        """One message listing the alerts held during quiet hours (those still known)."""
        found = [self.store.incident(i) for i in self._held]
        held = tuple(
            HeldAlert(i.id, i.rule, i.severity.value, i.count, i.first_seen)
            for i in found
            if i is not None
        )
        self._held = []
        self.store.set_meta(self._held_key, "")
        if held:
            self.notice(QuietDigest(held))

    def _each_chat(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        incident_id: int | None = None,
        delay: timedelta = timedelta(0),
        coalesce: bool = False,
        priority: Priority = Priority.NOTICE,
        notice: Notice | None = None,
    ) -> bool:
        """Queue for every admin chat; False if it could be neither stored nor kept."""
        if not self.chats:
            return True  # nobody to tell (console mode): no write at all
        now = self.clock()
        try:
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
                        priority=priority,
                    )
        except sqlite3.OperationalError as exc:
            if not is_full(exc):
                raise
            return self._store_full(kind, payload, incident_id, notice)
        self._rang()
        if self._full and self.chats:
            self._full = False
            logger.warning("The store takes writes again; history is recorded again")
            self.notice(StoreFull(False, now))
        return True

    def _rang(self) -> None:
        if self.on_enqueue is not None and self.chats:
            self.store.after_commit(self.on_enqueue)

    def _store_full(
        self, kind: str, payload: Mapping[str, Any], incident_id: int | None, notice: Notice | None
    ) -> bool:
        """The store cannot grow: keep a notice in memory; an alert cannot be kept (it is
        rendered from its incident's row, which could not be written either)."""
        if not self.chats:
            return True
        if not self._full:
            self._full = True
            logger.error("The store cannot take writes (disk full): history is paused")
            self._remember(to_payload(StoreFull(True, self.clock())), None)
        if kind != MESSAGE:
            logger.warning("Store full: the %s for incident %s is not queued", kind, incident_id)
            return False
        kept = self._remember(payload, notice)
        if self.on_enqueue is not None:
            self.on_enqueue()
        return kept

    def _remember(self, payload: Mapping[str, Any], notice: Notice | None) -> bool:
        now = self.clock()
        with self._memory_lock:
            if isinstance(notice, LinesUnrecorded) and self._merge(notice):
                return True
            if len(self._memory) + len(self.chats) > self._memory_limit:
                logger.error("Store full and memory lane full: a notice is dropped: %s", payload)
                return False
            for chat in self.chats:
                item = OutboxItem(next(self._memory_ids), MESSAGE, chat, None, payload, 0, now)
                self._memory.append(item)
        return True

    def _merge(self, notice: LinesUnrecorded) -> bool:
        """Fold unrecorded lines into a waiting notice about the same file (one per storm)."""
        waiting = [
            i
            for i, item in enumerate(self._memory)
            if item.payload.get("kind") == notice.kind.value
            and item.payload.get("source") == notice.source
        ]
        if len(waiting) != len(self.chats):
            return False
        for index in waiting:
            old = self._memory[index]
            p = old.payload
            merged = LinesUnrecorded(
                notice.source,
                int(p["lines"]) + notice.lines,
                int(p["records"]) + notice.records,
                min(int(p["first_line"]), notice.first_line),
                max(int(p["last_line"]), notice.last_line),
                tuple(sorted({*p["rules"], *notice.rules})),
            )
            self._memory[index] = OutboxItem(
                old.id, MESSAGE, old.chat_id, None, to_payload(merged), 0, old.created_at
            )
        return True
