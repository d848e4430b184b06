"""The straightforward classifier the fast one must agree with, record by record.

Every line goes through the record assembler and every record through the
rules as written (`re.IGNORECASE`, in precedence order, texts in order). Kept
apart from the fast path on purpose, as the definition of a correct answer for
tests and benchmarks; production never runs it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from adminbot.models import Line, Match, Record, frozen_map
from adminbot.rules.fields import extract_fields, incident_key
from adminbot.rules.matcher import ERROR_EVIDENCE
from adminbot.rules.records import RecordAssembler, split_record
from adminbot.rules.ruleset import Rule, RuleSet


@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: Rule
    regex: re.Pattern[str]
    keywords: tuple[str, ...]

    @classmethod
    def of(cls, rule: Rule) -> _Compiled:
        if rule.pattern is None:
            raise ValueError(f"rule {rule.name!r} has no pattern to classify with")
        keywords = tuple(word.casefold() for word in rule.keywords)
        return cls(rule, re.compile(rule.pattern, re.IGNORECASE), keywords)


class ReferenceClassifier:
    """Lines in, (matches, errors no rule matched, records) out, the simple way."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self._rules = [_Compiled.of(rule) for rule in ruleset.rules if rule.enabled]

    def run(self, batches: Iterable[Sequence[Line]]) -> tuple[list[Match], list[Record], int]:
        """Classify every batch of one source, then flush it."""
        assembler: RecordAssembler | None = None
        records: list[Record] = []
        for batch in batches:
            for line in batch:
                assembler = assembler or RecordAssembler(line.source)
                records.extend(assembler.feed(line))
            if assembler is not None:
                records.extend(assembler.end_of_batch())
        if assembler is not None:
            records.extend(assembler.flush())
        matches: list[Match] = []
        unmatched: list[Record] = []
        for record in records:
            match = self.classify(record)
            if match is not None:
                matches.append(match)
            elif self.ruleset.is_error(record):
                unmatched.append(record)
        return matches, unmatched, len(records)

    def classify(self, record: Record) -> Match | None:
        """The first rule (in order) matching the record's texts (in order), as a Match."""
        candidates = [c for c in self._rules if c.rule.accepts_level(record.level)]
        if record.level is None and not ERROR_EVIDENCE.search(record.text):
            return None
        parts = split_record(record.text)
        texts = [parts.exception] if parts.exception else []
        texts += [parts.message, *parts.others]
        for text in texts:
            folded = text.casefold()
            for compiled in candidates:
                if compiled.keywords and not any(w in folded for w in compiled.keywords):
                    continue
                found = compiled.regex.search(text)
                if found:
                    fields = extract_fields(found, [text, *texts])
                    key = incident_key(compiled.rule.key_fields, fields, text)
                    rule = compiled.rule
                    return Match(rule.name, rule.severity, record, frozen_map(fields), key)
        return None


# --- a corpus that tries to make the fast path differ ----------------------------------

_LEVEL_SWAPS = (" INFO ", " WARNING ", " WARN ", " ERROR ", " CRITICAL ", " DEBUG ", " FATAL ")
# Letters `re.IGNORECASE` folds unlike `str.lower` (long s, dotless i, Kelvin sign),
# letters whose lower case is longer (dotted capital I), and other non-ASCII.
_ODD_LETTERS = {"s": "ſ", "i": "ı", "k": "\u212a", "I": "İ", "o": "ó", "e": "É", "ss": "ß"}


def corpus(n_lines: int, seed: int = 0) -> list[str]:
    """`n_lines` log lines: simulated traffic and storms, levels swapped, case and
    letters changed, stray and indented lines; the fast and reference paths must agree."""
    from datetime import UTC, datetime, timedelta

    from adminbot.simulate import error_record, sample_line

    rng = random.Random(seed)  # noqa: S311 - test data
    now = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    lines: list[str] = []
    while len(lines) < n_lines:
        now += timedelta(milliseconds=rng.randrange(1, 40))
        roll = rng.random()
        if roll < 0.3:
            text = error_record(rng, now, None if rng.random() < 0.1 else _kind(rng))
        else:
            text = sample_line(rng, now, error_ratio=0.05)
        lines.extend(_mutate(rng, line) for line in text.split("\n"))
    return lines[:n_lines]


def _kind(rng: random.Random) -> str:
    from adminbot.simulate import ERROR_KINDS

    return rng.choice(ERROR_KINDS)


def _mutate(rng: random.Random, line: str) -> str:
    roll = rng.random()
    if roll < 0.15:
        for swap in _LEVEL_SWAPS:
            if swap in line[:80]:
                return line.replace(swap, rng.choice(_LEVEL_SWAPS), 1)
    if roll < 0.22:
        return line.upper() if rng.random() < 0.5 else line.title()
    if roll < 0.30:
        old, new = rng.choice(list(_ODD_LETTERS.items()))
        return line.replace(old, new, rng.randrange(1, 3))
    if roll < 0.32:
        return rng.choice(("", "   ", "\tcontinued detail", "DETAIL: key exists", "plain stderr"))
    if roll < 0.33:
        return "  " + line
    return line
