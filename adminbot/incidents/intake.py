"""The one entry point for incidents, whatever announced them: a log line, a check, the child.

A batch's incidents, the tailer's checkpoint and the hourly line count commit in one
transaction, so a restart neither loses nor repeats a line. What follows from an
incident (a fix, an alert, a console line, a metric) happens after the commit, on the
event loop: the events are handed to an `EventQueue` that the router drains. A slow
or failing step can then never hold the tailer, nor see uncommitted state.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Mapping, Sequence

from adminbot.clock import Clock, utcnow
from adminbot.incidents.book import IncidentBook, IncidentEvent
from adminbot.models import (
    Checkpoint,
    Incident,
    IncidentState,
    Match,
    Origin,
    Record,
    Severity,
    frozen_map,
)
from adminbot.notify.eventlog import EventLog
from adminbot.notify.redact import Redactor
from adminbot.store.sqlite import Store

logger = logging.getLogger(__name__)

OPEN_STATES = tuple(state for state in IncidentState if not state.is_closed)


class EventQueue:
    """Committed incident events, from any thread to the event loop, in commit order."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._items: queue.SimpleQueue[list[IncidentEvent]] = queue.SimpleQueue()
        self._loop = loop
        self._ready = asyncio.Event() if loop is not None else None

    def put(self, events: list[IncidentEvent]) -> None:
        if not events:
            return
        self._items.put(events)
        if self._loop is not None and self._ready is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._ready.set)

    def drain(self) -> list[IncidentEvent]:
        """Everything queued so far, oldest first, without waiting."""
        drained: list[IncidentEvent] = []
        while True:
            try:
                drained.extend(self._items.get_nowait())
            except queue.Empty:
                return drained

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109 - a wake-up with a bound
        """Until something is queued or `timeout` passes (on the loop given at build)."""
        if self._ready is None:
            await asyncio.sleep(timeout)
            return
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return
        self._ready.clear()


class Intake:
    """Records matches as incidents and publishes what they did, after the commit."""

    def __init__(
        self,
        store: Store,
        book: IncidentBook,
        events: EventLog,
        queue: EventQueue,
        *,
        clock: Clock = utcnow,
        redactor: Redactor | None = None,
    ) -> None:
        self.store = store
        self.book = book
        self.events = events
        self.queue = queue
        self.clock = clock
        self.redactor = redactor or Redactor()
        self._lock = threading.Lock()

    def submit(
        self, matches: Sequence[Match], checkpoint: Checkpoint | None = None, lines: int = 0
    ) -> list[IncidentEvent]:
        """Record `matches` (and where the tailer stands) in one transaction.

        Secrets are hidden first, so the store, the event log and alerts never hold them.
        """
        matches = [self.redactor.match(match) for match in matches]
        now = self.clock()
        with self._lock:
            with self.store.transaction():
                recorded = self.book.record_batch(matches)
                if checkpoint is not None:
                    self.store.save_checkpoint(checkpoint, now)
                self.store.count_lines(now, lines)
            for event in recorded:
                self.events.match(event.match, event.incident.id, now)
            self.queue.put(recorded)
        return recorded

    def raise_incident(
        self,
        origin: Origin,
        rule: str,
        severity: Severity,
        text: str,
        *,
        source: str,
        key: str,
        fields: Mapping[str, str] | None = None,
    ) -> IncidentEvent:
        """An incident that no log line announced: a failed check, a dead child."""
        record = Record(source=source, line_no=0, text=text, level=severity.value.upper())
        match = Match(rule, severity, record, frozen_map(fields), key, origin)
        return self.submit([match])[0]

    def resolve_rule(self, rule: str, actor: str, note: str) -> list[Incident]:
        """Every open incident of `rule` is over (the server it is about answers again)."""
        resolved = []
        for incident in self.store.incidents(rule=rule, states=list(OPEN_STATES)):
            moved = self.book.move(incident.id, IncidentState.RESOLVED, actor, note)
            if moved is not None:
                resolved.append(moved)
        return resolved
