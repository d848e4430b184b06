"""The daily digest at work: queued at its time, once, and never lost to a restart.

The service's job loop calls `DailyDigests.run` often (every tick). When the latest
run time has passed and was not served yet, the digest's facts and a chart notice are
queued in the outbox together with the run time served, in one transaction: a
restart or Telegram being down delays the digest, never loses or repeats it. After
days down, only the latest missed run is served, once, at start. The very first run
on a store only remembers the run time: a fresh install does not send at once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from adminbot.clock import Clock, utcnow
from adminbot.digest.facts import WINDOW, ChartData, DigestFacts, build_digest, chart_data
from adminbot.digest.schedule import DailyAt
from adminbot.notify.notices import DailyDigest, DigestChart
from adminbot.notify.outbox import Outbox
from adminbot.store.api import StoreApi
from adminbot.store.history import HistoryStore

logger = logging.getLogger(__name__)

SERVED_META = "digest_served"
"""Store meta key (per host): the last run time whose digest was queued."""


class DailyDigests:
    """Queues the daily digest when due; gathers digest facts and chart series on demand."""

    def __init__(
        self,
        store: StoreApi,
        history: HistoryStore,
        outbox: Outbox,
        *,
        schedule: DailyAt | None,
        chart: bool = True,
        clock: Clock = utcnow,
    ) -> None:
        self.store = store
        self.history = history
        self.outbox = outbox
        self.schedule = schedule
        self.chart = chart
        self.clock = clock
        self._key = f"{SERVED_META}:{history.host}"

    @property
    def enabled(self) -> bool:
        """A time is configured and someone is there to be told."""
        return self.schedule is not None and bool(self.outbox.chats)

    def run(self) -> bool:
        """Queue the digest if a run time has passed unserved; True if it was queued."""
        if self.schedule is None or not self.outbox.chats:
            return False
        now = self.clock()
        due = self.schedule.last_at_or_before(now)
        served = self.served()
        if served is not None and due <= served:
            return False
        with self.store.transaction():
            if served is not None:
                self._queue(now)
            self.store.set_meta(self._key, due.isoformat())
        if served is not None:
            logger.info("Daily digest for %s queued", due.isoformat(timespec="minutes"))
        return served is not None

    def served(self) -> datetime | None:
        """The last run time whose digest was queued (None before the first run)."""
        found = self.store.get_meta(self._key)
        return None if not found else datetime.fromisoformat(found)

    def facts(self, since: datetime, until: datetime) -> DigestFacts:
        return build_digest(self.store, self.history, since, until)

    def chart_data(self, since: datetime, until: datetime) -> ChartData:
        return chart_data(self.history, since, until)

    def _queue(self, now: datetime) -> None:
        since = now - WINDOW
        self.outbox.notice(DailyDigest(self.facts(since, now)))
        if self.chart:
            self.outbox.notice(DigestChart(since, now))
