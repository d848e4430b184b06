"""Incidents: grouping matches, the allowed state moves, and mutes.

The store holds the rows; this module holds the rules about them, so the Telegram
layer and the policies ask here instead of touching states directly.
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from adminbot.clock import Clock, utcnow
from adminbot.incidents.events import EventKind, Hold, IncidentEvent
from adminbot.models import Incident, IncidentState, Match
from adminbot.store.api import StoreApi

if TYPE_CHECKING:
    from adminbot.incidents.noise import NoiseGate

S = IncidentState

TRANSITIONS: Mapping[IncidentState, frozenset[IncidentState]] = {
    S.OPEN: frozenset({S.ACKNOWLEDGED, S.FIXING, S.RESOLVED, S.IGNORED}),
    S.ACKNOWLEDGED: frozenset({S.FIXING, S.RESOLVED, S.IGNORED}),
    S.FIXING: frozenset({S.OPEN, S.ACKNOWLEDGED, S.RESOLVED, S.IGNORED}),
    S.RESOLVED: frozenset(),
    S.IGNORED: frozenset({S.OPEN}),
}

OPEN_STATES = (S.OPEN, S.ACKNOWLEDGED, S.FIXING)
MUTE_ALL = "all"
KEY_MARK = "\u241f"  # ␟: a rule's name never holds it, so "rule␟key" names one incident's key


def key_target(rule: str, key: str) -> str:
    """The mute target of one incident's key (the Mute button), not its whole rule."""
    return f"{rule}{KEY_MARK}{key}"


def shown_target(target: str) -> str:
    """A mute target as the admin reads it: `timeout` or `timeout · /srv/a.mp4`."""
    return target.replace(KEY_MARK, " · ")


_TOKEN_BYTES = 6
_tokens: list[str] = []
_tokens_lock = threading.Lock()


def new_token() -> str:
    """A short random token that makes button callback data unguessable.

    Drawn 256 at a time from `secrets` (one system call, not one per incident: a
    storm opens thousands a second); each is `secrets.token_urlsafe(6)`'s form."""
    with _tokens_lock:
        if not _tokens:
            raw = secrets.token_bytes(_TOKEN_BYTES * 256)
            _tokens.extend(
                base64.urlsafe_b64encode(raw[i : i + _TOKEN_BYTES]).decode()
                for i in range(0, len(raw), _TOKEN_BYTES)
            )
        return _tokens.pop()


def allowed_from(new: IncidentState) -> tuple[IncidentState, ...]:
    """The states from which an incident may move to `new`."""
    return tuple(old for old, targets in TRANSITIONS.items() if new in targets)


class IncidentBook:
    """Turns matches into incidents and moves incidents between states."""

    def __init__(
        self, store: StoreApi, clock: Clock = utcnow, *, gate: NoiseGate | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        self.gate = gate

    def record(self, match: Match) -> IncidentEvent:
        return self.record_batch([match])[0]

    def record_batch(self, matches: Sequence[Match]) -> list[IncidentEvent]:
        """One event per match, in order; the store writes each incident once per batch.

        The noise gate (if any) first drops the matches `[[ignore]]` names, and then
        holds back what a maintenance window or a threshold keeps quiet."""
        now = self.clock()
        if self.gate is not None:
            matches = self.gate.admit(matches, now)
        if not matches:
            return []
        recorded = self.store.record_matches(matches, now, new_token)
        mutes = self.store.mutes()
        events = [
            IncidentEvent(
                EventKind.OPENED if r.created else EventKind.REPEATED,
                r.incident,
                match,
                r.incident.state == S.IGNORED
                or (bool(mutes) and self._muted_by(mutes, match.rule, now, match.key)),
            )
            for match, r in zip(matches, recorded, strict=True)
        ]
        return self.gate.judge(events, now) if self.gate is not None else events

    def is_held(self, incident_id: int) -> bool:
        """Recorded but not told yet: no reminder, and no alert at a restart."""
        return self.gate is not None and self.gate.is_held(incident_id)

    def held_for(self, incident_id: int) -> Hold | None:
        """Why the incident is recorded but not told yet, if it is."""
        return None if self.gate is None else self.gate.held_for(incident_id)

    def in_maintenance(self, rule: str, host: str) -> bool:
        """Whether a maintenance window covers `rule` on `host` now."""
        return self.gate is not None and self.gate.in_maintenance(rule, host, self.clock())

    def move(
        self, incident_id: int, new: IncidentState, actor: str, note: str = ""
    ) -> Incident | None:
        """Change state if the move is allowed from the current state; None if it was not."""
        if not self.store.set_state(incident_id, allowed_from(new), new, actor, self.clock(), note):
            return None
        return self.store.incident(incident_id)

    def acknowledge(self, incident_id: int, actor: str) -> Incident | None:
        """Someone is on it: reminders stop; None if it is closed or already acknowledged."""
        return self.move(incident_id, S.ACKNOWLEDGED, actor, "acknowledged")

    def recover_interrupted(self) -> list[int]:
        """At start-up: a fix that was running when adminbot stopped is no longer running."""
        stuck = self.store.incidents(states=[S.FIXING], limit=1000, host=self.store.host)
        return [i.id for i in stuck if self.move(i.id, S.OPEN, "monitor", "interrupted by restart")]

    def get(self, incident_id: int) -> Incident | None:
        return self.store.incident(incident_id)

    def mute(self, target: str, duration: timedelta, by: str) -> datetime:
        until = self.clock() + duration
        self.store.set_mute(target, until, by)
        return until

    def unmute(self, target: str | None = None) -> int:
        return self.store.clear_mutes(None if target in (None, MUTE_ALL) else target)

    def lift(self, target: str) -> bool:
        """End exactly this mute (`all` is one mute here, not every mute)."""
        return self.store.clear_mutes(target) > 0

    def muted_incidents(self, target: str) -> list[int]:
        """The open incidents whose alert shows this key mute (none for a type mute)."""
        rule, mark, key = target.partition(KEY_MARK)
        if not mark:
            return []
        found = self.store.incidents(rule=rule, states=list(OPEN_STATES), limit=100)
        return [i.id for i in found if i.key == key]

    def is_muted(self, rule: str, now: datetime | None = None, key: str | None = None) -> bool:
        """Whether messages about `rule` (or about that incident `key`) are silenced."""
        now = now or self.clock()
        return self._muted_by(self.store.mutes(), rule, now, key)

    def muted_until(self, rule: str, key: str) -> datetime | None:
        """Until when that incident's key is muted by its own Mute button, if it is."""
        until = self.store.mutes().get(key_target(rule, key))
        return until if until is not None and until > self.clock() else None

    @staticmethod
    def _muted_by(
        mutes: Mapping[str, datetime], rule: str, now: datetime, key: str | None = None
    ) -> bool:
        targets = (rule, MUTE_ALL) if key is None else (rule, MUTE_ALL, key_target(rule, key))
        return any(mutes.get(target, now) > now for target in targets)

    def expire_mutes(self) -> list[str]:
        return self.store.expire_mutes(self.clock())
