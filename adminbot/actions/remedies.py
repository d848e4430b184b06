"""Policies and the running of fixes: who may run what, once, and what gets audited.

The Telegram layer calls `Remedies.run` when a button is tapped; the router hands
each committed incident event to `Remedies.route`, which runs automatic fixes by policy.
Every run is audited and ends by queueing an edit of the incident's alert.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Protocol

from adminbot.actions.diskreport import DiskReport
from adminbot.actions.executor import ActionBudget, ActionKind, ActionOutcome
from adminbot.actions.outcome import ActionReason, note
from adminbot.actions.runs import (
    REFUSED_KIND,
    REPORT_KIND,
    SKIPPED_KIND,
    RunResult,
    RunStatus,
    audit_unrun,
)
from adminbot.actions.telling import ActionLog, Teller
from adminbot.clock import Clock, utcnow
from adminbot.incidents.book import IncidentBook
from adminbot.incidents.events import EventKind, IncidentEvent
from adminbot.models import Incident, IncidentState, Origin, Policy
from adminbot.rules.loader import build_rulebook
from adminbot.rules.spec import RuleSpec
from adminbot.store.api import StoreApi

logger = logging.getLogger(__name__)

POLICY_ACTOR = "policy"
WAITS_FOR_SERVER = frozenset({ActionKind.RETRY, ActionKind.CLEAN_RETRY})
"""Downloads go through the local Bot API server: retrying while it is down only fails."""

SERVER_POLL_SECONDS = 5.0

AsyncProbe = Callable[[], Awaitable[bool]]


class ActionsLike(Protocol):
    def available(self, kind: ActionKind, fields: Mapping[str, str]) -> bool: ...

    def why_not(self, kind: ActionKind, fields: Mapping[str, str]) -> str | None: ...

    async def run(self, kind: ActionKind, fields: Mapping[str, str]) -> ActionOutcome: ...


class RemoteFix(Protocol):
    """Runs another host's fixes on that host (adminbot.fleet.work.RemoteFixes)."""

    def is_remote(self, incident: Incident) -> bool: ...

    async def request(self, incident: Incident, kind: ActionKind, actor: str) -> RunResult: ...


LocalAction = Callable[[str], Awaitable[ActionOutcome]]
OutcomeListener = Callable[[Incident, ActionOutcome, str], None]
"""A fix adminbot does to itself (restart its child), given the actor; not an Actions kind."""


def _failed(kind: ActionKind, error: str) -> ActionOutcome:
    return ActionOutcome(
        kind=kind,
        ok=False,
        notes=note(ActionReason.CRASHED, action=kind.value, error=error),
        operation=kind.value,
        exit_code=None,
        output_tail="",
        duration=0.0,
        attempts=0,
        refused=False,
    )


class Remedies:
    """Runs fixes for incidents under the configured policies, once at a time each."""

    def __init__(
        self,
        store: StoreApi,
        book: IncidentBook,
        outbox: Teller | None,
        actions: ActionsLike | None,
        *,
        rules: Mapping[str, RuleSpec] | None = None,
        budgets: Mapping[ActionKind, ActionBudget] | None = None,
        events: ActionLog | None = None,
        clock: Clock = utcnow,
        probe: AsyncProbe | None = None,
        server_down_since: Callable[[], datetime | None] | None = None,
        verify_seconds: float = 10.0,
        server_wait_seconds: float = 600.0,
        disk_report: Callable[[], DiskReport] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        local_actions: Mapping[ActionKind, LocalAction] | None = None,
        on_outcome: Sequence[OutcomeListener] = (),
        remote: RemoteFix | None = None,
    ) -> None:
        self.store = store
        self.book = book
        self.outbox = outbox
        self.actions = actions
        self.rules = build_rulebook() if rules is None else rules
        self.budgets = dict(budgets or {})
        self.events = events
        self.clock = clock
        self.probe = probe
        self.server_down_since = server_down_since
        self.waiting: dict[int, datetime] = {}
        """Incidents whose fix waits for the Bot API server, and since when it is down."""
        self.verify_seconds = verify_seconds
        self.server_wait_seconds = server_wait_seconds
        self.disk_report = disk_report
        self.sleep = sleep
        self.local_actions = dict(local_actions or {})
        self.on_outcome = tuple(on_outcome)
        self.remote = remote
        self._tasks: set[asyncio.Future[object]] = set()
        self._refusals: list[Callable[[], object]] = []
        self._queued_runs: Counter[ActionKind] = Counter()  # automatic, not started yet

    def policy(self, rule: str) -> Policy:
        """The rule's policy; an incident of a rule no longer configured is asked about."""
        spec = self.rules.get(rule)
        return spec.policy if spec is not None else Policy.ASK

    def offered(self, incident: Incident) -> list[ActionKind]:
        """The fixes whose buttons make sense for this incident with this configuration;
        a fallback (Quarantine) only when none of the rule's own fixes can run."""
        return self.assess(incident)[0]

    def why_no_fix(self, incident: Incident) -> str | None:
        """Why an incident whose rule has fixes gets none (shown on the alert), else None."""
        return self.assess(incident)[1]

    def assess(self, incident: Incident) -> tuple[list[ActionKind], str | None]:
        """The fixes offered and, when none is, why: each fix is planned once."""
        spec = self.rules.get(incident.rule)
        if spec is None or spec.policy is Policy.ALERT:
            return [], None
        if self.remote is not None and self.remote.is_remote(incident):
            return list(spec.fixes), None  # its own host knows its folders and containers
        refusals = {kind: self._why_not(kind, incident) for kind in spec.fixes}
        fixes = [kind for kind, why in refusals.items() if why is None]
        if fixes:
            return fixes, None
        fallbacks = [k for k in spec.fallbacks if self._why_not(k, incident) is None]
        why = next((why for why in refusals.values() if why is not None), None)
        return fallbacks, (why if self.actions is not None else None)

    def _why_not(self, kind: ActionKind, incident: Incident) -> str | None:
        if kind in self.local_actions:
            return None
        if self.actions is None:
            return "no fixes are configured"
        return self.actions.why_not(kind, incident.fields)

    def route(self, event: IncidentEvent) -> None:
        """Called on the event loop for every match, after its transaction committed.

        A held event (maintenance, a threshold) does nothing more; a new incident under
        an `auto` policy counts toward its rule's storm like any other, and gets its fix
        scheduled and no alert yet (the outcome is reported instead), unless its rule
        storms and the fix's budget is spent: the storm's message then tells of it, its
        fix a tap away. A Bot API outage seen in a log line is re-checked before anyone
        is asked; everything else goes to the outbox.
        """
        if event.held is not None:
            return  # a maintenance window or a threshold: recorded, neither told nor fixed
        incident = event.incident
        spec = self.rules.get(incident.rule)
        opened = event.kind is EventKind.OPENED
        fresh = opened and not event.muted
        counted = False  # toward its rule's storm, by the outbox
        # A mute silences messages, never a policy's automatic fix.
        if opened and self.policy(incident.rule) is Policy.AUTO:
            storming = self.outbox is not None and self.outbox.automatic(event)
            counted = self.outbox is not None
            kinds, why = self.assess(incident)
            spent = bool(kinds) and storming and self._budget_spent(kinds[0])
            if kinds and not spent and self._schedule_automatic(incident.id, kinds[0]):
                return
            if storming:
                return  # its rule's storm message tells of it, and of why no fix ran
            if why is not None:
                self._refused(incident, why)
        verify = (
            fresh
            and spec is not None
            and spec.verify_first
            and self.probe is not None
            and event.match.origin is not Origin.CHECK
        )
        if verify and self._schedule(self._verify_then_alert(incident.id)):
            return
        if fresh and spec is not None and spec.disk_report and self.disk_report is not None:
            self._schedule(self._attach_disk_report(incident.id))
        if self.outbox is not None:
            self.outbox.incident_event(event, counted=counted)

    def _budget_spent(self, kind: ActionKind) -> bool:
        """Whether the automatic fixes of `kind` already started or waiting to start take
        all of its budget: in a storm, the incidents past it are not claimed one by one
        only to be handed back, each with a transition and an audit row of its own."""
        budget = self.budgets.get(kind)
        return budget is not None and budget.remaining() <= self._queued_runs[kind]

    def _schedule_automatic(self, incident_id: int, kind: ActionKind) -> bool:
        self._queued_runs[kind] += 1
        if self._schedule(self._run_automatically(incident_id, kind)):
            return True
        self._queued_runs[kind] -= 1
        return False

    async def _run_automatically(self, incident_id: int, kind: ActionKind) -> RunResult:
        """A policy's fix as `route` scheduled it. Once started it no longer waits: `run`
        takes its budget (or is refused it) before its first await."""
        self._queued_runs[kind] -= 1
        return await self.run(incident_id, kind, POLICY_ACTOR)

    def _schedule(self, work: Coroutine[object, object, object]) -> bool:
        """Run `work` as a task of the running loop; False outside one."""
        try:
            task = asyncio.ensure_future(work)
        except RuntimeError:  # no running loop: nothing can run the fix
            work.close()
            return False
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _verify_then_alert(self, incident_id: int) -> None:
        """Wait, probe the Bot API server again, and only ask the admin if it is still down."""
        await self.sleep(self.verify_seconds)
        assert self.probe is not None
        if await self.probe():
            self.book.move(
                incident_id, IncidentState.RESOLVED, POLICY_ACTOR, "answers again after a wait"
            )
            logger.info("Incident %s: the Bot API server answers again", incident_id)
            return
        if self.outbox is not None:
            self.outbox.alert(incident_id)

    async def _attach_disk_report(self, incident_id: int) -> None:
        assert self.disk_report is not None
        report = await asyncio.to_thread(self.disk_report)
        self.store.add_audit(
            incident_id=incident_id,
            actor=POLICY_ACTOR,
            kind=REPORT_KIND,
            operation="disk usage",
            ok=True,
            summary=report.english(),
            now=self.clock(),
            detail=report.to_json(),
        )
        self._report(incident_id, notify=True)

    async def _wait_for_server(self, incident_id: int) -> None:
        """Hold a download fix while the Bot API server is known down, and say so."""
        down_since = self.server_down_since
        if down_since is None or (since := down_since()) is None:
            return
        self.waiting[incident_id] = since
        self._report(incident_id, notify=True)
        waited = 0.0
        try:
            while down_since() is not None and waited < self.server_wait_seconds:
                await self.sleep(SERVER_POLL_SECONDS)
                waited += SERVER_POLL_SECONDS
        finally:
            self.waiting.pop(incident_id, None)

    async def wait_idle(self) -> None:
        """Let scheduled and running fixes finish (used at shutdown and by tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def run(self, incident_id: int, kind: ActionKind, actor: str) -> RunResult:
        """Run one fix for one incident: claim, execute, audit, settle the state, report.

        1. Move the incident to `fixing` with compare-and-set: a second tap (or an
           automatic run racing a tap) finds it already fixing and does nothing.
        2. An automatic run within its budget only; past it, the admin is asked.
        3. Run the action (it validates its own parameters and never raises for
           expected failures); downloads first wait for a Bot API server known down.
        4. Record the audit row and the JSON event.
        5. Resolve on success, reopen on failure, and queue the alert edit.
        """
        incident = self.book.get(incident_id)
        if incident is None or incident.state.is_closed:
            return RunResult(RunStatus.CLOSED)
        if self.remote is not None and self.remote.is_remote(incident):
            if kind not in self.offered(incident):
                return RunResult(RunStatus.UNAVAILABLE)
            return await self.remote.request(incident, kind, actor)
        if kind not in self.offered(incident):
            return RunResult(RunStatus.UNAVAILABLE)
        budget = self.budgets.get(kind) if actor == POLICY_ACTOR else None
        if budget is not None and budget.remaining() == 0:
            self._skip(incident, kind)  # never claimed: nothing to hand back
            return RunResult(RunStatus.OVER_BUDGET)
        if self.book.move(incident_id, IncidentState.FIXING, actor, kind.value) is None:
            return RunResult(RunStatus.BUSY)
        if budget is not None:
            budget.allow()  # there was room just above, and nothing was awaited since
        self._report(incident_id, notify=actor != POLICY_ACTOR)
        try:
            if kind in WAITS_FOR_SERVER:
                await self._wait_for_server(incident_id)
            outcome = await self._execute(kind, incident, actor)
        except asyncio.CancelledError:
            self.book.move(incident_id, IncidentState.OPEN, actor, "interrupted")
            self._report(incident_id, notify=True)
            raise
        except Exception as exc:  # an action bug must not leave the incident stuck in fixing
            logger.exception("Action %s for incident %s crashed", kind, incident_id)
            outcome = _failed(kind, type(exc).__name__)
        self._audit(incident, outcome, actor)
        new_state = IncidentState.RESOLVED if outcome.ok else IncidentState.OPEN
        self.book.move(incident_id, new_state, actor, outcome.summary)
        spec = self.rules.get(incident.rule)
        quiet = outcome.ok and actor == POLICY_ACTOR and spec is not None and spec.quiet_success
        self._report(incident_id, notify=not quiet)
        for listener in self.on_outcome:
            listener(incident, outcome, actor)
        return RunResult(RunStatus.DONE, outcome)

    def _skip(self, incident: Incident, kind: ActionKind) -> None:
        """An automatic fix that may not run: say so in the alert (its audit row is in the
        alert's history) and leave the incident to the admin as it is."""
        notes = note(ActionReason.BUDGET_USED_UP, action=kind.value)
        audit_unrun(self.store, incident.id, POLICY_ACTOR, SKIPPED_KIND, kind, notes, self.clock())
        self._report(incident.id, notify=True)

    async def _execute(self, kind: ActionKind, incident: Incident, actor: str) -> ActionOutcome:
        local = self.local_actions.get(kind)
        if local is not None:
            return await local(actor)
        assert self.actions is not None  # offered() checked it
        return await self.actions.run(kind, incident.fields)

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
            detail=outcome.detail(),
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
        """Refresh the alert; an incident never alerted yet (auto policy) gets one now,
        unless its rule is muted: a mute silences messages, the fix still ran."""
        if self.outbox is None or not notify:
            return
        if self.store.alert_messages(incident_id) or self.store.has_pending(incident_id):
            self.outbox.incident_changed(incident_id)
            return
        incident = self.book.get(incident_id)
        if incident is not None and self.book.is_muted(incident.rule, key=incident.key):
            return
        self.outbox.alert(incident_id)

    def _refused(self, incident: Incident, why: str) -> None:
        """An automatic fix that cannot run for this incident: audited (at `flush`); the
        alert says why."""
        kind = self.rules[incident.rule].fixes[0]
        notes = note(ActionReason.REFUSED, why=why)
        self._refusals.append(
            partial(
                audit_unrun,
                self.store,
                incident.id,
                POLICY_ACTOR,
                REFUSED_KIND,
                kind,
                notes,
                self.clock(),
            )
        )

    def flush(self) -> None:
        """Write the refusals `route` noted, in one transaction.

        A storm of incidents whose automatic fix cannot run is thousands of refusals a
        second; one commit each was most of the time the event loop spent on it.
        """
        writes, self._refusals = self._refusals, []
        if not writes:
            return
        try:
            with self.store.transaction():
                for write in writes:
                    write()
        except Exception:  # the store failing must not stop the routing; these are notes
            logger.exception("Could not audit %d refused automatic fixes", len(writes))

    def ignore(self, incident_id: int, actor: str) -> Incident | None:
        return self._settle(incident_id, IncidentState.IGNORED, actor)

    def resolve(self, incident_id: int, actor: str) -> Incident | None:
        return self._settle(incident_id, IncidentState.RESOLVED, actor)

    def _settle(self, incident_id: int, state: IncidentState, actor: str) -> Incident | None:
        incident = self.book.move(incident_id, state, actor)
        if incident is not None:
            self._report(incident_id, notify=True)
        return incident
