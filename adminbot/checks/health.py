"""The seed's verificación periódica: run the checks, act on state changes only.

A check whose failure is an incident the admin can fix (the local Bot API server or
its container down) raises that incident, so the alert carries the Restart button;
its recovery resolves the incident. Every other flip becomes a short notice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from adminbot.checks.base import Check, CheckResult, CheckState, CheckTracker, Flip, run_checks
from adminbot.incidents.intake import Intake
from adminbot.models import Origin, Severity
from adminbot.notify.notices import CheckFlip
from adminbot.notify.outbox import Outbox
from adminbot.rules.fields import WHOLE_RULE

logger = logging.getLogger(__name__)

CHECK_RULES: Mapping[str, str] = {"bot api": "servidor_caido", "container": "servidor_caido"}
"""Checks whose critical state is an incident of this rule rather than a notice."""

CHECK_SOURCE = "check:"
CHECK_ACTOR = "check"

FlipListener = Callable[[Flip], None]


class HealthWatcher:
    """Runs every check once per period and turns flips into incidents or notices."""

    def __init__(
        self,
        checks: Sequence[Check],
        tracker: CheckTracker,
        intake: Intake,
        outbox: Outbox | None,
        *,
        rules: Mapping[str, str] = CHECK_RULES,
        on_flip: Sequence[FlipListener] = (),
    ) -> None:
        self.checks = list(checks)
        self.tracker = tracker
        self.intake = intake
        self.outbox = outbox
        self.rules = dict(rules)
        self.on_flip = tuple(on_flip)
        self.rounds = 0

    def is_critical(self, name: str) -> bool:
        result = self.tracker.current().get(name)
        return result is not None and result.state is CheckState.CRITICAL

    def bot_api_down(self) -> bool:
        """True while the local Bot API server is known down (retries wait for it)."""
        return any(self.is_critical(name) for name, rule in self.rules.items() if rule)

    async def tick(self) -> list[Flip]:
        """One round: run all checks concurrently, then handle each flip."""
        flips = []
        for result in await run_checks(self.checks):
            flip = self.tracker.observe(result)
            if flip is not None:
                flips.append(flip)
                self._handle(flip)
        self.rounds += 1
        return flips

    def _handle(self, flip: Flip) -> None:
        result = flip.result
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
            self.intake.raise_incident(
                Origin.CHECK,
                rule,
                Severity.CRITICAL,
                f"{flip.check}: {result.summary}",
                source=f"{CHECK_SOURCE}{flip.check}",
                key=WHOLE_RULE,  # the same incident as the log lines about this outage
            )
            return
        if rule and flip.new is CheckState.OK:
            self._resolve(rule, flip.check, result.summary)
        self._notice(result, flip.old)

    def _resolve(self, rule: str, check: str, summary: str) -> None:
        """The server answers again: every open incident of its rule is over."""
        for incident in self.intake.resolve_rule(rule, CHECK_ACTOR, summary):
            if self.outbox is not None:
                self.outbox.incident_changed(incident.id)

    def _notice(self, result: CheckResult, old: CheckState | None) -> None:
        if self.outbox is None:
            return
        self.outbox.notice(CheckFlip.of(result, old))
