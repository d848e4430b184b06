"""The classifier stage: lines in, matches out, one record assembler per source.

Records are assembled from the lines the rule set's header filter keeps and
matched by its `matcher.RuleMatcher`; see there for how both are fast.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from adminbot.models import Line, LineBatch, Match, Record
from adminbot.rules.records import HeldRecord, RecordAssembler
from adminbot.rules.ruleset import RuleSet


@dataclass(frozen=True)
class Classified:
    """What one call to the classifier found."""

    matches: list[Match]
    unmatched_errors: list[Record]
    records: int


@dataclass(frozen=True)
class Decided:
    """What `Classifier.decide_texts` found: each matched record with its rule's name,
    the errors no rule matched, and how many records there were."""

    matched: list[tuple[Record, str]]
    unmatched_errors: list[Record]
    records: int


@dataclass
class ClassifierStats:
    """Counters since start, for metrics and /status."""

    lines: int = 0
    records: int = 0
    unmatched_errors: int = 0
    matches: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Snapshot:
    """What `Classifier.restore` puts back: one source's held record, the counters."""

    assembler: RecordAssembler | None
    stats: ClassifierStats


class Classifier:
    """Lines in, matches out: one per process, one record assembler per source.

    Only the lines the ruleset's `HeaderFilter` keeps go through the record
    assembler and the rules; skipped lines still count as records. `fast=False`
    feeds every line, which a test compares. With `keys=False` matches carry no
    fields and no key (only rule and record).
    """

    def __init__(
        self,
        ruleset: RuleSet,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        fast: bool = True,
        keys: bool = True,
        times: bool = True,
    ) -> None:
        self._ruleset = ruleset
        self._monotonic = monotonic
        self._fast = fast
        self._keys = keys
        self._times = times
        self._assemblers: dict[str, RecordAssembler] = {}
        self.stats = ClassifierStats()

    @property
    def ruleset(self) -> RuleSet:
        return self._ruleset

    @ruleset.setter
    def ruleset(self, ruleset: RuleSet) -> None:
        """Swap rules (config reload); records already pending are classified with the new ones."""
        self._ruleset = ruleset

    @property
    def counts(self) -> Mapping[str, int]:
        """Matches per rule since start (every enabled rule present, 0 included)."""
        return {name: self.stats.matches[name] for name in self._ruleset.enabled_names}

    def feed(self, source: str, lines: Sequence[Line]) -> Classified:
        """Classify one batch from the tailer; ends the batch (see `end_of_batch`)."""
        if not lines:
            return self._classify(self._assembler(source).end_of_batch(), 0)
        if isinstance(lines, LineBatch):  # the tailer's: consecutive, texts at hand
            return self.feed_texts(source, lines.texts, lines.first_line_no)
        first = lines[0].line_no
        if lines[-1].line_no - first == len(lines) - 1:
            return self.feed_texts(source, [line.text for line in lines], first)
        assembler = self._assembler(source)
        self.stats.lines += len(lines)
        records = [record for line in lines for record in assembler.feed(line)]
        return self._classify(records + assembler.end_of_batch(), 0)

    def feed_texts(
        self, source: str, texts: Sequence[str], first_line_no: int, joined: str | None = None
    ) -> Classified:
        """Classify consecutive lines given as texts (no `Line` objects needed); `joined`
        is "\\n".join(texts) when the caller has it already."""
        return self._classify(*self._assemble_texts(source, texts, first_line_no, joined))

    def decide_texts(
        self, source: str, texts: Sequence[str], first_line_no: int, joined: str | None = None
    ) -> Decided:
        """`feed_texts` for a caller that needs each record's rule only (check-rules): no
        `Match` is made, a storm's hundred thousand of which cost a tenth of the time."""
        records, skipped = self._assemble_texts(source, texts, first_line_no, joined)
        ruleset = self._ruleset
        rule_name, is_error = ruleset.rule_name, ruleset.is_error
        matched: list[tuple[Record, str]] = []
        unmatched: list[Record] = []
        for record in records:
            rule = rule_name(record)
            if rule is not None:
                matched.append((record, rule))
            elif is_error(record):
                unmatched.append(record)
        total = len(records) + skipped
        self._count([rule for _, rule in matched], unmatched, total)
        return Decided(matched, unmatched, total)

    def _assemble_texts(
        self, source: str, texts: Sequence[str], first_line_no: int, joined: str | None = None
    ) -> tuple[list[Record], int]:
        """The records `feed_texts` would classify, and how many header lines it skipped
        as records no rule needs (counted as records, never classified)."""
        assembler = self._assembler(source)
        self.stats.lines += len(texts)
        needs = self._ruleset.header_filter if self._fast else None
        if joined is None and needs is not None:
            joined = "\n".join(texts)
        block = "\n" + joined if needs is not None and joined is not None else ""
        if needs is None or block.count("\n") != len(texts):
            records = [
                record
                for number, text in enumerate(texts, start=first_line_no)
                for record in assembler.feed_text(text, number)
            ]
            skipped = 0
        else:
            records, skipped = assembler.feed_block(block, texts, first_line_no, needs)
        records.extend(assembler.end_of_batch())
        return records, skipped

    def snapshot(self, source: str) -> Snapshot:
        """A copy of what `source` holds back and of the counters, to undo a batch the
        store did not take."""
        assembler = self._assemblers.get(source)
        held = None if assembler is None else copy.deepcopy(assembler)
        return Snapshot(held, copy.deepcopy(self.stats))

    def restore(self, source: str, snapshot: Snapshot) -> None:
        """Hold back again what `snapshot` held, and count as then: the same lines will
        be fed once more (and must not be counted twice in the session's summary)."""
        if snapshot.assembler is None:
            self._assemblers.pop(source, None)
        else:
            self._assemblers[source] = snapshot.assembler
        counted = snapshot.stats
        self.stats.lines, self.stats.records = counted.lines, counted.records
        self.stats.unmatched_errors = counted.unmatched_errors
        self.stats.matches = counted.matches

    def hold_again(self, source: str, snapshot: Snapshot, flushed: Classified) -> None:
        """After `flush_stale` gave `flushed`, hold back again the record `snapshot` held of
        `source` (its store was lost), and count no more what the flush counted of it."""
        if snapshot.assembler is None:
            return
        self._assemblers[source] = snapshot.assembler
        self.stats.records -= 1  # a flush emits one record a source: the one it held
        for match in flushed.matches:
            if match.record.source == source:
                self.stats.matches[match.rule] -= 1
        errors = sum(1 for record in flushed.unmatched_errors if record.source == source)
        self.stats.unmatched_errors -= errors

    def held(self, source: str) -> HeldRecord | None:
        """What `source`'s assembler holds back, for a worker to go on from."""
        assembler = self._assemblers.get(source)
        return assembler.held() if assembler is not None else None

    def take(self, source: str, done: Classified, lines: int, held: HeldRecord | None) -> None:
        """Adopt a batch of `source` that a worker classified from `held(source)`: count it
        as `feed` would have, and hold back what the worker held after it."""
        self.stats.lines += lines
        self._count([match.rule for match in done.matches], done.unmatched_errors, done.records)
        self.hold(source, held)

    def hold(self, source: str, held: HeldRecord | None) -> None:
        """Hold back `held` for `source`, in place of what its assembler holds."""
        if held is None:
            self._assemblers.pop(source, None)
        else:
            self._assembler(source).hold(held)

    def holding(self) -> list[str]:
        """The sources with a record held back."""
        return [source for source, held in self._assemblers.items() if held.has_pending]

    def held_line(self, source: str) -> int | None:
        """Line number where the record held back for `source` starts (its position must
        not be saved as read until the record is emitted)."""
        assembler = self._assemblers.get(source)
        return assembler.pending_line_no if assembler is not None else None

    def flush_stale(self, older_than: float = 1.0) -> Classified:
        """Emit records held back (an unfinished traceback) for `older_than` seconds."""
        now = self._monotonic()
        records = [r for a in self._assemblers.values() for r in a.flush_stale(older_than, now)]
        return self._classify(records, 0)

    def flush(self, source: str | None = None) -> Classified:
        """Emit pending records of one source (rotated, removed) or of all (shutdown)."""
        if source is not None:
            assembler = self._assemblers.pop(source, None)
            return self._classify(assembler.flush() if assembler else [], 0)
        records = [r for a in self._assemblers.values() for r in a.flush()]
        self._assemblers.clear()
        return self._classify(records, 0)

    def _assembler(self, source: str) -> RecordAssembler:
        assembler = self._assemblers.get(source)
        if assembler is None:
            assembler = self._assemblers[source] = RecordAssembler(
                source, monotonic=self._monotonic, times=self._times
            )
        return assembler

    def _classify(self, records: list[Record], skipped: int) -> Classified:
        matches: list[Match] = []
        unmatched: list[Record] = []
        ruleset = self._ruleset
        classify = ruleset.classify
        keys = self._keys
        for record in records:
            match = classify(record, keys=keys)
            if match is not None:
                matches.append(match)
            elif ruleset.is_error(record):
                unmatched.append(record)
        total = len(records) + skipped
        self._count([match.rule for match in matches], unmatched, total)
        return Classified(matches, unmatched, total)

    def _count(self, rules: list[str], unmatched: list[Record], records: int) -> None:
        self.stats.matches.update(rules)
        self.stats.unmatched_errors += len(unmatched)
        self.stats.records += records
