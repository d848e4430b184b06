"""Reminders: a critical incident nobody has taken is announced again, as a reply.

After `after` seconds from its alert, then every `every` seconds, until it is
acknowledged, resolved, ignored or its rule muted. The first is counted from the alert's
delivery, not from the first sighting: an incident a maintenance window or a threshold
held is alerted later, and its reminder follows that. A reminder rings even in quiet
hours, as critical alerts do. Which incidents were reminded when is kept in memory:
after a restart an old one is reminded once at the next round.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from adminbot.clock import Clock, utcnow
from adminbot.incidents.book import IncidentBook
from adminbot.models import IncidentState, Severity
from adminbot.notify.notices import Reminder
from adminbot.notify.outbox import Outbox
from adminbot.store.api import StoreApi

SCAN_LIMIT = 200


class Reminders:
    """Finds the critical incidents due a reminder and queues one for each."""

    def __init__(
        self,
        store: StoreApi,
        book: IncidentBook,
        outbox: Outbox,
        *,
        after: float,
        every: float,
        clock: Clock = utcnow,
    ) -> None:
        self.store = store
        self.book = book
        self.outbox = outbox
        self.after = timedelta(seconds=after)
        self.every = timedelta(seconds=every)
        self.clock = clock
        self._last: dict[int, datetime] = {}

    def remind(self) -> list[int]:
        """Queue the reminders due now; returns the incidents reminded."""
        now = self.clock()
        still_open: set[int] = set()
        reminded = []
        for incident in self.store.incidents(states=[IncidentState.OPEN], limit=SCAN_LIMIT):
            if incident.severity is not Severity.CRITICAL:
                continue
            still_open.add(incident.id)
            last = self._last.get(incident.id)
            due = incident.first_seen + self.after if last is None else last + self.every
            if now < due or self.book.is_muted(incident.rule, now, incident.key):
                continue
            if self.book.is_held(incident.id):  # never told: nothing to remind of
                continue
            if last is None and not self._first_due(incident.id, now):
                continue
            self._last[incident.id] = now
            count = incident.count
            reminder = Reminder(incident.id, incident.rule, incident.first_seen, count)
            self.outbox.notice(reminder, urgent=True)  # critical: rings in quiet hours too
            reminded.append(incident.id)
        for gone in set(self._last) - still_open:
            del self._last[gone]  # acknowledged, closed: a later reopening starts afresh
        return reminded

    def _first_due(self, incident_id: int, now: datetime) -> bool:
        """Whether `after` has passed since the admin got the alert; an alert still queued
        was not got yet. Without an alert message (a storm told it, nobody to tell) the
        first sighting counts, as it did."""
        if self.store.has_pending(incident_id):
            return False
        alerted = self.store.alerted_at(incident_id)
        return alerted is None or now >= alerted + self.after
