"""The first stages in one place: tailer → classifier → intake.

`Monitor.handle_batch` is the tailer's sink. The intake records a batch's incidents
and the file checkpoint in one transaction, so a restart neither loses nor repeats a
line; everything that follows from an incident happens after that commit.

Big batches are classified one ahead in a worker process (`adminbot.rules.ahead`),
while the batch before is stored: the tailer tells `prepare` of each batch first.

A record the classifier holds back (its traceback is not finished) has not been
emitted yet, so the checkpoint saved with its batch is pulled back to the record's
first line: a restart reads it again whole. The tailer keeps its own position in
memory, so within one run nothing is delivered twice; the position past the record
is saved when the record is finally emitted.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from adminbot.clock import Clock, utcnow
from adminbot.config import Config
from adminbot.incidents.intake import Intake
from adminbot.kinds.miner import KindMiner
from adminbot.models import Checkpoint, Line, Match, Record
from adminbot.rules.ahead import MIN_BYTES, ClassifyAhead
from adminbot.rules.classifier import Classified, Classifier, ClassifierStats
from adminbot.rules.ruleset import RuleSet
from adminbot.rules.source import RuleSource
from adminbot.store.api import StoreApi
from adminbot.store.errors import StoreUnreachable
from adminbot.store.sqlite import host_key
from adminbot.tail.tailer import Tailer, WatchedFile

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "last_alive"


@dataclass(frozen=True, slots=True)
class HeldStart:
    """Where a held-back record begins: its file, its first byte and its first line's number."""

    device: int
    inode: int
    offset: int
    line_no: int


class Monitor:
    """Owns the tailer and the classifier; hands every batch's matches to the intake."""

    def __init__(
        self,
        config: Config,
        store: StoreApi,
        intake: Intake,
        rules: RuleSource,
        *,
        clock: Clock = utcnow,
        on_lines: Callable[[str, int], None] | None = None,
        kinds: KindMiner | None = None,
        ahead: bool | None = None,
        ahead_min_bytes: int = MIN_BYTES,
    ) -> None:
        self.config = config
        self.kinds = kinds
        self.on_lines = on_lines
        self.store = store
        self.intake = intake
        self.clock = clock
        self.rules = rules
        self._alive_key = host_key(HEARTBEAT_KEY, store.host)  # each host's own
        self.classifier = Classifier(rules.ruleset)
        if ahead is None:
            ahead = config.watch.classify_process and _cores() > 1
        self.ahead = ClassifyAhead(self.classifier, min_bytes=ahead_min_bytes) if ahead else None
        self._own_files = {config.event_log.name, config.monitor_log.name}
        self._lock = threading.Lock()  # the classifier is fed by the tailer and the timer
        self._held: dict[str, HeldStart] = {}  # by source: the record not emitted yet
        self._ahead: dict[str, Checkpoint] = {}  # by source: the real position, not yet saved
        self._in_doubt: set[str] = set()  # sources whose last batch met a lost store
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
            rotate_grace_seconds=watch.close_inactive,
            on_problem=self._on_problem,
            clock=self.clock,
            prepare=self.prepare if self.ahead is not None else None,
        )

    def _resume_since(self) -> datetime | None:
        alive = self.store.get_meta(self._alive_key)
        return datetime.fromisoformat(alive) if alive else self.store.last_checkpoint_at()

    def start(self) -> None:
        self.heartbeat()
        self.tailer.start()

    def stop(self) -> None:
        self.tailer.stop()
        with self._lock:
            if self.ahead is not None:
                self.ahead.close()
            self._sync_rules()
            self._release(self.classifier.flush(), set())
        self.heartbeat()

    def heartbeat(self) -> None:
        """Remember when we were last alive: files first seen after a restart that
        changed since then were written while we were down and are read in full."""
        self.store.set_meta(self._alive_key, self.clock().isoformat())

    def prepare(self, path: str, lines: Sequence[Line]) -> None:
        """The tailer's look ahead: the next batch may be classified while this one is stored."""
        if self.ahead is None or self._is_own_file(path):
            return
        with self._lock:
            self._sync_rules()
            self.ahead.prepare(path, lines)

    def handle_batch(self, path: str, lines: Sequence[Line], checkpoint: Checkpoint) -> None:
        """The tailer's sink: classify, then persist effects and checkpoint together."""
        if self._is_own_file(path):
            self.store.save_checkpoint(checkpoint, self.clock())
            return
        with self._lock:
            self._sync_rules()
            before = self.classifier.snapshot(path)
            try:
                classified = self._classify(path, lines)
                if path in self._in_doubt and self._stored_already(path, checkpoint):
                    self._in_doubt.discard(path)
                    return  # its effects are stored: only move on
                saved = self._hold_back(path, lines, checkpoint)
                more = self._new_kinds(classified.unmatched_errors)
                self.intake.submit(classified.matches, saved, len(lines), more=more)
            except BaseException as exc:
                # The tailer offers these lines again (and reads those after them anew):
                # the classifier must see them as if for the first time (a full disk
                # refuses a batch as a lost server does).
                self.classifier.restore(path, before)
                if self.ahead is not None:
                    self.ahead.forget()
                if isinstance(exc, StoreUnreachable):
                    self._in_doubt.add(path)
                raise
            self._in_doubt.discard(path)
        if self.on_lines is not None:
            self.on_lines(path, len(lines))

    def _stored_already(self, path: str, checkpoint: Checkpoint) -> bool:
        """Whether a batch whose commit was cut off by a lost connection did commit:
        the stored position is already at its end (then it must not be stored twice)."""
        stored = self.store.load_checkpoints().get(path)
        if stored is None or (stored.device, stored.inode) != (checkpoint.device, checkpoint.inode):
            return False
        if stored.offset >= checkpoint.offset:
            logger.info(
                "%s: the batch up to byte %s was stored before the store was lost",
                path,
                checkpoint.offset,
            )
            return True
        return False

    def flush_stale(self, older_than: float = 1.0) -> None:
        """Emit records held back waiting for a traceback's end (called on a timer).

        The tailer has moved past their lines and will not offer them again: when the
        store is lost meanwhile, what was not stored is held again for the next call."""
        with self._lock:
            if self.ahead is not None and self.ahead.busy:
                return  # the held records go on in batches read already; they come next
            self._sync_rules()
            held = {path: self.classifier.snapshot(path) for path in self.classifier.holding()}
            flushed = self.classifier.flush_stale(older_than)
            stored: set[str] = set()
            try:
                self._release(flushed, stored)
            except StoreUnreachable:
                for path in held.keys() - set(self.classifier.holding()) - stored:
                    self.classifier.hold_again(path, held[path], flushed)
                raise

    @property
    def ruleset(self) -> RuleSet:
        """The compiled rules the classifier uses now."""
        return self.classifier.ruleset

    def _sync_rules(self) -> None:
        """Classify with the rules in force: a rule made in the chat applies from the next batch
        (called under the lock, so a batch is never classified half with the old rules)."""
        current = self.rules.ruleset
        if current is not self.classifier.ruleset:
            self.classifier.ruleset = current

    def _hold_back(self, path: str, lines: Sequence[Line], checkpoint: Checkpoint) -> Checkpoint:
        """The checkpoint to save: never past the first line of a record not yet emitted."""
        held_no = self.classifier.held_line(path)
        if held_no is None:
            self._held.pop(path, None)
            self._ahead.pop(path, None)
            return checkpoint
        line = _numbered(lines, held_no)
        start = self._held.get(path)
        if line is not None:
            start = HeldStart(checkpoint.device, checkpoint.inode, line.offset, held_no)
            self._held[path] = start
        elif start is None or start.line_no != held_no:
            logger.debug("held record of %s at line %d has no known offset", path, held_no)
            self._held.pop(path, None)
            return checkpoint
        if (start.device, start.inode) != (checkpoint.device, checkpoint.inode):
            return checkpoint  # this batch is from another file (a rotation): its own position
        self._ahead[path] = checkpoint
        return replace(checkpoint, offset=start.offset, line_no=start.line_no - 1)

    def _release(self, classified: Classified, stored: set[str]) -> None:
        """Store records that were held back, each source with the position past its
        record and its new kinds; `stored` gets the sources whose records were stored."""
        matches: defaultdict[str, list[Match]] = defaultdict(list)
        errors: defaultdict[str, list[Record]] = defaultdict(list)
        for match in classified.matches:
            matches[match.record.source].append(match)
        for record in classified.unmatched_errors:
            errors[record.source].append(record)
        for path in [p for p in self._ahead if self.classifier.held_line(p) is None]:
            more = self._new_kinds(errors.pop(path, []))
            self.intake.submit(matches.pop(path, []), self._ahead[path], more=more)
            del self._ahead[path]
            self._held.pop(path, None)
            stored.add(path)
        rest = [match for found in matches.values() for match in found]
        unmatched = [record for found in errors.values() for record in found]
        if rest or unmatched:
            self.intake.submit(rest, more=self._new_kinds(unmatched))
        stored.update(matches, errors)

    def _classify(self, path: str, lines: Sequence[Line]) -> Classified:
        """The worker's classification of a prepared batch, or the classifier's own."""
        if self.ahead is not None:
            done = self.ahead.result(path, lines)
            if done is not None:
                return done
        return self.classifier.feed(path, lines)

    def _new_kinds(self, errors: list[Record]) -> _NewKinds | None:
        return _NewKinds(self.kinds, errors) if self.kinds is not None and errors else None

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


def _cores() -> int:
    """The CPUs this process may run on: a worker process only helps with two."""
    if hasattr(os, "sched_getaffinity"):  # Linux: the CPUs this process is allowed
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class _NewKinds:
    """A batch's new kinds, mined and stored in the batch's own transaction: a batch
    the store does not take leaves no kind behind to be counted twice when read again."""

    miner: KindMiner
    errors: list[Record]

    def matches(self) -> list[Match]:
        return self.miner.mine(self.errors)

    def undo(self) -> None:
        self.miner.forget()


def _numbered(lines: Sequence[Line], line_no: int) -> Line | None:
    """The line of a batch with this number (batches are usually consecutive)."""
    if lines:
        index = line_no - lines[0].line_no
        if 0 <= index < len(lines) and lines[index].line_no == line_no:
            return lines[index]
    return next((line for line in reversed(lines) if line.line_no == line_no), None)
