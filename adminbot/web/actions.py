"""The buttons of an incident's page, run through the same verbs as the Telegram buttons."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from adminbot.actions.executor import ActionKind
from adminbot.service import verbs
from adminbot.service.runtime import Runtime
from adminbot.service.verbs import FixStart

logger = logging.getLogger(__name__)

VERBS = frozenset({"act", "ignore", "resolve", "ack", "mute", "unmute"})


class Actions:
    """Applies one verb to one incident for one person; fixes run on tasks it owns."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._tasks: set[asyncio.Task[None]] = set()
        self._spawn = verbs.loop_spawn(self._tasks)

    def do(
        self,
        incident_id: int,
        verb: str,
        kind: str,
        actor: str,
        mute_for: timedelta | None = verbs.MUTE_FOR,
    ) -> tuple[str | None, str]:
        """Apply `verb`; returns what happened (a `done.*` key, None when there is no such
        incident) and the fix started, if one was. `mute_for` None: not a duration offered."""
        runtime = self.runtime
        incident = runtime.store.incident(incident_id)
        if incident is None or verb not in VERBS:
            return None, ""
        logger.info("Web %s on #%s by %s", verb, incident_id, actor)
        if verb == "unmute":
            verbs.unmute(runtime, incident)
            return "unmuted", ""
        if incident.state.is_closed:
            runtime.outbox.incident_changed(incident.id)
            return "closed", ""
        if verb == "act":
            try:
                action = ActionKind(kind)
            except ValueError:
                return "unavailable", ""
            started = verbs.start_fix(runtime, incident, action, actor, self._spawn)
            shown = started in (FixStart.STARTED, FixStart.QUEUED)
            return started.value, action.value if shown else ""
        if verb == "mute":
            if mute_for is None:
                return "bad_mute", ""
            verbs.mute(runtime, incident, actor, mute_for)
            return "muted", ""
        if verb == "ack":
            settled = verbs.acknowledge(runtime, incident.id, actor)
            return ("acked" if settled is not None else "busy"), ""
        if verb == "ignore":
            settled = runtime.remedies.ignore(incident.id, actor)
            return ("ignored" if settled is not None else "busy"), ""
        settled = runtime.remedies.resolve(incident.id, actor)
        return ("resolved" if settled is not None else "busy"), ""

    async def close(self) -> None:
        """Let fixes started from the page end (they put the incident back if cancelled)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
