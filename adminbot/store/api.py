"""What the rest of adminbot may ask of a store, whichever backend holds it.

`Store` (SQLite, one host, no server) and `PgStore` (PostgreSQL, many hosts) both
satisfy it; the core and the fronts type against `StoreApi`. A method added to
`Store` for the rest of the code is named here too, so both backends must have it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from adminbot.models import Checkpoint, Incident, IncidentState, Match
from adminbot.store.damage import Recovery
from adminbot.store.fence import Fence
from adminbot.store.retention import Pruned
from adminbot.store.rows import (
    AuditEntry,
    Closing,
    OutboxItem,
    Recorded,
    SentRef,
    StormFacts,
    Transition,
)


class StoreApi(Protocol):
    """Durable state shared by the pipeline's stages: incidents, outbox, audit, mutes."""

    path: str
    """Where it lives, as it may be shown (a URL's password is hidden)."""
    host: str
    """The host whose incidents this store records (several may share a database)."""

    def close(self) -> None: ...

    def take_recoveries(self) -> list[Recovery]:
        """The store recoveries not yet told to the admin, oldest first."""
        ...

    @property
    def schema_version(self) -> int: ...

    def transaction(self) -> AbstractContextManager[None]:
        """Group writes atomically; nested use joins the outer transaction."""
        ...

    def connection(self) -> AbstractContextManager[sqlite3.Connection]:
        """The connection, under the store's lock, for the store package's other modules."""
        ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the current transaction commits (now, if there is none)."""
        ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def store_now(self, now: datetime) -> datetime:
        """The time on the store's clock (the server's, when hosts share one)."""
        ...

    def claim_host(self, wait: float = 0.0) -> bool:
        """Take this host's name for this process; False if another copy holds it
        (after trying for `wait` seconds)."""
        ...

    def writable(self, now: datetime) -> bool:
        """Whether a write commits now (a full disk or a read-only file say no)."""
        ...

    def load_checkpoints(self) -> dict[str, Checkpoint]: ...

    def last_checkpoint_at(self) -> datetime | None: ...

    def save_checkpoint(self, checkpoint: Checkpoint, now: datetime) -> None: ...

    def count_lines(self, now: datetime, lines: int) -> None: ...

    def lines_since(self, since: datetime) -> int: ...

    def record_match(self, match: Match, now: datetime, token: str) -> Recorded:
        """Add one occurrence: bump the live incident for (rule, key) or open a new one."""
        ...

    def record_matches(
        self, matches: Sequence[Match], now: datetime, token: Callable[[], str]
    ) -> list[Recorded]:
        """Record a batch of matches, one `Recorded` per match, in their order."""
        ...

    def set_state(
        self,
        incident_id: int,
        expected: Sequence[IncidentState],
        new: IncidentState,
        actor: str,
        now: datetime,
        note: str = "",
    ) -> bool:
        """Move an incident to `new` only if it is still in one of `expected` (compare-and-set)."""
        ...

    def incident(self, incident_id: int) -> Incident | None: ...

    def incidents(
        self,
        *,
        rule: str | None = None,
        states: Sequence[IncidentState] | None = None,
        since: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
        host: str | None = None,
    ) -> list[Incident]:
        """Incidents, the latest first; `host` keeps one host's only."""
        ...

    def closings(self, incident: Incident, limit: int) -> list[Closing]: ...

    def count_incidents(
        self,
        *,
        rule: str | None = None,
        states: Sequence[IncidentState] | None = None,
        since: datetime | None = None,
        host: str | None = None,
    ) -> int: ...

    def incident_counts(self, since: datetime | None = None) -> dict[str, tuple[int, int]]:
        """Per rule: (incidents, occurrences) whose last occurrence is at or after `since`."""
        ...

    def host_counts(self, since: datetime | None = None) -> dict[str, tuple[int, int]]:
        """Per host: (incidents, occurrences) whose last occurrence is at or after `since`."""
        ...

    def open_counts(self) -> dict[str, int]: ...

    def state_counts(self) -> dict[tuple[str, str], int]:
        """This host's incidents per (rule, state), for its metrics endpoint."""
        ...

    def resolution_seconds(self, since: datetime) -> list[float]: ...

    def occurrences(
        self, incident_id: int, limit: int = 5
    ) -> list[tuple[datetime, str, int, str]]: ...

    def transitions(self, incident_id: int) -> list[Transition]: ...

    def add_audit(
        self,
        *,
        incident_id: int | None,
        actor: str,
        kind: str,
        operation: str,
        ok: bool,
        summary: str,
        now: datetime,
        exit_code: int | None = None,
        output_tail: str = "",
        duration: float = 0.0,
        detail: Mapping[str, Any] | None = None,
    ) -> int: ...

    def audit(
        self, *, since: datetime | None = None, incident_id: int | None = None
    ) -> list[AuditEntry]: ...

    def enqueue(
        self,
        kind: str,
        payload: Mapping[str, Any],
        now: datetime,
        *,
        chat_id: int | None = None,
        incident_id: int | None = None,
        not_before: datetime | None = None,
        coalesce: bool = False,
        priority: int = 2,
        storm_id: int | None = None,
    ) -> int | None:
        """Queue a notification for one chat."""
        ...

    def due(self, now: datetime, limit: int = 20) -> list[OutboxItem]:
        """Pending notifications that may be sent now: the most urgent first, then oldest."""
        ...

    def next_due_at(self, after: datetime | None = None) -> datetime | None:
        """When the next pending row falls due (only those due later than `after`, if given)."""
        ...

    def claim(self, item_id: int, fence: Fence | None = None) -> bool:
        """Take a pending row for sending; False if another sender took it first, or the
        `fence`'s lease is no longer current."""
        ...

    def mark_sent(self, item_id: int, now: datetime, fence: Fence | None = None) -> bool:
        """Telegram took it; False when the row is no longer this claim."""
        ...

    def release(
        self,
        item_id: int,
        not_before: datetime,
        error: str,
        *,
        unsure: bool = False,
        fence: Fence | None = None,
    ) -> None:
        """Give a claimed row back after a transient failure, to be tried again later."""
        ...

    def mark_failed(self, item_id: int, error: str, fence: Fence | None = None) -> None:
        """A permanent failure (the message can never be delivered as it is)."""
        ...

    def recover_claims(self, fence: Fence | None = None) -> int:
        """Rows left in flight (by a crash, or by earlier terms than `fence`) are sent
        again, at most once each."""
        ...

    def absorb_alerts(self, rule: str) -> int:
        """Pending alerts of `rule` that a storm message now stands for; they are not sent."""
        ...

    def has_pending(self, incident_id: int, kind: str = "alert") -> bool: ...

    def outbox_depth(self) -> int: ...

    def oldest_pending_at(self) -> datetime | None: ...

    def alert_messages(self, incident_id: int) -> dict[int, int]: ...

    def alerted_at(self, incident_id: int) -> datetime | None:
        """When the incident's alert first reached a chat (None: it reached none)."""
        ...

    def alert_owner(self, chat_id: int, message_id: int) -> int | None: ...

    def alert_message(self, incident_id: int, chat_id: int) -> SentRef | None:
        """The alert's message in `chat_id`, and whether it may repeat an earlier one."""
        ...

    def save_alert_message(
        self,
        incident_id: int,
        chat_id: int,
        message_id: int,
        now: datetime,
        *,
        repeated: bool = False,
    ) -> None: ...

    def open_storm(self, rule: str, started_at: datetime) -> int: ...

    def end_storm(self, storm_id: int, now: datetime) -> None: ...

    def open_storms(self) -> dict[str, int]:
        """Storms still going on, by rule (a restart picks them up)."""
        ...

    def storm(self, storm_id: int, top: int = 5) -> StormFacts | None:
        """What a storm message shows: how many new incidents, the top keys and files."""
        ...

    def storm_message(self, storm_id: int, chat_id: int) -> SentRef | None: ...

    def save_storm_message(
        self, storm_id: int, chat_id: int, message_id: int, *, repeated: bool = False
    ) -> None: ...

    def prune(self, before: datetime) -> Pruned:
        """Forget closed incidents, audit rows and sent messages older than `before`."""
        ...

    def size_bytes(self) -> int:
        """Bytes on disk (database and write-ahead log), for /status and /metrics."""
        ...

    def set_mute(self, target: str, until: datetime, by: str) -> None: ...

    def clear_mutes(self, target: str | None = None) -> int: ...

    def mutes(self) -> dict[str, datetime]: ...

    def topic_thread(self, chat_id: int, name: str) -> int | None: ...

    def save_topic(self, chat_id: int, name: str, thread_id: int) -> None: ...

    def expire_mutes(self, now: datetime) -> list[str]:
        """Drop mutes that have run out and return their targets (the admin is told)."""
        ...
