"""Which rule a record matches, fast on quiet logs and on error storms.

The matcher (`RuleMatcher`) and the header filter it feeds (`header_filter`) are
the classifier's speed; `classifier.Classifier` is the stage that uses them. Two
things make it fast while giving exactly what the straightforward algorithm
gives (`adminbot.rules.reference`, which a test compares record by record):

1. One regex pass over the whole batch (`headers.block_scan`) finds the lines that
   matter and parses the header lines among them: it never even finds INFO/DEBUG
   headers no rule looks at, and headers at a level some rules look at below ERROR
   (WARNING) are skipped when, alone as a one-line record, they match no rule (the
   matcher decides that once per line without its time: a pipeline repeats its
   request lines). A header followed by a header is a one-line record at once;
   only tracebacks and stderr lines go through the line-by-line assembler.
2. Rules are matched on the lower-cased text, case-sensitively, one top-level
   alternative at a time and only when the text holds one string of each set
   that alternative requires (`required_sets`: both "disk" and "full" for a
   disk-full pattern); which of those strings a text holds is found in one pass
   (`gate.LiteralGate`). This is what `re.IGNORECASE` would find whenever
   lower-casing is a one-to-one map of characters that `re` folds the same way
   (`lowered`) and the pattern has no upper-case letters, flags or escapes that
   would change meaning (`literals.lowerable`); anything else takes the
   `re.IGNORECASE` path.

Fields and the incident key are only extracted for records that matched, and
not at all when the caller needs only rule and line (`check-rules --json`).

The header filter and the literal-gated matcher are the two halves of one speed
trick and are checked together against the reference classifier; what a pattern
requires is read in `adminbot.rules.literals`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from adminbot.models import Record, RecordParts
from adminbot.rules.fields import _top_level_branches
from adminbot.rules.gate import LiteralGate
from adminbot.rules.headers import LEVEL_RANK, HeaderFilter, header_level_and_message, header_tail
from adminbot.rules.literals import SPECIAL_FOLDS, lowerable, required_literals, required_sets
from adminbot.rules.records import split_record
from adminbot.rules.spec import RuleSpec as Rule

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

_UNSAFE_TEXT = re.compile(f"[{SPECIAL_FOLDS}]")  # a text holding one is matched the slow way
_SKIPPABLE_LEVELS = ("DEBUG", "INFO", "WARNING")
_MAX_DECIDED = 10_000
_MAX_HEADERS = 5_000  # whole lines: fewer, so a long quiet run stays small
_NEVER_SKIPPED = frozenset({"ERROR", "CRITICAL"})


def lowered(text: str) -> str | None:
    """`text.lower()` when it maps characters one to one as `re.IGNORECASE` folds them."""
    low = text.lower()
    if len(low) != len(text) or (not text.isascii() and _UNSAFE_TEXT.search(text)):
        return None
    return low


Branches = tuple[tuple[tuple[int, ...], re.Pattern[str]], ...]
"""Per top-level alternative of a pattern: the masks of the sets of strings it needs one
of each of (a `LiteralGate`'s bits), and its regex for lower-cased text."""


@dataclass(frozen=True, slots=True)
class _FastRule:
    """One rule, compiled both ways: for lower-cased text and as written."""

    rule: Rule
    regex: re.Pattern[str]  # as written, IGNORECASE: the reference and the fields
    folded_keywords: tuple[str, ...]  # for the IGNORECASE path (casefold)
    keyword_mask: int  # for the lower-cased path: one of its keywords (0: no gate)
    branches: Branches | None  # None: the pattern is only matched as written

    @classmethod
    def of(cls, rule: Rule, gate: LiteralGate) -> _FastRule:
        if rule.pattern is None:
            raise ValueError(f"rule {rule.name!r} has no pattern to classify with")
        branches = _branches(rule.pattern)
        return cls(
            rule,
            re.compile(rule.pattern, re.IGNORECASE),
            tuple(word.casefold() for word in rule.keywords),
            gate.mask(_lowered_keywords(rule)),
            None
            if branches is None
            else tuple(
                (tuple(m for m in map(gate.mask, sets) if m), regex) for sets, regex in branches
            ),
        )


def _lowered_keywords(rule: Rule) -> tuple[str, ...]:
    return tuple(word.lower() for word in rule.keywords)


def _literals(rules: Sequence[Rule]) -> list[str]:
    """Every string a gate of the lower-cased path looks for."""
    found: list[str] = []
    for rule in rules:
        found += _lowered_keywords(rule)
        for sets, _ in _branches(rule.pattern or "") or ():
            found += [word for words in sets for word in words]
    return found


def _branches(
    pattern: str,
) -> tuple[tuple[tuple[tuple[str, ...], ...], re.Pattern[str]], ...] | None:
    if not lowerable(pattern):
        return None
    parts = _top_level_branches(pattern) or [pattern]
    if len(parts) > 1 and re.search(r"\\[1-9]", pattern):
        parts = [pattern]  # numbered backreferences would change meaning if split
    try:
        return tuple((required_sets(part), re.compile(part)) for part in parts)
    except re.error:
        literals = required_literals(pattern)
        return (((literals,) if literals else (), re.compile(pattern)),)


class RuleMatcher:
    """Which rule, if any, a record matches; the first in precedence order."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self._gate = LiteralGate(_literals(rules))
        compiled = [_FastRule.of(rule, self._gate) for rule in rules]
        self._by_level = {
            level: tuple(c for c in compiled if c.rule.accepts_level(level))
            for level in (None, *LEVEL_RANK)
        }
        # A storm repeats the same texts: the decision per (level, text), bounded.
        self._decided: dict[tuple[str | None, str], _FastRule | None] = {}
        # The same for header lines alone, keyed by the line without its time.
        self._headers: dict[tuple[int, str], bool] = {}

    def rules_at(self, level: str | None) -> tuple[Rule, ...]:
        return tuple(c.rule for c in self._by_level.get(level, ()))

    def find(self, record: Record) -> tuple[_FastRule, str, RecordParts] | None:
        """The rule that decides, the text it matched, and the record's parts."""
        candidates = self._by_level.get(record.level, ())
        if not candidates:
            return None
        if record.level is None and not ERROR_EVIDENCE.search(record.text):
            return None  # a bare print that mentions "timeout" is not an error
        parts = record.parts or split_record(record.text)
        for text in texts_in_order(parts):
            found = self._decide(record.level, candidates, text)
            if found is not None:
                return found, text, parts
        return None

    def header_matches(self, line: str) -> bool:
        """Whether a header line alone, as a one-line record, matches a rule: what `find`
        decides for it, without building the record."""
        key = header_tail(line)
        known = self._headers.get(key)
        if known is None:
            if len(self._headers) >= _MAX_HEADERS:
                self._headers.clear()
            known = self._headers[key] = self._header_decision(line)
        return known

    def _header_decision(self, line: str) -> bool:
        found = header_level_and_message(line)
        if found is None:
            return True
        level, message = found
        candidates = self._by_level.get(level, ())
        return bool(candidates) and self._decide(level, candidates, message) is not None

    def _decide(
        self, level: str | None, candidates: Sequence[_FastRule], text: str
    ) -> _FastRule | None:
        decided = self._decided
        key = (level, text)
        if key in decided:
            return decided[key]
        if len(decided) >= _MAX_DECIDED:
            decided.clear()
        found = decided[key] = _first_rule(candidates, text, self._gate)
        return found


def _first_rule(candidates: Sequence[_FastRule], text: str, gate: LiteralGate) -> _FastRule | None:
    low = lowered(text)
    if low is None:
        return _first_rule_ignoring_case(candidates, text)
    present = gate.present(low)
    for compiled in candidates:
        if compiled.keyword_mask and not present & compiled.keyword_mask:
            continue
        branches = compiled.branches
        if branches is None:
            if compiled.regex.search(text):
                return compiled
            continue
        for masks, regex in branches:
            for mask in masks:
                if not present & mask:
                    break
            else:
                if regex.search(low):
                    return compiled
    return None


def _first_rule_ignoring_case(candidates: Sequence[_FastRule], text: str) -> _FastRule | None:
    folded = text.casefold()
    for compiled in candidates:
        if compiled.folded_keywords and not any(map(folded.__contains__, compiled.folded_keywords)):
            continue
        if compiled.regex.search(text):
            return compiled
    return None


def texts_in_order(parts: RecordParts) -> list[str]:
    """The texts rules look at, in the order they decide (exception, message, others)."""
    texts = [parts.exception] if parts.exception else []
    texts.append(parts.message)
    texts.extend(parts.others)
    return texts


# --- which lines of a batch need a look ------------------------------------------


def header_filter(matcher: RuleMatcher) -> HeaderFilter:
    """Which header lines a batch may skip: DEBUG/INFO/WARNING headers at a level no
    rule looks at, and at a level some rules look at, those that alone as a one-line
    record match no rule (the matcher's own decision, remembered per line without its
    time). ERROR and CRITICAL headers are always records."""
    skip: list[str] = []
    gated: list[str] = []
    for level in _SKIPPABLE_LEVELS:
        (gated if matcher.rules_at(level) else skip).append(level)
    return HeaderFilter.of(skip, gated, matcher.header_matches)
