"""The noise gate: what the incident book records but nobody is told, or not even recorded.

Three settings meet here, inside the batch's transaction so what they count commits
with the incidents:

1. `[[ignore]]`: matched log lines it names are dropped and counted per rule.
2. Maintenance windows: an incident a window covers is recorded and tallied for the
   window's summary; its alert and its automatic fix are held.
3. Thresholds: an incident of a rule with `threshold = "5/10m"` is held until this
   host saw the rule match that often within the window.

A held incident is remembered (`held_incidents`). Its next match that nothing holds
any more is turned into an OPENED event, so the alert and the policy's fix happen
then, once (compare-and-set on the row).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from adminbot.incidents.events import EventKind, Hold, IncidentEvent
from adminbot.incidents.maintenance import Maintenance
from adminbot.models import Match, Origin
from adminbot.rules.ignore import IgnoreList
from adminbot.rules.spec import RuleSpec
from adminbot.rules.threshold import Threshold
from adminbot.store.api import StoreApi
from adminbot.store.noise import Ignored, NoiseStore


def thresholds_of(specs: Sequence[RuleSpec]) -> dict[str, Threshold]:
    """The rules whose first match does not alert by itself."""
    return {
        spec.name: spec.threshold
        for spec in specs
        if spec.threshold is not None and not spec.threshold.alerts_at_once
    }


class NoiseGate:
    """Drops ignored matches and holds back what maintenance or a threshold keeps quiet."""

    def __init__(
        self,
        store: NoiseStore,
        incidents: StoreApi,
        maintenance: Maintenance,
        *,
        thresholds: Mapping[str, Threshold] | None = None,
        ignore: IgnoreList | None = None,
    ) -> None:
        self.store = store
        self.incidents = incidents
        self.maintenance = maintenance
        self.thresholds = dict(thresholds or {})
        self.ignore = ignore

    def admit(self, matches: Sequence[Match], now: datetime) -> list[Match]:
        """The matches to record; log lines `[[ignore]]` names are counted instead."""
        if not self.ignore or not matches:
            return list(matches)
        logged = [m for m in matches if m.origin is Origin.LOG]
        _, dropped = self.ignore.split(logged)
        if not dropped:
            return list(matches)
        self.store.count_ignored(Counter(m.rule for m in dropped), now)
        gone = {id(m) for m in dropped}
        return [m for m in matches if id(m) not in gone]

    def judge(self, events: Sequence[IncidentEvent], now: datetime) -> list[IncidentEvent]:
        """Each event with why it is held, if it is; a held incident now free is OPENED."""
        below = self._below_threshold(events, now)
        windows = self.maintenance.active(now)
        held = self.store.held_among(sorted({e.incident.id for e in events}))
        if not windows and not below and not held:
            return list(events)  # nothing holds and nothing was held: a storm's usual batch
        tally: Counter[tuple[int, str, str, bool]] = Counter()
        judged = []
        for index, event in enumerate(events):
            incident = event.incident
            covering = [w for w in windows if w.scope.covers(incident.rule, incident.host)]
            opened = 1 if event.kind is EventKind.OPENED else 0
            for window in covering:
                tally[(window.id, incident.rule, incident.key, bool(opened))] += 1
            reason = Hold.MAINTENANCE if covering else Hold.THRESHOLD if index in below else None
            if reason is not None and (opened or incident.id in held):
                if opened:
                    self.store.hold(incident.id, reason.value, now)
                    held.add(incident.id)
                judged.append(replace(event, held=reason))
            elif incident.id in held:
                held.discard(incident.id)
                judged.append(self._released(event))
            else:
                judged.append(event)
        self._tally(tally)
        return judged

    def _tally(self, tally: Counter[tuple[int, str, str, bool]]) -> None:
        """What the batch did under each window, one write per window, rule and key."""
        sums: dict[tuple[int, str, str], list[int]] = {}
        for (window_id, rule, key, opened), hits in tally.items():
            total = sums.setdefault((window_id, rule, key), [0, 0])
            total[0] += hits if opened else 0
            total[1] += hits
        for (window_id, rule, key), (new, hits) in sums.items():
            self.store.add_hits(window_id, rule, key, new, hits)

    def _released(self, event: IncidentEvent) -> IncidentEvent:
        """Nothing holds the incident any more: told as new, unless a human already acted."""
        incident_id = event.incident.id
        if not self.store.release(incident_id):
            return event
        if self.incidents.alert_messages(incident_id) or self.incidents.has_pending(incident_id):
            return event
        return replace(event, kind=EventKind.OPENED)

    def _below_threshold(self, events: Sequence[IncidentEvent], now: datetime) -> set[int]:
        """The indexes of events whose rule has not yet matched its threshold's count.

        Counted per rule on this host, match by match: the batch's matches follow those
        already stored within the window."""
        per_rule: dict[str, list[int]] = {}
        for index, event in enumerate(events):
            if event.match.rule in self.thresholds:
                per_rule.setdefault(event.match.rule, []).append(index)
        below: set[int] = set()
        for rule, indexes in per_rule.items():
            threshold = self.thresholds[rule]
            since = now - threshold.window
            before = self.store.threshold_count(rule, since)
            self.store.add_threshold_hits(rule, now, len(indexes), since)
            below.update(i for n, i in enumerate(indexes, start=1) if before + n < threshold.count)
        return below

    def is_held(self, incident_id: int) -> bool:
        return bool(self.store.held_among([incident_id]))

    def held_for(self, incident_id: int) -> Hold | None:
        reason = self.store.hold_reason(incident_id)
        return None if reason is None else Hold(reason)

    def in_maintenance(self, rule: str, host: str, now: datetime) -> bool:
        return bool(self.maintenance.covering(rule, host, now))

    def prune(self, before: datetime) -> int:
        """Summed-up windows and holds older than the store keeps anything."""
        return self.store.prune(before)

    def ignored(self) -> Ignored:
        """How many matched lines `[[ignore]]` dropped, per rule."""
        return self.store.ignored()
