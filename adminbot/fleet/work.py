"""Fixes for another host's incident: asked on the front, run by that host's agent.

A tap on host B's alert, on the front that runs on host A, never runs there: A's
folders and containers are not B's. `RemoteFixes.request` queues a work row for B,
unless B's heartbeat is older than `silent_after` (then "host b is not reachable"
and nothing runs). B's agent polls every second (`poll`), claims each row with
compare-and-set and runs it through the same `Remedies.run` as a local tap, so the
audit row and the alert's edit (through the shared outbox) are those of a local fix.
A row nobody claims within `expire_after` is expired (`expire`, a front duty) and
the alert says so.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import timedelta

from adminbot.actions.executor import ActionKind
from adminbot.actions.outcome import ActionReason, note
from adminbot.actions.runs import REFUSED_KIND, RunResult, RunStatus, audit_unrun
from adminbot.clock import Clock, utcnow
from adminbot.fleet.silence import is_silent
from adminbot.models import Incident
from adminbot.notify.outbox import Outbox
from adminbot.store.api import StoreApi
from adminbot.store.hosts import HostStore
from adminbot.store.work import WorkItem, WorkStore

logger = logging.getLogger(__name__)

EXPIRE_AFTER = 300.0
"""Seconds a queued fix waits for its host before it expires."""
EXPIRED_KIND = "expired"

RunFix = Callable[[int, ActionKind, str], Awaitable[RunResult]]


class RemoteFixes:
    """Queues fixes for other hosts (the front's side) and runs this host's (the agent's)."""

    def __init__(
        self,
        store: StoreApi,
        work: WorkStore,
        hosts: HostStore,
        outbox: Outbox,
        *,
        silent_after: float,
        expire_after: float = EXPIRE_AFTER,
        clock: Clock = utcnow,
        instance: str = "",
    ) -> None:
        self.store = store
        self.work = work
        self.hosts = hosts
        self.outbox = outbox
        self.silent_after = silent_after
        self.expire_after = expire_after
        self.clock = clock
        self.instance = instance or f"{store.host}:{os.getpid()}"

    def is_remote(self, incident: Incident) -> bool:
        """Whether another host's agent must run this incident's fixes."""
        return incident.host not in ("", self.store.host)

    def reachable(self, host: str) -> bool:
        """Whether `host`'s agent heartbeats (on the store's clock) recently enough."""
        row = self.hosts.host(host, self.clock())
        return row is not None and not is_silent(row, self.silent_after)

    async def request(self, incident: Incident, kind: ActionKind, actor: str) -> RunResult:
        """Queue `kind` for the incident's host; nothing runs here."""
        if not self.reachable(incident.host):
            return RunResult(RunStatus.UNREACHABLE)
        queued = self.work.request(incident.host, incident.id, kind.value, actor, self.clock())
        if queued is None:
            return RunResult(RunStatus.BUSY)
        logger.info("Fix %s for #%s queued for host %s", kind, incident.id, incident.host)
        return RunResult(RunStatus.QUEUED)

    async def poll(self, run: RunFix) -> int:
        """Run the fixes queued for this host, each claimed once; returns how many ran."""
        claimed = await asyncio.to_thread(self._claim)
        for item in claimed:
            await self._run(item, run)
        return len(claimed)

    def _claim(self) -> list[WorkItem]:
        """This host's pending fixes, each taken by compare-and-set (the rest are others')."""
        found = self.work.pending(self.store.host)
        return [item for item in found if self.work.claim(item.id, self.instance)]

    async def _run(self, item: WorkItem, run: RunFix) -> None:
        try:
            kind = ActionKind(item.action)
        except ValueError:
            logger.warning("Work #%s asks for an unknown fix %r", item.id, item.action)
            self.work.finish(item.id, self.clock())
            return
        try:
            result = await run(item.incident_id, kind, item.actor)
        finally:
            self.work.finish(item.id, self.clock())
        if result.status is RunStatus.UNAVAILABLE:
            self._refused(item, kind)
        if result.status is not RunStatus.DONE:
            logger.info("Fix %s on #%s by %s: %s", kind, item.incident_id, item.actor, result)
            self.outbox.incident_changed(item.incident_id)

    def _refused(self, item: WorkItem, kind: ActionKind) -> None:
        """The fix cannot run on this host (its folders, its container): the alert says why."""
        why = f"{kind.value} is not possible on host {self.store.host}"
        notes = note(ActionReason.REFUSED, why=why)
        audit_unrun(
            self.store, item.incident_id, item.actor, REFUSED_KIND, kind, notes, self.clock()
        )

    def recover_interrupted(self) -> int:
        """At start: this host's fixes cut off by a crash are over (their incident was
        moved back to open by the book, so the admin may ask again)."""
        return self.work.interrupted(self.store.host, self.clock())

    def expire(self) -> list[WorkItem]:
        """Fixes nobody picked up in time: expired, audited, and said on their alerts."""
        now = self.clock()
        expired = self.work.expire(now - timedelta(seconds=self.expire_after), now)
        for item in expired:
            kind = ActionKind(item.action)
            minutes = max(1, round(self.expire_after / 60))
            notes = note(ActionReason.REMOTE_EXPIRED, host=item.host, minutes=minutes)
            logger.warning("Fix %s for #%s expired: host %s", kind, item.incident_id, item.host)
            audit_unrun(self.store, item.incident_id, item.actor, EXPIRED_KIND, kind, notes, now)
            self.outbox.incident_changed(item.incident_id)
        return expired
