"""The one entry point for incidents, whatever announced them: a log line, a check, the child.

A batch's incidents, the tailer's checkpoint and the hourly line count commit in one
transaction, so a restart neither loses nor repeats a line. What follows from an
incident (a fix, an alert, a console line, a metric) happens after the commit, on the
event loop: the events are handed to an `EventQueue` that the router drains. A slow
or failing step can then never hold the tailer, nor see uncommitted state.

When the store's disk is full, a batch that cannot commit is recorded in halves,
down to single records; records that fit nowhere are reported (`Unrecorded`) and
the checkpoint still advances, so one file never stalls behind a full disk.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from adminbot.clock import Clock, utcnow
from adminbot.incidents.book import IncidentBook
from adminbot.incidents.events import IncidentEvent, Unrecorded
from adminbot.models import (
    Checkpoint,
    Incident,
    IncidentState,
    Match,
    Origin,
    Record,
    Severity,
    frozen_map,
)
from adminbot.redaction import Redactor
from adminbot.store.api import StoreApi
from adminbot.store.damage import is_full

logger = logging.getLogger(__name__)

QUEUE_LIMIT = 20_000
"""Events waiting for the router before the tailer is held (a storm's few seconds)."""
HOLD_SECONDS = 30.0
"""The longest a tailer waits for room before going on anyway (never a deadlock)."""

OPEN_STATES = tuple(state for state in IncidentState if not state.is_closed)


Tally = Callable[[datetime, Sequence[str]], None]
"""Counts the rules of a batch's log matches, inside the batch's transaction."""


class IncidentNotRecorded(Exception):
    """An incident no log line announced could not be stored (the store is full)."""


class EventQueue:
    """Committed incident events, from any thread to the event loop, in commit order.

    Bounded: a thread other than the loop's that finds `limit` events still waiting is
    held (`wait_for_room`) until the router catches up, so a storm slows the tailer,
    whose checkpoint then waits too, instead of growing memory without end.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        limit: int = QUEUE_LIMIT,
        hold_seconds: float = HOLD_SECONDS,
    ) -> None:
        self._items: queue.SimpleQueue[list[IncidentEvent]] = queue.SimpleQueue()
        self._loop = loop
        self._ready = asyncio.Event() if loop is not None else None
        self._limit = limit
        self._hold = hold_seconds
        self._pending = 0
        self._room = threading.Condition()
        self._loop_thread: int | None = None
        if loop is not None and _running_loop() is loop:
            self._loop_thread = threading.get_ident()  # built on the loop, as the runtime is
        elif loop is not None:
            loop.call_soon_threadsafe(self._note_loop_thread)

    def _note_loop_thread(self) -> None:
        self._loop_thread = threading.get_ident()

    def put(self, events: list[IncidentEvent]) -> None:
        if not events:
            return
        with self._room:
            self._pending += len(events)
        self._items.put(events)
        if self._loop is not None and self._ready is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._ready.set)

    def wait_for_room(self) -> None:
        """Hold the calling thread while too many events wait (never the loop's own)."""
        if self._loop is None or threading.get_ident() == self._loop_thread:
            return
        deadline = time.monotonic() + self._hold
        with self._room:
            while self._pending > self._limit and not self._loop.is_closed():
                left = deadline - time.monotonic()
                if left <= 0:
                    logger.warning("%s events wait for the router; going on", self._pending)
                    return
                self._room.wait(min(left, 0.5))

    def drain(self) -> list[IncidentEvent]:
        """Everything queued so far, oldest first, without waiting."""
        drained: list[IncidentEvent] = []
        while True:
            try:
                drained.extend(self._items.get_nowait())
            except queue.Empty:
                break
        if drained:
            with self._room:
                self._pending -= len(drained)
                self._room.notify_all()
        return drained

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109 - a wake-up with a bound
        """Until something is queued or `timeout` passes (on the loop given at build)."""
        if self._ready is None:
            await asyncio.sleep(timeout)
            return
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return
        self._ready.clear()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class MatchLog(Protocol):
    """Where each committed batch's matches are written, after the commit: the JSON
    event log (`adminbot.notify.eventlog.EventLog`). The intake only writes to it;
    `close` is for whoever holds the intake and is done with it."""

    def matches(self, found: Sequence[tuple[Match, int]], at: datetime) -> None:
        """One line per match and the incident it went to, stamped `at`."""
        ...

    def close(self) -> None:
        """No more lines will be written."""
        ...


class MoreMatches(Protocol):
    """Matches worked out inside a batch's transaction, whose own writes go with it."""

    def matches(self) -> Sequence[Match]:
        """The matches (called once, in the transaction)."""
        ...

    def undo(self) -> None:
        """The transaction did not commit: forget what `matches` remembered."""
        ...


class Intake:
    """Records matches as incidents and publishes what they did, after the commit."""

    def __init__(
        self,
        store: StoreApi,
        book: IncidentBook,
        events: MatchLog,
        queue: EventQueue,
        *,
        clock: Clock = utcnow,
        redactor: Redactor | None = None,
        on_unrecorded: Callable[[Unrecorded], None] | None = None,
        tally: Tally | None = None,
    ) -> None:
        self.store = store
        self.book = book
        self.events = events
        self.queue = queue
        self.clock = clock
        self.redactor = redactor or Redactor()
        self.on_unrecorded = on_unrecorded
        self.tally = tally
        self.unrecorded_records = 0
        self._lock = threading.Lock()

    def submit(
        self,
        matches: Sequence[Match],
        checkpoint: Checkpoint | None = None,
        lines: int = 0,
        *,
        more: MoreMatches | None = None,
    ) -> list[IncidentEvent]:
        """Record `matches` (and where the tailer stands) in one transaction, with those
        `more` works out and writes in it (new kinds).

        Secrets are hidden first, so the store, the event log and alerts never hold them.
        """
        matches = [self.redactor.match(match) for match in matches]
        now = self.clock()
        extra: list[Match] = []
        with self._lock:
            try:
                with self.store.transaction():
                    extra = [self.redactor.match(m) for m in more.matches()] if more else []
                    recorded = self.book.record_batch([*matches, *extra])
                    if checkpoint is not None:
                        self.store.save_checkpoint(checkpoint, now)
                    self.store.count_lines(now, lines)
                    self._tally(now, recorded)
            except BaseException as exc:
                if more is not None:
                    more.undo()
                if not (isinstance(exc, sqlite3.OperationalError) and is_full(exc)):
                    raise
                if extra:  # their kinds were not kept: the matches would name other kinds
                    self._report_unrecorded(extra)
                recorded = self._submit_in_parts(matches, checkpoint, lines)
            self.events.matches([(e.match, e.incident.id) for e in recorded], now)
            self.queue.put(recorded)
        self.queue.wait_for_room()  # outside the lock: the loop may need it meanwhile
        return recorded

    def _submit_in_parts(
        self, matches: Sequence[Match], checkpoint: Checkpoint | None, lines: int
    ) -> list[IncidentEvent]:
        """The store is full: record what fits, report the rest, and move the checkpoint on.

        If even the checkpoint cannot be written, the tailer still moves past the
        batch; after a restart its lines are read again from the last stored one."""
        recorded, lost = self._record_halves(matches)
        if lost:
            self._report_unrecorded(lost)
        now = self.clock()
        try:
            with self.store.transaction():
                if checkpoint is not None:
                    self.store.save_checkpoint(checkpoint, now)
                self.store.count_lines(now, lines)
                self._tally(now, recorded)
        except sqlite3.OperationalError as exc:
            if not is_full(exc):
                raise
            where = checkpoint.path if checkpoint is not None else "a check"
            logger.warning("Store full: the position in %s is not saved; reading goes on", where)
        return recorded

    def _tally(self, now: datetime, recorded: Sequence[IncidentEvent]) -> None:
        """Count what log lines matched, per rule, for the usual-rate detector."""
        if self.tally is not None:
            self.tally(now, [e.match.rule for e in recorded if e.match.origin is Origin.LOG])

    def _record_halves(self, matches: Sequence[Match]) -> tuple[list[IncidentEvent], list[Match]]:
        """Record `matches` in ever smaller parts; return the events and what fit nowhere."""
        if not matches:
            return [], []
        try:
            with self.store.transaction():
                return self.book.record_batch(matches), []
        except sqlite3.OperationalError as exc:
            if not is_full(exc):
                raise
        if len(matches) == 1:
            return [], list(matches)
        half = len(matches) // 2
        first, lost_first = self._record_halves(matches[:half])
        second, lost_second = self._record_halves(matches[half:])
        return first + second, lost_first + lost_second

    def _report_unrecorded(self, lost: Sequence[Match]) -> None:
        self.unrecorded_records += len(lost)
        by_source: dict[str, list[Match]] = {}
        for match in lost:
            by_source.setdefault(match.record.source, []).append(match)
        for group in by_source.values():
            fact = Unrecorded.of(group)
            logger.error(
                "Store full: %s record(s) of %s, lines %s-%s (%s), could not be recorded",
                fact.records,
                fact.source,
                fact.first_line,
                fact.last_line,
                ", ".join(fact.rules),
            )
            if self.on_unrecorded is not None:
                self.on_unrecorded(fact)

    def raise_incident(
        self,
        origin: Origin,
        rule: str,
        severity: Severity,
        text: str,
        *,
        source: str,
        key: str,
        fields: Mapping[str, str] | None = None,
        host: str = "",
    ) -> IncidentEvent:
        """An incident that no log line announced: a failed check, a dead child.

        `host`: the host it is about, when not this one (a silent host)."""
        record = Record(source=source, line_no=0, text=text, level=severity.value.upper())
        match = Match(rule, severity, record, frozen_map(fields), key, origin, host)
        recorded = self.submit([match])
        if not recorded:
            raise IncidentNotRecorded(f"{rule} incident from {source}: the store is full")
        return recorded[0]

    def resolve_rule(
        self, rule: str, actor: str, note: str, *, key: str | None = None
    ) -> list[Incident]:
        """Every open incident of `rule` (of its `key` only, if given) is over."""
        resolved = []
        for incident in self.store.incidents(
            rule=rule, states=list(OPEN_STATES), host=self.store.host
        ):
            if key is not None and incident.key != key:
                continue
            moved = self.book.move(incident.id, IncidentState.RESOLVED, actor, note)
            if moved is not None:
                resolved.append(moved)
        return resolved
