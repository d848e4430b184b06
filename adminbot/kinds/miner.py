"""The kinds stage: errors no rule matched in, "new kind of error" matches out.

Every ERROR/CRITICAL record the classifier could not name
(`Classified.unmatched_errors`) is masked and placed in a Drain tree; its templates
are the kinds, kept in the store, and the tree is rebuilt from them at start. A kind
alerts unless it was learnt quietly (first seen during the warm-up, or recorded by
`adminbot learn`) or the admin has decided about it. Each record of an alerting kind
becomes a match of the `nuevo_tipo` rule keyed by the kind's id, so the intake
groups a burst into one incident whose count grows; the record stays the real line.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adminbot.clock import Clock, utcnow
from adminbot.kinds.drain import Drain, Placed
from adminbot.kinds.mask import record_tokens
from adminbot.kinds.redact import sample_of
from adminbot.models import Match, Origin, Record, Severity, frozen_map
from adminbot.redaction import Redactor
from adminbot.rules.spec import RuleSpec
from adminbot.store.kinds import KindState, KindStore, Sighting

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Burst:
    """A kind seen `count` times within `window` is more than a curiosity."""

    count: int = 20
    window: timedelta = timedelta(minutes=10)
    severity: Severity = Severity.ERROR


@dataclass(slots=True)
class _Known:
    """What the miner keeps in memory of one stored kind."""

    id: int
    alerts: bool
    recent: deque[datetime] = field(default_factory=deque)


@dataclass(slots=True)
class _Batch:
    """One kind's records in the batch being mined."""

    placed: Placed
    records: list[Record] = field(default_factory=list)


class KindMiner:
    """Mines unmatched errors into stored kinds and says which records raise an incident."""

    def __init__(
        self,
        kinds: KindStore,
        rule: RuleSpec,
        *,
        warmup: timedelta,
        clock: Clock = utcnow,
        burst: Burst = Burst(),
        new_drain: Callable[[], Drain] = Drain,
        redactor: Redactor | None = None,
    ) -> None:
        self._kinds = kinds
        self._redactor = redactor
        self._rule = rule
        self._clock = clock
        self._burst = burst
        self._new_drain = new_drain
        self._drain = new_drain()
        self._known: list[_Known] = []  # by the tree's template number
        self._stale = False
        self._load()
        self.quiet_until = kinds.since(clock()) + warmup
        self._warned_full = False

    def forget(self) -> None:
        """What was mined since the store last committed is not kept there: the tree is
        rebuilt from the store before the next batch (not now: the store may be gone)."""
        self._stale = True

    def _load(self) -> None:
        """Rebuild the tree from the stored kinds, in the order they were found."""
        self._stale = False
        self._drain = self._new_drain()
        self._known = []
        for kind in self._kinds.all():
            self._drain.restore(kind.template.split(" "))
            self._known.append(_Known(kind.id, kind.alerts, deque(maxlen=self._burst.count)))

    def decide(self, kind_id: int, state: KindState) -> bool:
        """The admin decided about a kind (a rule, "ignore it"): its lines alert no more."""
        if not self._kinds.decide(kind_id, state):
            return False
        for known in self._known:
            if known.id == kind_id:
                known.alerts = False
        return True

    def __len__(self) -> int:
        return len(self._known)

    def mine(self, records: Sequence[Record], *, learn: bool = False) -> list[Match]:
        """Record the kinds of `records`; the matches of those that alert.

        With `learn` (or during the warm-up) new kinds are recorded as known and
        raise nothing, now or later.
        """
        if not records:
            return []
        if self._stale:
            self._load()
        now = self._clock()
        quiet = learn or now < self.quiet_until
        batches = self._place(records)
        if not batches:
            return []
        sightings = [self._sighting(batch, quiet) for batch in batches]
        try:
            ids = self._kinds.record(sightings, now)
        except Exception:
            self.forget()
            raise
        for batch, kind_id in zip(batches, ids, strict=True):
            if batch.placed.created:
                self._known.append(_Known(kind_id, not quiet, deque(maxlen=self._burst.count)))
        matches: list[Match] = []
        for batch in batches:
            known = self._known[batch.placed.index]
            if known.alerts and self._rule.enabled:
                matches += self._matches(batch, known, now)
        return matches

    def _place(self, records: Sequence[Record]) -> list[_Batch]:
        """Each record in its template, grouped by template in order of first appearance."""
        batches: dict[int, _Batch] = {}
        for record in records:
            placed = self._drain.add(record_tokens(record))
            if placed is None:
                self._warn_full()
                continue
            batch = batches.get(placed.index)
            if batch is None:
                batch = batches[placed.index] = _Batch(placed)
            else:
                batch.placed = Placed(placed.index, placed.template, batch.placed.created, False)
            batch.records.append(record)
        return list(batches.values())

    def _sighting(self, batch: _Batch, quiet: bool) -> Sighting:
        placed, records = batch.placed, batch.records
        samples = tuple(
            dict.fromkeys(
                sample_of(r.text, redactor=self._redactor) for r in (records[0], records[-1])
            )
        )
        return Sighting(
            id=None if placed.created else self._known[placed.index].id,
            template=" ".join(placed.template),
            count=len(records),
            samples=samples,
            file=records[-1].source,
            learned=quiet,
        )

    def _matches(self, batch: _Batch, known: _Known, now: datetime) -> list[Match]:
        """One match per record; all at the severity the kind has reached by the batch's end."""
        recent = known.recent
        for record in batch.records:
            recent.append(record.logged_at or now)
        burst = self._burst
        bursting = len(recent) >= burst.count and max(recent) - min(recent) <= burst.window
        severity = burst.severity if bursting else self._rule.severity
        key = str(known.id)
        if bursting and not batch.placed.created:
            self._kinds.escalate(self._rule.name, key, severity)
        fields = frozen_map({"kind": f"#{known.id}", "template": " ".join(batch.placed.template)})
        return [
            Match(self._rule.name, severity, record, fields, key, Origin.LOG)
            for record in batch.records
        ]

    def _warn_full(self) -> None:
        if not self._warned_full:
            self._warned_full = True
            logger.warning(
                "%d kinds of error are known; new ones are no longer recorded", len(self._known)
            )
