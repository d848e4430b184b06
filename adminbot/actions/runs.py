"""What asking for a fix can come to, and the audit of a fix that did not run.

Shared by the fixes run here (`adminbot.actions.remedies`), the buttons' verbs and
another host's fixes run by its agent (`adminbot.fleet.work`), which need the words of
a run's result without the machinery that runs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from adminbot.actions.executor import ActionKind, ActionOutcome
from adminbot.actions.outcome import ActionNote
from adminbot.store.api import StoreApi

# Audit kinds beside the fixes themselves.
REPORT_KIND = "report"  # a disk report attached to the incident
SKIPPED_KIND = "skipped"  # an automatic fix past its budget
REFUSED_KIND = "refused"  # a fix the planner or another host's agent refused


class RunStatus(StrEnum):
    """How asking for a fix ended (a tap's answer shows it)."""

    DONE = "done"
    BUSY = "busy"
    CLOSED = "closed"
    UNAVAILABLE = "unavailable"
    OVER_BUDGET = "over_budget"
    QUEUED = "queued"
    """Another host's incident: its agent runs the fix (adminbot.fleet.work)."""
    UNREACHABLE = "unreachable"
    """Another host's incident, and that host's agent does not heartbeat: nothing runs."""


@dataclass(frozen=True)
class RunResult:
    status: RunStatus
    outcome: ActionOutcome | None = None


def audit_unrun(
    store: StoreApi,
    incident_id: int,
    actor: str,
    label: str,
    kind: ActionKind,
    notes: Sequence[ActionNote],
    now: datetime,
) -> str:
    """Audit a fix that did not run (skipped, refused, expired: `label`) and why; returns
    the summary the audit row and the alert show."""
    outcome = ActionOutcome(kind, False, tuple(notes), kind.value)
    summary = outcome.summary  # worded anew at each reading: once per audit in a storm
    store.add_audit(
        incident_id=incident_id,
        actor=actor,
        kind=label,
        operation=kind.value,
        ok=False,
        summary=summary,
        now=now,
        detail=outcome.detail(),
    )
    return summary
