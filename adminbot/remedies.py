"""Policies and the running of fixes: who may run what, once, and what gets audited.

The Telegram layer calls `Remedies.run` when a button is tapped; the monitor routes
each new incident through `Remedies.route`, which runs automatic fixes by policy.
Every run is audited and ends by queueing an edit of the incident's alert.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from adminbot.actions import ActionBudget, ActionKind, ActionOutcome
from adminbot.clock import Clock, utcnow
from adminbot.eventlog import EventLog
from adminbot.incidents import EventKind, IncidentBook, IncidentEvent
from adminbot.models import Incident, IncidentState, Policy
from adminbot.notify import Outbox
from adminbot.store import Store

logger = logging.getLogger(__name__)

POLICY_ACTOR = "policy"

RULE_ACTIONS: Mapping[str, tuple[ActionKind, ...]] = {
    "timeout": (ActionKind.RETRY,),
    "corrupto": (ActionKind.CLEAN_RETRY, ActionKind.RETRY),
    "permisos": (ActionKind.CHOWN,),
    "ruta_inexistente": (ActionKind.MKDIR,),
    "servidor_caido": (ActionKind.RESTART_CONTAINER,),
}
"""The fixes offered per built-in type, first one is what an `auto` policy runs."""

DEFAULT_POLICIES: Mapping[str, Policy] = {
    "timeout": Policy.AUTO,
    "ruta_inexistente": Policy.AUTO,
    "permisos": Policy.ASK,
    "corrupto": Policy.ASK,
    "disco_lleno": Policy.ALERT,
    "servidor_caido": Policy.ASK,
}


class ActionsLike(Protocol):
    def available(self, kind: ActionKind, fields: Mapping[str, str]) -> bool: ...

    async def run(self, kind: ActionKind, fields: Mapping[str, str]) -> ActionOutcome: ...


class RunStatus(StrEnum):
    DONE = "done"
    BUSY = "busy"
    CLOSED = "closed"
    UNAVAILABLE = "unavailable"
    OVER_BUDGET = "over_budget"


@dataclass(frozen=True)
class RunResult:
    status: RunStatus
    outcome: ActionOutcome | None = None


class Remedies:
    """Runs fixes for incidents under the configured policies, once at a time each."""

    def __init__(
        self,
        store: Store,
        book: IncidentBook,
        outbox: Outbox | None,
        actions: ActionsLike | None,
        *,
        policies: Mapping[str, Policy] | None = None,
        budgets: Mapping[ActionKind, ActionBudget] | None = None,
        quiet_success: Collection[str] = ("ruta_inexistente",),
        events: EventLog | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.store = store
        self.book = book
        self.outbox = outbox
        self.actions = actions
        self.policies = {**DEFAULT_POLICIES, **(policies or {})}
        self.budgets = dict(budgets or {})
        self.quiet_success = frozenset(quiet_success)
        self.events = events
        self.clock = clock
        self.loop: asyncio.AbstractEventLoop | None = None
        self.listeners: list[Callable[[Incident, ActionOutcome, str], None]] = []
        self._tasks: set[asyncio.Task[RunResult]] = set()

    def policy(self, rule: str) -> Policy:
        return self.policies.get(rule, Policy.ASK)

    def offered(self, incident: Incident) -> list[ActionKind]:
        """The fixes whose buttons make sense for this incident with this configuration."""
        if self.actions is None or self.policy(incident.rule) is Policy.ALERT:
            return []
        kinds = RULE_ACTIONS.get(incident.rule, ())
        return [kind for kind in kinds if self.actions.available(kind, incident.fields)]

    def route(self, event: IncidentEvent) -> None:
        """Called for every match inside the monitor's transaction.

        A new incident under an `auto` policy gets its fix scheduled and no alert yet
        (the outcome is reported instead); everything else goes to the outbox.
        """
        incident = event.incident
        auto = (
            event.kind is EventKind.OPENED
            and not event.muted
            and self.policy(incident.rule) is Policy.AUTO
            and self.loop is not None
        )
        kinds = self.offered(incident) if auto else []
        if kinds and self.loop is not None:
            self.loop.call_soon_threadsafe(self._spawn, incident.id, kinds[0])
            return
        if self.outbox is not None:
            self.outbox.incident_event(event)

    def _spawn(self, incident_id: int, kind: ActionKind) -> None:
        task = asyncio.ensure_future(self.run(incident_id, kind, POLICY_ACTOR))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_idle(self) -> None:
        """Let running fixes finish (used at shutdown and by tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def run(self, incident_id: int, kind: ActionKind, actor: str) -> RunResult:
        """Run one fix for one incident: claim, execute, audit, settle the state, report.

        1. Move the incident to `fixing` with compare-and-set: a second tap (or an
           automatic run racing a tap) finds it already fixing and does nothing.
        2. Run the action (it validates its own parameters and never raises for
           expected failures).
        3. Record the audit row and the JSON event.
        4. Resolve on success, reopen on failure, and queue the alert edit.
        """
        incident = self.book.get(incident_id)
        if incident is None or incident.state.is_closed:
            return RunResult(RunStatus.CLOSED)
        if self.actions is None or kind not in self.offered(incident):
            return RunResult(RunStatus.UNAVAILABLE)
        budget = self.budgets.get(kind)
        if actor == POLICY_ACTOR and budget is not None and not budget.allow():
            self._report(incident_id, notify=True)
            return RunResult(RunStatus.OVER_BUDGET)
        if self.book.move(incident_id, IncidentState.FIXING, actor, kind.value) is None:
            return RunResult(RunStatus.BUSY)
        self._report(incident_id, notify=actor != POLICY_ACTOR)
        try:
            outcome = await self.actions.run(kind, incident.fields)
        except Exception as exc:  # an action bug must not leave the incident stuck in fixing
            logger.exception("Action %s for incident %s crashed", kind, incident_id)
            outcome = ActionOutcome(
                kind=kind,
                ok=False,
                summary=f"{kind.value} crashed: {type(exc).__name__}",
                operation=kind.value,
                exit_code=None,
                output_tail="",
                duration=0.0,
                attempts=0,
                refused=False,
            )
        self._audit(incident, outcome, actor)
        new_state = IncidentState.RESOLVED if outcome.ok else IncidentState.OPEN
        self.book.move(incident_id, new_state, actor, outcome.summary)
        quiet = outcome.ok and actor == POLICY_ACTOR and incident.rule in self.quiet_success
        self._report(incident_id, notify=not quiet)
        for listener in self.listeners:
            listener(incident, outcome, actor)
        return RunResult(RunStatus.DONE, outcome)

    def _audit(self, incident: Incident, outcome: ActionOutcome, actor: str) -> None:
        now = self.clock()
        self.store.add_audit(
            incident_id=incident.id,
            actor=actor,
            kind=outcome.kind.value,
            operation=outcome.operation,
            ok=outcome.ok,
            summary=outcome.summary,
            now=now,
            exit_code=outcome.exit_code,
            output_tail=outcome.output_tail,
            duration=outcome.duration,
        )
        if self.events is not None:
            self.events.action(
                at=now,
                incident_id=incident.id,
                rule=incident.rule,
                action=outcome.operation,
                result="ok" if outcome.ok else ("refused" if outcome.refused else "failed"),
                actor=actor,
            )

    def _report(self, incident_id: int, *, notify: bool) -> None:
        """Refresh the alert; an incident never alerted yet (auto policy) gets one now."""
        if self.outbox is None or not notify:
            return
        if self.store.alert_messages(incident_id) or self._alert_queued(incident_id):
            self.outbox.incident_changed(incident_id)
        else:
            self.outbox.alert(incident_id)

    def _alert_queued(self, incident_id: int) -> bool:
        return self.store.has_pending(incident_id)

    def ignore(self, incident_id: int, actor: str) -> Incident | None:
        return self._settle(incident_id, IncidentState.IGNORED, actor)

    def resolve(self, incident_id: int, actor: str) -> Incident | None:
        return self._settle(incident_id, IncidentState.RESOLVED, actor)

    def _settle(self, incident_id: int, state: IncidentState, actor: str) -> Incident | None:
        incident = self.book.move(incident_id, state, actor)
        if incident is not None:
            self._report(incident_id, notify=True)
        return incident


AsyncProbe = Callable[[], Awaitable[bool]]


def offered_names(remedies: Remedies, incident: Incident) -> Sequence[str]:
    return [kind.value for kind in remedies.offered(incident)]
