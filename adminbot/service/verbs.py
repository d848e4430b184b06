"""What a person does to an incident, the same from a Telegram button and from the web page.

Each verb goes through the incident book and the remedies (compare-and-set, budgets,
audit) and queues the alert edit, so the alert in the chat and the page agree
whichever front the person used.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from enum import StrEnum

from adminbot.actions.executor import ActionKind
from adminbot.actions.runs import RunStatus
from adminbot.incidents.book import key_target
from adminbot.kinds.makerule import Edit, Made
from adminbot.models import Incident, IncidentState
from adminbot.rules.builtin import NUEVO_TIPO
from adminbot.service.runtime import Runtime
from adminbot.store.kinds import KindState

logger = logging.getLogger(__name__)

MUTE_FOR = timedelta(hours=1)
MUTE_HOURS = (1, 8, 24)
"""The mutes a person may pick from an alert or the page."""

Spawn = Callable[[Coroutine[object, object, None], str], object]
"""Starts a fix on its own task (the front's task set, so it is awaited at shutdown)."""


class FixStart(StrEnum):
    """Why a fix did or did not start."""

    STARTED = "started"
    QUEUED = "queued"
    """Another host's incident: its agent will run the fix."""
    UNAVAILABLE = "unavailable"
    BUSY = "busy"
    UNREACHABLE = "unreachable"
    """Another host's incident, and that host does not heartbeat: nothing runs."""


def start_fix(
    runtime: Runtime, incident: Incident, kind: ActionKind, actor: str, spawn: Spawn
) -> FixStart:
    """Start one offered fix on its own task; the alert is edited as it runs and ends."""
    if kind not in runtime.remedies.offered(incident):
        return FixStart.UNAVAILABLE
    if incident.state is IncidentState.FIXING:
        return FixStart.BUSY
    remote = runtime.remote.is_remote(incident)
    if remote and not runtime.remote.reachable(incident.host):
        return FixStart.UNREACHABLE
    spawn(run_fix(runtime, incident.id, kind, actor), f"action-{incident.id}")
    return FixStart.QUEUED if remote else FixStart.STARTED


async def run_fix(runtime: Runtime, incident_id: int, kind: ActionKind, actor: str) -> None:
    """Run the fix; when it did not run, refresh the alert so it shows the incident as it is."""
    result = await runtime.remedies.run(incident_id, kind, actor)
    if result.status is not RunStatus.DONE:
        logger.info("Action %s on #%s by %s: %s", kind, incident_id, actor, result.status)
        runtime.outbox.incident_changed(incident_id)


def acknowledge(runtime: Runtime, incident_id: int, actor: str) -> Incident | None:
    """Someone takes the incident: the alert shows who, and reminders stop."""
    acked = runtime.book.acknowledge(incident_id, actor)
    if acked is not None:
        runtime.outbox.incident_changed(incident_id)
    return acked


def mute(
    runtime: Runtime, incident: Incident, actor: str, duration: timedelta = MUTE_FOR
) -> datetime:
    """Mute this incident (its key, not its whole type), an hour unless told; fixes still run."""
    until = runtime.book.mute(key_target(incident.rule, incident.key), duration, actor)
    runtime.outbox.incident_changed(incident.id)  # the alert says until when, with Unmute
    return until


def unmute(runtime: Runtime, incident: Incident) -> None:
    """Lift this incident's own mute."""
    runtime.book.unmute(key_target(incident.rule, incident.key))
    runtime.outbox.incident_changed(incident.id)


def ignore_kind(runtime: Runtime, kind_id: int, actor: str) -> bool:
    """The kind of error becomes ignored, and its open "new kind" incident closes as ignored."""
    miner = runtime.monitor.kinds
    if miner is None or not miner.decide(kind_id, KindState.IGNORED):
        return False
    for incident_id in _kind_alerts(runtime, kind_id):
        runtime.remedies.ignore(incident_id, actor)
    return True


def make_rule(runtime: Runtime, kind_id: int, edit: Edit, actor: str) -> Made:
    """Make a rule of a kind as edited; the kind's open "new kind" incidents are resolved."""
    return _resolving(runtime, kind_id, runtime.rule_maker.make(kind_id, edit, actor), actor)


def confirm_rule(runtime: Runtime, kind_id: int, digest: str, actor: str) -> Made:
    """Make the rule proposed for a kind (the one whose digest was shown), as `make_rule`."""
    made = runtime.rule_maker.confirm(kind_id, digest, actor)
    return _resolving(runtime, kind_id, made, actor)


def _resolving(runtime: Runtime, kind_id: int, made: Made, actor: str) -> Made:
    """A rule made resolves every open alert of its kind, on every host."""
    if made.spec is not None:
        for incident_id in _kind_alerts(runtime, kind_id):
            runtime.remedies.resolve(incident_id, actor)
    return made


def _kind_alerts(runtime: Runtime, kind_id: int) -> list[int]:
    """The still-open "new kind" incidents of one kind."""
    still_open = [state for state in IncidentState if not state.is_closed]
    found = runtime.store.incidents(rule=NUEVO_TIPO.name, states=still_open, limit=500)
    return [incident.id for incident in found if incident.key == str(kind_id)]


def loop_spawn(tasks: set[asyncio.Task[None]]) -> Spawn:
    """A `Spawn` that keeps its tasks in `tasks` until they end."""

    def spawn(work: Coroutine[object, object, None], name: str) -> object:
        task = asyncio.get_running_loop().create_task(work, name=name)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return task

    return spawn
