"""One incident per crash loop and per outage: a recurrence continues the one before it.

An incident of a rule and key that opens again soon after the previous one of the same
rule and key was closed (the pipeline restarted, a check came back) is the same trouble
going on: its alert edits the earlier message instead of pushing a new one, and says
how often and since when. What "soon" is comes from the caller (the restart window).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from adminbot.models import Incident
from adminbot.store.api import StoreApi
from adminbot.store.rows import Closing

AUTOMATIC = frozenset({"policy", "check"})
"""Who closes an incident without a person: a fix by policy, a check that passes again.
An incident a person closed and that comes back is news, never a continuation."""
CHAIN_LIMIT = 50
"""Earlier incidents looked at: a loop longer than this is told as this long."""


@dataclass(frozen=True, slots=True)
class Recurrence:
    """This incident continues `previous`: `count` times in a row since `since`; `settled_at`
    is when this one was closed (the child runs again since then), None while open."""

    count: int
    since: datetime
    last: datetime
    previous: int
    settled_at: datetime | None


def chain(closings: Sequence[Closing], window: timedelta) -> Recurrence | None:
    """The recurrence the newest of `closings` (newest first) continues, if any: each one
    opened within `window` after the one before it was closed automatically."""
    if len(closings) < 2:
        return None
    kept = [closings[0]]
    for earlier in closings[1:]:
        closed = earlier.closed_at
        if closed is None or earlier.closed_by not in AUTOMATIC:
            break
        if kept[-1].first_seen - closed > window:
            break
        kept.append(earlier)
    if len(kept) < 2:
        return None
    newest = closings[0]
    return Recurrence(
        count=len(kept),
        since=kept[-1].first_seen,
        last=newest.first_seen,
        previous=closings[1].id,
        settled_at=newest.closed_at,
    )


def recurrence(store: StoreApi, incident: Incident, window: timedelta) -> Recurrence | None:
    """What `incident` continues, read from the store."""
    return chain(store.closings(incident, CHAIN_LIMIT), window)
