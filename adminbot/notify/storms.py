"""Storm mode: telling a storm of new incidents from ordinary traffic, one rule at a time.

Telegram takes about one message a second per chat: a rule that opens more new
incidents in a minute than `[alerts] storm_threshold` gets one storm message instead
of one alert each, until it calms down to half the threshold. `StormWatch` counts the
new incidents per rule over a sliding window; `StormMessages` starts, refreshes and
ends each rule's storm message, queued in the outbox that builds it.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from adminbot.clock import Clock
from adminbot.models import Incident
from adminbot.notify.priority import Priority, alert_priority
from adminbot.store.api import StoreApi

logger = logging.getLogger(__name__)

STORM = "storm"


class StormWatch:
    """New incidents per rule over a sliding window."""

    def __init__(self, threshold: int, window: timedelta = timedelta(minutes=1)) -> None:
        self.threshold = threshold
        self.window = window
        self._opened: dict[str, deque[datetime]] = {}

    @property
    def enabled(self) -> bool:
        return self.threshold > 0

    def opened(self, rule: str, at: datetime) -> int:
        """Count one new incident of `rule`; returns how many the window now holds."""
        times = self._opened.setdefault(rule, deque())
        times.append(at)
        self._trim(times, at)
        return len(times)

    def storming(self, count: int) -> bool:
        """More new incidents in the window than Telegram should be asked to carry."""
        return self.enabled and count > self.threshold

    def first(self, rule: str, default: datetime) -> datetime:
        """When the oldest new incident still in the window was opened: the storm's start."""
        times = self._opened.get(rule)
        return times[0] if times else default

    def calm(self, rule: str, at: datetime) -> bool:
        """Down to half the threshold in the window: alerts may go one by one again."""
        times = self._opened.get(rule)
        if times is None:
            return True
        self._trim(times, at)
        return len(times) <= self.threshold // 2

    def forget(self, rule: str) -> None:
        self._opened.pop(rule, None)

    def _trim(self, times: deque[datetime], at: datetime) -> None:
        start = at - self.window
        while times and times[0] <= start:
            times.popleft()


class StormMessages:
    """One storm message per rule in a storm, for every admin chat of the outbox.

    Started when the rule's new incidents in the window pass the threshold (queued
    alerts of the rule are folded in), refreshed at most every `throttle`, ended when
    the rule calms down; other rules' alerts go on as before.
    """

    def __init__(
        self,
        store: StoreApi,
        chats: tuple[int, ...],
        storms: StormWatch,
        *,
        throttle: timedelta,
        clock: Clock,
        rang: Callable[[], None],
    ) -> None:
        self.store = store
        self.chats = chats
        self.storms = storms
        self.throttle = throttle
        self.clock = clock
        self._rang = rang
        self._storm_ids = store.open_storms() if self.chats else {}
        self._storm_priority: dict[str, Priority] = {}
        self._storm_due: dict[str, datetime] = {}
        self._storm_dirty: set[str] = set(self._storm_ids)

    @property
    def storming(self) -> tuple[str, ...]:
        """The rules told as a storm right now."""
        return tuple(self._storm_ids)

    def settle(self, now: datetime) -> None:
        """Refresh storm messages that are due and end the storms that calmed down."""
        for rule in list(self._storm_ids):
            if self.storms.calm(rule, now):
                self._end_storm(rule, now)
            elif rule in self._storm_dirty and now >= self._storm_due.get(rule, now):
                self._refresh_storm(rule, now)

    def in_storm(self, incident: Incident, *, opened: bool) -> bool:
        """Whether this incident is told by its rule's storm message (starting one if due)."""
        if not self.chats or not self.storms.enabled:
            return False
        rule, now = incident.rule, self.clock()
        count = self.storms.opened(rule, incident.first_seen) if opened else 0
        if rule not in self._storm_ids:
            if not self.storms.storming(count):
                return False
            self._start_storm(rule, alert_priority(incident.severity), now)
            return True
        if not opened and self.store.alert_messages(incident.id):
            return False  # alerted before the storm: its own message is edited as usual
        self._storm_dirty.add(rule)
        if now >= self._storm_due.get(rule, now):
            self._refresh_storm(rule, now)
        return True

    def _start_storm(self, rule: str, priority: Priority, now: datetime) -> None:
        with self.store.transaction():
            storm_id = self.store.open_storm(rule, self.storms.first(rule, now))
            absorbed = self.store.absorb_alerts(rule)
        logger.warning(
            "Storm of new %s incidents: one message for them (%s queued alerts folded in)",
            rule,
            absorbed,
        )
        self._storm_ids[rule] = storm_id
        self._storm_priority[rule] = priority
        self._refresh_storm(rule, now)

    def _refresh_storm(self, rule: str, now: datetime) -> None:
        storm_id = self._storm_ids[rule]
        self._storm_dirty.discard(rule)
        self._storm_due[rule] = now + self.throttle
        first = self._storm_priority.get(rule, Priority.NOTICE)
        with self.store.transaction():
            for chat in self.chats:
                sent = self.store.storm_message(storm_id, chat) is not None
                self.store.enqueue(
                    STORM,
                    {"storm": storm_id},
                    now,
                    chat_id=chat,
                    coalesce=True,
                    priority=Priority.EDIT if sent else first,
                    storm_id=storm_id,
                )
        self._rang()

    def _end_storm(self, rule: str, now: datetime) -> None:
        storm_id = self._storm_ids[rule]
        logger.warning("The storm of %s incidents calmed down; alerts go one by one again", rule)
        with self.store.transaction():
            self.store.end_storm(storm_id, now)
            self._refresh_storm(rule, now)
        del self._storm_ids[rule]
        self._storm_dirty.discard(rule)
        self._storm_due.pop(rule, None)
        self._storm_priority.pop(rule, None)
        self.storms.forget(rule)
