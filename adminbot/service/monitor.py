"""The first stages in one place: tailer → classifier → intake.

`Monitor.handle_batch` is the tailer's sink. The intake records a batch's incidents
and the file checkpoint in one transaction, so a restart neither loses nor repeats a
line; everything that follows from an incident happens after that commit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from adminbot.clock import Clock, utcnow
from adminbot.config import Config
from adminbot.incidents.intake import Intake
from adminbot.kinds.miner import KindMiner
from adminbot.models import Checkpoint, Line
from adminbot.rules.ruleset import Classified, Classifier, ClassifierStats, RuleSet
from adminbot.store.sqlite import Store
from adminbot.tail.tailer import Tailer, WatchedFile

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "last_alive"


class Monitor:
    """Owns the tailer and the classifier; hands every batch's matches to the intake."""

    def __init__(
        self,
        config: Config,
        store: Store,
        intake: Intake,
        ruleset: RuleSet,
        *,
        clock: Clock = utcnow,
        on_lines: Callable[[str, int], None] | None = None,
        kinds: KindMiner | None = None,
    ) -> None:
        self.config = config
        self.kinds = kinds
        self.on_lines = on_lines
        self.store = store
        self.intake = intake
        self.clock = clock
        self.ruleset = ruleset
        self.classifier = Classifier(ruleset)
        self._own_files = {config.event_log.name, config.monitor_log.name}
        self._lock = threading.Lock()  # the classifier is fed by the tailer and the timer
        self.tailer = self._build_tailer()

    @property
    def stats(self) -> ClassifierStats:
        """Lines, records and matches since this process started."""
        return self.classifier.stats

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
            self._submit(self.classifier.flush())
        self.heartbeat()

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
            self._submit(self.classifier.feed(path, lines), checkpoint, len(lines))
        if self.on_lines is not None:
            self.on_lines(path, len(lines))

    def flush_stale(self, older_than: float = 1.0) -> None:
        """Emit records held back waiting for a traceback's end (called on a timer)."""
        with self._lock:
            self._submit(self.classifier.flush_stale(older_than))

    def _submit(
        self, classified: Classified, checkpoint: Checkpoint | None = None, lines: int = 0
    ) -> None:
        """Matches, and those of new kinds among the errors no rule knows, to the intake."""
        matches = classified.matches
        if self.kinds is not None and classified.unmatched_errors:
            matches = matches + self.kinds.mine(classified.unmatched_errors)
        self.intake.submit(matches, checkpoint, lines)

    def _on_problem(self, path: str, problem: str | None) -> None:
        if problem is None:
            logger.info("Watching %s again", path)
        else:
            logger.warning("Cannot read %s: %s", path, problem)

    def _is_own_file(self, path: str) -> bool:
        candidate = Path(path)
        return candidate.parent == self.config.data_dir and any(
            candidate.name.startswith(name) for name in self._own_files
        )

    def tailer_alive(self) -> bool:
        return self.tailer.running

    def watched(self) -> list[WatchedFile]:
        return self.tailer.status()
