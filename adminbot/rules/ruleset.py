"""Classify log records into matches: which error type, which fields, which incident key.

Second stage of the pipeline (sources → rules → incidents). A `Rule` is a
case-insensitive regex plus what to do with its matches; `RuleSet.classify`
decides for one record; `Classifier` is what the monitor calls with each batch
of lines, and it keeps per-source `RecordAssembler`s and a fast path.

Precedence when several rules could match one record: the record's final
exception line (`PermissionError: [Errno 13] ...`) decides first, then its
message (first line, header removed), then its other lines top to bottom
(frames and source lines are never looked at). For one text, rules are tried in
order: custom rules that add a new name first, then the built-ins in
`builtin.SEEDS` order (disco_lleno, servidor_caido, permisos,
ruta_inexistente, corrupto, timeout); a custom rule that reuses a built-in's
name takes its place.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from adminbot.models import Line, Match, Record, frozen_map
from adminbot.rules.builtin import SEEDS
from adminbot.rules.fields import extract_fields, incident_key
from adminbot.rules.loader import NAME_RE, build_rulebook, rule_from_table
from adminbot.rules.records import (
    LEVEL_RANK,
    TRACEBACK_START,
    RecordAssembler,
    RecordParts,
    candidate_lines,
    skippable_header_scan,
    split_record,
)
from adminbot.rules.spec import DEFAULT_MIN_LEVEL, RuleBook, RuleSpec

__all__ = [
    "DEFAULT_MIN_LEVEL",
    "NAME_RE",
    "Classified",
    "Classifier",
    "Rule",
    "RuleSet",
    "build_ruleset",
    "builtin_rules",
    "rule_from_table",
    "ruleset_of",
]

logger = logging.getLogger(__name__)

_ERROR_LEVELS = frozenset({"ERROR", "CRITICAL"})
_SKIPPABLE_LEVELS = ("DEBUG", "INFO")


Rule = RuleSpec
"""The classifier's name for a spec; see `adminbot.rules.spec`."""


def builtin_rules() -> list[Rule]:
    """The six seed error types, in precedence order."""
    return list(SEEDS)


# --- the rule set ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: Rule
    regex: re.Pattern[str]
    keywords: tuple[str, ...]

    @classmethod
    def of(cls, rule: Rule) -> _Compiled:
        keywords = tuple(word.casefold() for word in rule.keywords)
        return cls(rule, re.compile(rule.pattern, re.IGNORECASE), keywords)


class RuleSet:
    """Rules compiled once; decides which rule, if any, a record matches."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        seen: set[str] = set()
        for rule in rules:
            if rule.name in seen:
                raise ValueError(f"duplicate rule name {rule.name!r}")
            seen.add(rule.name)
        self._rules = tuple(rules)
        active = [_Compiled.of(rule) for rule in rules if rule.enabled]
        self._active = tuple(active)
        self._by_level = {
            level: tuple(c for c in active if c.rule.accepts_level(level))
            for level in (None, *LEVEL_RANK)
        }
        self._gates = {level: _any_keyword(rules) for level, rules in self._by_level.items()}
        self._scan, self._keyword_scan = self._prefilter()

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule given, enabled or not, in precedence order."""
        return self._rules

    @property
    def enabled_names(self) -> list[str]:
        return [c.rule.name for c in self._active]

    def get(self, name: str) -> Rule | None:
        return next((r for r in self._rules if r.name == name), None)

    @property
    def skip_scan(self) -> re.Pattern[str] | None:
        """Finds every line the fast path must look at (see `Classifier`)."""
        return self._scan

    @property
    def keyword_scan(self) -> re.Pattern[str] | None:
        """Finds skippable-level lines that a low-`min_level` rule might still match."""
        return self._keyword_scan

    def is_error(self, record: Record) -> bool:
        """ERROR/CRITICAL records and header-less tracebacks: what an admin must hear about."""
        if record.level is None:
            return TRACEBACK_START in record.text
        return record.level in _ERROR_LEVELS

    def classify(self, record: Record) -> Match | None:
        """The first rule matching the record's texts in precedence order, as a Match."""
        candidates = self._by_level.get(record.level, ())
        if not candidates:
            return None
        gate = self._gates.get(record.level)
        if gate is not None and not gate.search(record.text.casefold()):
            return None  # no keyword of any rule anywhere in the record
        if record.level is None and not ERROR_EVIDENCE.search(record.text):
            return None  # a bare print that mentions "timeout" is not an error
        parts = split_record(record.text)
        for text in _texts_in_order(parts):
            folded = text.casefold()
            for compiled in candidates:
                # Keywords are a cheap, sound gate: every match contains one.
                if compiled.keywords and not any(map(folded.__contains__, compiled.keywords)):
                    continue
                found = compiled.regex.search(text)
                if found:
                    return self._match(compiled.rule, found, text, parts, record)
        return None

    def _match(
        self, rule: Rule, found: re.Match[str], text: str, parts: RecordParts, record: Record
    ) -> Match:
        fields = extract_fields(found, [text, *_texts_in_order(parts)])
        key = incident_key(rule.key_fields, fields, text)
        return Match(rule.name, rule.severity, record, frozen_map(fields), key)

    def _prefilter(self) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
        """Which header levels the fast path may skip, and which keywords rescue lines.

        Only DEBUG and INFO are ever skipped (WARNING and above are rare, and
        ERROR/CRITICAL must reach `unmatched_errors`), and only when every rule
        that looks at that level has keywords; lines holding one are looked at.
        """
        skippable = {
            level
            for level in _SKIPPABLE_LEVELS
            if all(c.rule.keywords for c in self._by_level[level])
        }
        words = sorted(
            {word for level in skippable for c in self._by_level[level] for word in c.rule.keywords}
        )
        keyword_scan = (
            re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if words else None
        )
        return skippable_header_scan(skippable), keyword_scan


def _any_keyword(rules: Sequence[_Compiled]) -> re.Pattern[str] | None:
    """One regex finding any keyword of these rules, or None if one rule has none.

    Sound as a gate: a rule matches only texts holding one of its keywords, and
    every text a rule sees is part of the record.
    """
    if not rules or not all(c.keywords for c in rules):
        return None
    words = sorted({word for c in rules for word in c.keywords}, key=len)
    return re.compile("|".join(re.escape(word) for word in words))


ERROR_EVIDENCE = re.compile(
    r"Traceback \(most recent call last\)|\w(?:Error|Exception|Exit)\b|\[Errno -?\d+\]"
    r"|\b(?:errors?|fail(?:s|ed|ure)?|fatal|denied|refused|cannot|can't|unable|no such"
    r"|not\s+found|not\s+permitted|no\s+space|timed\s+out|invalid|corrupt(?:ed)?(?!-)|full"
    r"|unreachable|down|no\s+permitid[oa]"
    r"|fall[óo]|fallid[oa]|no\s+se\s+pud[oa]|no\s+se\s+puede|denegad[oa]|rechazad[oa]"
    r"|agotad[oa]|no\s+existe|no\s+queda|sin\s+espacio|corrupt[oa]|inv[áa]lid[oa]|ca[íi]d[oa])\b",
    re.IGNORECASE,
)
"""What a header-less line (stdout/stderr of the pipeline) must show to be an error at
all: without a log level, only an exception, an errno or an error word says so."""


def _texts_in_order(parts: RecordParts) -> list[str]:
    texts = [parts.exception] if parts.exception else []
    texts.append(parts.message)
    texts.extend(parts.others)
    return texts


def build_ruleset(custom: Sequence[Rule] = (), disabled: Collection[str] = ()) -> RuleSet:
    """Built-ins plus custom rules: a custom rule replaces the built-in of the same
    name, new custom rules go first, and `disabled` names are dropped."""
    return ruleset_of(build_rulebook(custom, disabled))


def ruleset_of(book: RuleBook) -> RuleSet:
    """The rules of a book that log lines can raise, compiled for the classifier."""
    return RuleSet(book.classifying)


# --- the classifier stage ----------------------------------------------------------


@dataclass(frozen=True)
class Classified:
    """What one call to the classifier found."""

    matches: list[Match]
    unmatched_errors: list[Record]
    records: int


@dataclass
class ClassifierStats:
    """Counters since start, for metrics and /status."""

    lines: int = 0
    records: int = 0
    unmatched_errors: int = 0
    matches: Counter[str] = field(default_factory=Counter)


class Classifier:
    """Lines in, matches out: one per process, one record assembler per source.

    Fast path: 98% of lines are INFO/DEBUG headers that no rule can match. The
    batch is joined into one text and one regex finds the lines that are NOT
    such headers (plus lines holding a keyword of a rule that looks at low
    levels); only those, each with the line before it, go through the record
    assembler and the rules. Skipped lines are still counted as records. The
    result is the same as feeding every line (`fast=False`), which a test checks.
    """

    def __init__(
        self,
        ruleset: RuleSet,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        fast: bool = True,
    ) -> None:
        self._ruleset = ruleset
        self._monotonic = monotonic
        self._fast = fast
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
        assembler = self._assembler(source)
        self.stats.lines += len(lines)
        ruleset = self._ruleset
        scan = ruleset.skip_scan if self._fast else None
        candidates = candidate_lines(lines, scan, ruleset.keyword_scan) if scan else None
        if candidates is None:
            records = [record for line in lines for record in assembler.feed(line)]
            skipped = 0
        else:
            records, skipped = assembler.feed_candidates(lines, candidates)
        records.extend(assembler.end_of_batch())
        return self._classify(records, skipped)

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
                source, monotonic=self._monotonic
            )
        return assembler

    def _classify(self, records: list[Record], skipped: int) -> Classified:
        matches: list[Match] = []
        unmatched: list[Record] = []
        ruleset = self._ruleset
        for record in records:
            match = ruleset.classify(record)
            if match is not None:
                matches.append(match)
                self.stats.matches[match.rule] += 1
            elif ruleset.is_error(record):
                unmatched.append(record)
        total = len(records) + skipped
        self.stats.records += total
        self.stats.unmatched_errors += len(unmatched)
        return Classified(matches, unmatched, total)
