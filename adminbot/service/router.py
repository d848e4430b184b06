"""After the commit: hand each incident event to what follows from it, on the event loop.

The intake queues committed events from the tailer thread; the router drains them
here and calls every sink in order (policies and alerts, the console, metrics). A
sink that fails is logged and the others still run: one broken listener must not
stop the pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from adminbot.incidents.book import IncidentBook
from adminbot.incidents.events import EventKind, IncidentEvent
from adminbot.incidents.intake import EventQueue
from adminbot.models import IncidentState, Match, Record, frozen_map
from adminbot.store.api import StoreApi

logger = logging.getLogger(__name__)

Sink = Callable[[IncidentEvent], None]

IDLE_SECONDS = 0.5


class Router:
    """Drains the event queue into the sinks, oldest first; after each drain, `settle`
    lets sinks write what they gathered over the whole drain at once."""

    def __init__(
        self,
        queue: EventQueue,
        sinks: Sequence[Sink],
        counters: Sequence[Sink] = (),
        settle: Sequence[Callable[[], None]] = (),
    ) -> None:
        self.queue = queue
        self.sinks = tuple(sinks)
        self.counters = tuple(counters)
        self.settle = tuple(settle)
        self.routed = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="incident-router")

    async def stop(self) -> None:
        """Route what is left, then stop."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.route_pending()

    def route_pending(self) -> int:
        """Route every queued event now; returns how many.

        Counters hear every event; the sinks that act (alerts, fixes, the console) hear
        each new incident and only the latest repeat of an incident in one drain: a
        repeat carries the incident as it now stands, so the earlier ones add nothing
        but work, which in a storm is thousands of writes a second.
        """
        events = self.queue.drain()
        self.routed += len(events)  # a repeat collapsed into a later one is routed with it
        for event in events:
            for counter in self.counters:
                _call(counter, event)
        for event in collapse(events):
            self._route(event)
        if events:
            self._settle()
        return len(events)

    async def _run(self) -> None:
        while not self._stopping:
            if not self.route_pending():
                self._settle()  # when idle too: what a sink holds back must come out
            await self.queue.wait(IDLE_SECONDS)

    def _settle(self) -> None:
        for settle in self.settle:
            settle()

    def _route(self, event: IncidentEvent) -> None:
        for sink in self.sinks:
            _call(sink, event)


def _call(sink: Sink, event: IncidentEvent) -> None:
    try:
        sink(event)
    except Exception:  # a broken sink must not stop the others
        logger.exception("Incident sink %r failed on #%s", sink, event.incident.id)


def collapse(events: Sequence[IncidentEvent]) -> list[IncidentEvent]:
    """Every OPENED event, and of the REPEATED ones only each incident's last, in order."""
    last = {e.incident.id: i for i, e in enumerate(events) if e.kind is EventKind.REPEATED}
    return [
        event
        for index, event in enumerate(events)
        if event.kind is not EventKind.REPEATED or last[event.incident.id] == index
    ]


def unrouted(store: StoreApi, book: IncidentBook, limit: int = 1000) -> list[IncidentEvent]:
    """Open incidents that nothing followed up: adminbot stopped between recording
    them and routing them. Routing them again at start-up alerts or fixes them once."""
    events = []
    for incident in store.incidents(states=[IncidentState.OPEN], limit=limit, host=store.host):
        followed = (
            store.alert_messages(incident.id)
            or store.has_pending(incident.id)
            or store.has_pending(incident.id, "update")
            or store.audit(incident_id=incident.id)
            or len(store.transitions(incident.id)) > 1
            or book.is_held(incident.id)
        )
        if followed:
            continue
        record = Record(source=incident.source, line_no=0, text=incident.sample)
        match = Match(
            incident.rule, incident.severity, record, frozen_map(incident.fields), incident.key
        )
        muted = book.is_muted(incident.rule, key=incident.key)
        events.append(IncidentEvent(EventKind.OPENED, incident, match, muted=muted))
    return sorted(events, key=lambda event: event.incident.id)
