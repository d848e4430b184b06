"""The seed's verificación periódica: run the checks, act on state changes only.

A check whose failure is an incident the admin can fix (the local Bot API server or
its container down) raises that incident, so the alert carries the Restart button;
its recovery resolves the incident. Every other flip becomes a short notice, but an
outage that flaps (back within `flap_window` of its last recovery) is told by its one
alert, edited, not by a notice per recovery. An outage a maintenance window held is
raised again each round it is still down once no window covers it, which alerts it (a
held incident is told at its next match); one that ends while held ends without a word:
the window's summary has it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from adminbot.checks.base import Check, CheckResult, CheckState, CheckTracker, Flip, run_checks
from adminbot.incidents.events import Hold
from adminbot.incidents.intake import Intake
from adminbot.incidents.recurrence import recurrence
from adminbot.models import IncidentState, Origin, Severity
from adminbot.rules.fields import WHOLE_RULE

logger = logging.getLogger(__name__)

CHECK_SOURCE = "check:"
CHECK_ACTOR = "check"

FlipListener = Callable[[Flip], None]
RoundListener = Callable[[Sequence[CheckResult]], None]
"""Hears every round's results, changed or not (the disk-full forecast samples them)."""


def raised_rule(check: Check) -> str | None:
    """The rule whose incident a check's critical state is (its `raises`), or None for
    a check whose flips are only notices; the check itself declares it."""
    rule = getattr(check, "raises", None)
    return rule if isinstance(rule, str) else None


class Told(Protocol):
    """Where the watcher tells what it found (the outbox): it names what it needs, so the
    checks stage never imports the notify stage that tells the admin."""

    def incident_changed(self, incident_id: int, delay: timedelta | None = None) -> None: ...

    def check_flipped(self, result: CheckResult, old: CheckState | None) -> None: ...


class HealthWatcher:
    """Runs every check once per period and turns flips into incidents or notices."""

    def __init__(
        self,
        checks: Sequence[Check],
        tracker: CheckTracker,
        intake: Intake,
        outbox: Told | None,
        *,
        on_flip: Sequence[FlipListener] = (),
        on_round: Sequence[RoundListener] = (),
        flap_window: timedelta = timedelta(minutes=10),
    ) -> None:
        self.checks = list(checks)
        self.tracker = tracker
        self.intake = intake
        self.outbox = outbox
        self.rules = {check.name: rule for check in checks if (rule := raised_rule(check))}
        self.on_flip = tuple(on_flip)
        self.on_round = tuple(on_round)
        self.flap_window = flap_window
        self._down_since: dict[str, datetime] = {}
        self.rounds = 0

    def is_critical(self, name: str) -> bool:
        result = self.tracker.current().get(name)
        return result is not None and result.state is CheckState.CRITICAL

    def bot_api_down_since(self) -> datetime | None:
        """Since when the local Bot API server is known down (retries wait for it), or None."""
        down = [self._down_since[name] for name in self.rules if name in self._down_since]
        return min(down) if down else None

    async def tick(self) -> list[Flip]:
        """One round: run all checks concurrently, then handle each flip."""
        flips = []
        results = await run_checks(self.checks)
        for result in results:
            flip = self.tracker.observe(result)
            if flip is not None:
                flips.append(flip)
                self._handle(flip)
            elif result.state is CheckState.CRITICAL and result.name in self.rules:
                self._still_down(result)
        for listener in self.on_round:
            listener(results)
        self.rounds += 1
        return flips

    def _handle(self, flip: Flip) -> None:
        result = flip.result
        if flip.new is CheckState.CRITICAL:
            self._down_since.setdefault(flip.check, result.checked_at)
        else:
            self._down_since.pop(flip.check, None)
        if flip.old is None:
            logger.warning("Check %s: %s (%s)", flip.check, flip.new, result.summary)
        else:
            logger.warning(
                "Check %s: %s -> %s (%s)", flip.check, flip.old, flip.new, result.summary
            )
        for listener in self.on_flip:
            listener(flip)
        rule = self.rules.get(flip.check)
        if rule and flip.new is CheckState.CRITICAL:
            self._raise(rule, result)
            return
        if rule and flip.new is CheckState.OK and self._resolve(rule, flip.check, result.summary):
            return  # its alert, edited, says it is back, or it was never told
        self._notice(result, flip.old)

    def _raise(self, rule: str, result: CheckResult) -> None:
        self.intake.raise_incident(
            Origin.CHECK,
            rule,
            Severity.CRITICAL,
            f"{result.name}: {result.summary}",
            source=f"{CHECK_SOURCE}{result.name}",
            key=WHOLE_RULE,  # the same incident as the log lines about this outage
        )

    def _still_down(self, result: CheckResult) -> None:
        """A held outage that outlived its maintenance window: raised again, so it is
        alerted now (no log line may come to do it)."""
        rule, store = self.rules[result.name], self.intake.store
        book = self.intake.book
        held = [
            i
            for i in store.incidents(rule=rule, states=[IncidentState.OPEN])
            if i.key == WHOLE_RULE
            and i.host == store.host
            and book.held_for(i.id) is Hold.MAINTENANCE
        ]
        if held and not book.in_maintenance(rule, store.host):
            self._raise(rule, result)

    def _resolve(self, rule: str, check: str, summary: str) -> bool:
        """The server answers again: every open incident of its rule is over. True when
        the recovery needs no notice: this outage only continues one that ended a moment
        ago (it flaps), or every incident it ends was held back, never alerted."""
        flapping, told = False, 0
        resolved = self.intake.resolve_rule(rule, CHECK_ACTOR, summary)
        for incident in resolved:
            if self.intake.book.is_held(incident.id):
                continue  # no alert to edit
            told += 1
            if self.outbox is not None:
                self.outbox.incident_changed(incident.id)
            again = recurrence(self.intake.store, incident, self.flap_window)
            flapping = flapping or again is not None
        return flapping or (bool(resolved) and not told)

    def _notice(self, result: CheckResult, old: CheckState | None) -> None:
        if self.outbox is None:
            return
        self.outbox.check_flipped(result, old)
