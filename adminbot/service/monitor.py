"""The pipeline in one place: tailer → classifier → incident book → outbox/listeners → store.

`Monitor.handle_batch` is the tailer's sink. It records a batch's incidents, their
outbox rows and the file checkpoint in one transaction, so a restart neither loses
nor repeats a line.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from adminbot.clock import Clock, utcnow
from adminbot.config import Config
from adminbot.errors import ConfigError
from adminbot.incidents.book import EventKind, IncidentBook, IncidentEvent
from adminbot.models import Checkpoint, Line, Match, Policy, Record, Severity, frozen_map
from adminbot.notify.eventlog import EventLog
from adminbot.notify.outbox import Outbox
from adminbot.rules.ruleset import Classifier, RuleSet, build_ruleset, rule_from_table
from adminbot.store.sqlite import Store
from adminbot.tail.tailer import Tailer, WatchedFile

logger = logging.getLogger(__name__)

Listener = Callable[[IncidentEvent], None]
ProblemListener = Callable[[str, str | None], None]

HEARTBEAT_KEY = "last_alive"


def load_ruleset(config: Config) -> RuleSet:
    """Built-in rules plus the config's [[rules]], minus disabled ones and with policies."""
    custom = []
    for index, table in enumerate(config.rules):
        try:
            custom.append(rule_from_table(table, index))
        except ConfigError as exc:
            raise ConfigError(exc.key, exc.message, config.source) from None
    return build_ruleset(custom, config.disabled_rules)


@dataclass
class SessionStats:
    """Counters since this process started (the store answers for longer periods)."""

    started_at: datetime
    lines: int = 0
    records: int = 0
    matches: Counter[str] = field(default_factory=Counter)
    opened: Counter[str] = field(default_factory=Counter)
    unmatched_errors: int = 0


class Monitor:
    """Owns the tailer and classifier; feeds incidents to the store, outbox and listeners."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        ruleset: RuleSet | None = None,
        outbox: Outbox | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.ruleset = ruleset or load_ruleset(config)
        self.classifier = Classifier(self.ruleset)
        self.book = IncidentBook(store, clock)
        self.outbox = outbox
        self.router: Listener | None = outbox.incident_event if outbox is not None else None
        self.events = EventLog(config.event_log)
        self.listeners: list[Listener] = []
        self.problem_listeners: list[ProblemListener] = []
        self.batch_listeners: list[Callable[[str, int], None]] = []
        self.stats = SessionStats(started_at=clock())
        self._lock = threading.Lock()
        self._own_files = {config.event_log.name, config.monitor_log.name}
        self.tailer = self._build_tailer()

    def _build_tailer(self) -> Tailer:
        watch = self.config.watch
        patterns: Sequence[str] = watch.patterns or (str(self.config.demo_log),)
        return Tailer(
            patterns,
            self.handle_batch,
            self.store.load_checkpoints(),
            resume_since=self._resume_since(),
            from_beginning=watch.from_beginning,
            polling=watch.polling,
            poll_interval=watch.poll_interval,
            backstop_seconds=watch.backstop_seconds,
            on_problem=self._on_problem,
            clock=self.clock,
        )

    def _resume_since(self) -> datetime | None:
        alive = self.store.get_meta(HEARTBEAT_KEY)
        return datetime.fromisoformat(alive) if alive else self.store.last_checkpoint_at()

    def start(self) -> None:
        self.heartbeat()
        self.tailer.start()

    def stop(self) -> None:
        self.tailer.stop()
        with self._lock:
            self._commit(self.classifier.flush().matches, None, 0)
        self.heartbeat()
        self.events.close()

    def heartbeat(self) -> None:
        """Remember when we were last alive: files first seen after a restart that
        changed since then were written while we were down and are read in full."""
        self.store.set_meta(HEARTBEAT_KEY, self.clock().isoformat())

    def handle_batch(self, path: str, lines: list[Line], checkpoint: Checkpoint) -> None:
        """The tailer's sink: classify, then persist effects and checkpoint together."""
        if self._is_own_file(path):
            self.store.save_checkpoint(checkpoint, self.clock())
            return
        with self._lock:
            classified = self.classifier.feed(path, lines)
            self.stats.lines += len(lines)
            self.stats.records += classified.records
            self.stats.unmatched_errors += len(classified.unmatched_errors)
            self._commit(classified.matches, checkpoint, len(lines))
        for listener in self.batch_listeners:
            listener(path, len(lines))

    def flush_stale(self, older_than: float = 1.0) -> None:
        """Emit records held back waiting for a traceback's end (called on a timer)."""
        with self._lock:
            classified = self.classifier.flush_stale(older_than)
            self.stats.records += classified.records
            self._commit(classified.matches, None, 0)

    def raise_incident(
        self,
        rule: str,
        severity: Severity,
        text: str,
        *,
        source: str,
        key: str,
        fields: Mapping[str, str] | None = None,
    ) -> None:
        """Record an incident that no log line announced (a failed check, a dead child)."""
        record = Record(source=source, line_no=0, text=text, level="CRITICAL")
        match = Match(rule, severity, record, frozen_map(fields), key)
        with self._lock:
            self._commit([match], None, 0)

    def _commit(self, matches: list[Match], checkpoint: Checkpoint | None, lines: int) -> None:
        now = self.clock()
        with self.store.transaction():
            events = self.book.record_batch(matches)
            if self.router is not None:
                for event in events:
                    self.router(event)
            if checkpoint is not None:
                self.store.save_checkpoint(checkpoint, now)
            self.store.count_lines(now, lines)
        for event in events:
            self._publish(event, now)

    def _publish(self, event: IncidentEvent, now: datetime) -> None:
        self.stats.matches[event.match.rule] += 1
        if event.kind is EventKind.OPENED:
            self.stats.opened[event.match.rule] += 1
        self.events.match(event.match, event.incident.id, now)
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not stop the tailer
                logger.exception("Incident listener %r failed", listener)

    def _on_problem(self, path: str, problem: str | None) -> None:
        if problem is None:
            logger.info("Watching %s again", path)
        else:
            logger.warning("Cannot read %s: %s", path, problem)
        for listener in self.problem_listeners:
            listener(path, problem)

    def _is_own_file(self, path: str) -> bool:
        candidate = Path(path)
        return candidate.parent == self.config.data_dir and any(
            candidate.name.startswith(name) for name in self._own_files
        )

    def ruleset_policies(self) -> dict[str, Policy]:
        return {rule.name: rule.policy for rule in self.ruleset.rules}

    def tailer_alive(self) -> bool:
        return self.tailer.running

    def watched(self) -> list[WatchedFile]:
        return self.tailer.status()
