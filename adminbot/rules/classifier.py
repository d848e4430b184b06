"""The classifier stage: lines in, matches out, fast on quiet logs and on error storms.

Two things make it fast while giving exactly what the straightforward algorithm
gives (`adminbot.rules.reference`, which a test compares record by record):

1. A scan over the whole batch skips header lines nobody needs: INFO/DEBUG
   headers no rule looks at, and WARNING headers (or any level whose rules all
   have keywords) holding none of those rules' keywords. Only the other lines,
   each with the line before it, are assembled into records.
2. Rules are matched on the lower-cased text, case-sensitively, one top-level
   alternative at a time and only when that alternative's required literal is
   in the text. This is what `re.IGNORECASE` would find whenever lower-casing
   is a one-to-one map of characters that `re` folds the same way (`_SAFE_TEXT`)
   and the pattern has no upper-case letters, flags or escapes that would
   change meaning (`_lowerable`); anything else takes the `re.IGNORECASE` path.

Fields and the incident key are only extracted for records that matched, and
not at all when the caller needs only rule and line (`check-rules --json`).

Over ~400 lines: the scan plan and the literal-gated matcher are the two halves of
one speed trick and are checked together against the reference classifier.
"""

from __future__ import annotations

import copy
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from adminbot.models import Line, Match, Record
from adminbot.rules.fields import _top_level_branches
from adminbot.rules.records import (
    LEVEL_RANK,
    RecordAssembler,
    RecordParts,
    header_prefixes,
    split_record,
)

if TYPE_CHECKING:
    from adminbot.rules.ruleset import Rule, RuleSet

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

# Characters `re.IGNORECASE` folds together with others than their lower and upper
# case (re's own table of extra cases), and the capital sigma, which `str.lower`
# maps by context. A text holding one is matched the slow way.
_SPECIAL_FOLDS = (
    "µıſͅΐΰβεθικμπρςσφϐϑϕϖϰϱϵвдостъѣᲀᲁᲂᲃᲄᲅᲆᲇᲈṡẛιΐΰꙋﬅﬆΣ"
    "\u212a\u212b"  # KELVIN SIGN, ANGSTROM SIGN
)
_UNSAFE_TEXT = re.compile(f"[{_SPECIAL_FOLDS}]")
_SKIPPABLE_LEVELS = ("DEBUG", "INFO", "WARNING")
_MAX_DECIDED = 50_000
_NEVER_SKIPPED = frozenset({"ERROR", "CRITICAL"})


def lowered(text: str) -> str | None:
    """`text.lower()` when it maps characters one to one as `re.IGNORECASE` folds them."""
    low = text.lower()
    if len(low) != len(text) or (not text.isascii() and _UNSAFE_TEXT.search(text)):
        return None
    return low


# --- rules compiled for lower-cased text --------------------------------------------

_CLASS_ESCAPES = frozenset("dDsSwWbBAZntrfv")
_QUANTIFIERS = frozenset("?*{")
_COUNT = re.compile(r"\{([0-9]*)(?:,[0-9]*)?\}")


def _lowerable(pattern: str) -> bool:
    """True when `pattern` without IGNORECASE on lower-cased text finds what it finds
    with IGNORECASE on the original: no upper-case or specially folded letter, no
    inline flag, comment, conditional, or numeric or named character escape."""
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            following = pattern[index + 1 : index + 2]
            if following.isalnum() and following not in _CLASS_ESCAPES:
                return False  # \x41, \N{...}, \u, octal and backreferences
            index += 2
            continue
        if char == "(" and pattern.startswith("(?", index):
            marker = pattern[index + 2 : index + 3]
            if marker == "P":
                close = ">" if pattern.startswith("(?P<", index) else ")"
                end = pattern.find(close, index)
                if end < 0 or close == ")":
                    return False  # (?P=name) backreference
                index = end + 1
                continue
            if marker not in (":", "=", "!", "<"):
                return False  # inline flags, comments, conditionals
        if char != char.lower() or char in _SPECIAL_FOLDS:
            return False
        index += 1
    return True


# kind ("lit", "group" or "other"), its text, appears at least once, appears exactly once
_Atom = tuple[str, str, bool, bool]


def _top_branches(pattern: str) -> list[list[_Atom]]:
    """The pattern's top-level alternatives, each as its sequence of atoms."""
    branches: list[list[_Atom]] = [[]]
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "|":
            branches.append([])
            index += 1
            continue
        kind, text, index = _atom(pattern, index)
        after, required = _quantifier(pattern, index)
        branches[-1].append((kind, text, required, after == index))
        index = after
    return branches


def _atom(pattern: str, index: int) -> tuple[str, str, int]:
    """The atom starting at `index`: its kind, its text and where it ends."""
    char = pattern[index]
    if char == "\\":
        escaped = pattern[index + 1 : index + 2]
        return ("lit" if escaped and not escaped.isalnum() else "other"), escaped, index + 2
    if char == "[":
        return "other", "", _class_end(pattern, index)
    if char == "(":
        end = _group_end(pattern, index)
        inner = pattern[index + 1 : end]
        if inner.startswith("?P<"):
            return "group", inner[inner.find(">") + 1 :], end + 1
        if inner.startswith("?:"):
            return "group", inner[2:], end + 1
        return ("other", "", end + 1) if inner.startswith("?") else ("group", inner, end + 1)
    if char in ".^$":
        return "other", "", index + 1
    return "lit", char, index + 1


def _class_end(pattern: str, index: int) -> int:
    """Index after the `]` closing the class opened at `index` (`[]...]` holds a `]`)."""
    index += 1
    index += 1 if pattern.startswith("^", index) else 0
    index += 1 if pattern.startswith("]", index) else 0
    while index < len(pattern) and pattern[index] != "]":
        index += 2 if pattern[index] == "\\" else 1
    return index + 1


def _group_end(pattern: str, index: int) -> int:
    """Index of the `)` closing the group opened at `index`."""
    depth = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":
            index = _class_end(pattern, index)
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return index
        index += 1
    return index


def _quantifier(pattern: str, index: int) -> tuple[int, bool]:
    """Skip a quantifier after an atom; say whether the atom must still appear (the
    index is unchanged when there is no quantifier)."""
    char = pattern[index : index + 1]
    required = True
    if char and char in "?*+":
        required = char == "+"
        index += 1
    elif char == "{" and (counted := _COUNT.match(pattern, index)):
        required = counted.group(1) not in ("", "0")
        index = counted.end()
    else:
        return index, True
    if pattern[index : index + 1] in ("?", "+"):
        index += 1  # lazy or possessive
    return index, required


def required_literals(pattern: str) -> tuple[str, ...]:
    """Plain strings one of which every match of `pattern` contains; () if unsure."""
    alternatives = [_required(atoms) for atoms in _top_branches(pattern)]
    if not all(alternatives):
        return ()
    return tuple(sorted({word for words in alternatives for word in words}))


def _required(atoms: Sequence[_Atom]) -> tuple[str, ...]:
    """The best set of strings one of which a match of this sequence contains."""
    best: tuple[str, ...] = ()
    run: list[str] = []

    def better(found: tuple[str, ...]) -> None:
        nonlocal best
        if found and (not best or _score(found) > _score(best)):
            best = found

    for kind, text, required, once in atoms:
        if kind == "lit" and required:
            run.append(text)
            if once:
                continue
            # "ab+c" matches "abbc": a repeated letter ends the run
            better(("".join(run),))
            run = []
            continue
        better(("".join(run),) if run else ())
        run = []
        if kind == "group" and required:
            better(required_literals(text))
    better(("".join(run),) if run else ())
    return best


def _score(words: tuple[str, ...]) -> tuple[int, int]:
    return min(map(len, words)), -len(words)


@dataclass(frozen=True, slots=True)
class _FastRule:
    """One rule, compiled both ways: for lower-cased text and as written."""

    rule: Rule
    regex: re.Pattern[str]  # as written, IGNORECASE: the reference and the fields
    folded_keywords: tuple[str, ...]  # for the IGNORECASE path (casefold)
    keywords: tuple[str, ...]  # for the lower-cased path
    # (strings one of which it needs, regex) per top-level alternative
    branches: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] | None

    @classmethod
    def of(cls, rule: Rule) -> _FastRule:
        if rule.pattern is None:
            raise ValueError(f"rule {rule.name!r} has no pattern to classify with")
        return cls(
            rule,
            re.compile(rule.pattern, re.IGNORECASE),
            tuple(word.casefold() for word in rule.keywords),
            tuple(word.lower() for word in rule.keywords),
            _branches(rule.pattern),
        )


def _branches(pattern: str) -> tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] | None:
    if not _lowerable(pattern):
        return None
    parts = _top_level_branches(pattern) or [pattern]
    if len(parts) > 1 and re.search(r"\\[1-9]", pattern):
        parts = [pattern]  # numbered backreferences would change meaning if split
    try:
        return tuple((required_literals(part), re.compile(part)) for part in parts)
    except re.error:
        return ((required_literals(pattern), re.compile(pattern)),)


class RuleMatcher:
    """Which rule, if any, a record matches; the first in precedence order."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        compiled = [_FastRule.of(rule) for rule in rules]
        self._by_level = {
            level: tuple(c for c in compiled if c.rule.accepts_level(level))
            for level in (None, *LEVEL_RANK)
        }
        # A storm repeats the same texts: the decision per (level, text), bounded.
        self._decided: dict[tuple[str | None, str], _FastRule | None] = {}

    def rules_at(self, level: str | None) -> tuple[Rule, ...]:
        return tuple(c.rule for c in self._by_level.get(level, ()))

    def find(self, record: Record) -> tuple[_FastRule, str, RecordParts] | None:
        """The rule that decides, the text it matched, and the record's parts."""
        candidates = self._by_level.get(record.level, ())
        if not candidates:
            return None
        if record.level is None and not ERROR_EVIDENCE.search(record.text):
            return None  # a bare print that mentions "timeout" is not an error
        parts = split_record(record.text)
        decided = self._decided
        level = record.level
        for text in texts_in_order(parts):
            key = (level, text)
            if key in decided:
                found = decided[key]
            else:
                if len(decided) >= _MAX_DECIDED:
                    decided.clear()
                found = decided[key] = _first_rule(candidates, text)
            if found is not None:
                return found, text, parts
        return None


def _first_rule(candidates: Sequence[_FastRule], text: str) -> _FastRule | None:
    low = lowered(text)
    if low is None:
        return _first_rule_ignoring_case(candidates, text)
    contains = low.__contains__
    for compiled in candidates:
        if compiled.keywords and not any(map(contains, compiled.keywords)):
            continue
        branches = compiled.branches
        if branches is None:
            if compiled.regex.search(text):
                return compiled
            continue
        for literals, regex in branches:
            if (not literals or any(map(contains, literals))) and regex.search(low):
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


@dataclass(frozen=True, slots=True)
class ScanPlan:
    """Finds the lines of a batch that may matter; the others are headers nobody needs.

    `scan` finds every line except headers at a level no rule looks at; its
    group `gated` is set on headers at a level whose every rule has keywords:
    those matter only if they hold one of `keywords`.
    """

    scan: re.Pattern[str]
    keywords: tuple[str, ...]

    @classmethod
    def of(cls, matcher: RuleMatcher) -> ScanPlan | None:
        skipped, gated = [], []
        for level in _SKIPPABLE_LEVELS:
            rules = matcher.rules_at(level)
            if not rules:
                skipped.append(level)
            elif all(rule.keywords for rule in rules):
                gated.append(level)
        if not skipped and not gated:
            return None
        words = {w.lower() for level in gated for r in matcher.rules_at(level) for w in r.keywords}
        skip = f"(?!{header_prefixes(skipped)})" if skipped else ""
        gate = f"(?:(?={header_prefixes(gated)})(?P<gated>)|)" if gated else ""
        return cls(re.compile(rf"\n{skip}{gate}"), tuple(sorted(words)))

    def candidates(self, block: str, texts: Sequence[str]) -> list[int]:
        """Indexes of `texts` (the lines of "\\n" + block) that need a look, in order."""
        keywords = self.keywords
        indexes: list[int] = []
        newlines = 0
        last = 0
        count = block.count
        for found in self.scan.finditer(block):
            position = found.start()
            newlines += count("\n", last, position + 1)
            last = position + 1
            index = newlines - 1
            if found.lastgroup == "gated":
                low = lowered(texts[index])
                if low is not None and not any(map(low.__contains__, keywords)):
                    continue
            indexes.append(index)
        return indexes


# --- the stage ------------------------------------------------------------------------


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

    Only the lines the ruleset's `ScanPlan` finds (each with the line before it)
    go through the record assembler and the rules; skipped lines still count as
    records. `fast=False` feeds every line, which a test compares. With
    `keys=False` matches carry no fields and no key (only rule and record).
    """

    def __init__(
        self,
        ruleset: RuleSet,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        fast: bool = True,
        keys: bool = True,
    ) -> None:
        self._ruleset = ruleset
        self._monotonic = monotonic
        self._fast = fast
        self._keys = keys
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
        first = lines[0].line_no
        if lines[-1].line_no - first == len(lines) - 1:
            return self.feed_texts(source, [line.text for line in lines], first)
        assembler = self._assembler(source)
        self.stats.lines += len(lines)
        records = [record for line in lines for record in assembler.feed(line)]
        return self._classify(records + assembler.end_of_batch(), 0)

    def feed_texts(self, source: str, texts: Sequence[str], first_line_no: int) -> Classified:
        """Classify consecutive lines given as texts (no `Line` objects needed)."""
        assembler = self._assembler(source)
        self.stats.lines += len(texts)
        plan = self._ruleset.scan_plan if self._fast else None
        block = "\n" + "\n".join(texts) if plan is not None else ""
        if plan is None or block.count("\n") != len(texts):
            records = [
                record
                for number, text in enumerate(texts, start=first_line_no)
                for record in assembler.feed_text(text, number)
            ]
            skipped = 0
        else:
            candidates = plan.candidates(block, texts)
            records, skipped = assembler.feed_text_candidates(texts, first_line_no, candidates)
        records.extend(assembler.end_of_batch())
        return self._classify(records, skipped)

    def snapshot(self, source: str) -> RecordAssembler | None:
        """A copy of what `source` holds back, to undo a batch the store did not take."""
        assembler = self._assemblers.get(source)
        return None if assembler is None else copy.deepcopy(assembler)

    def restore(self, source: str, snapshot: RecordAssembler | None) -> None:
        """Hold back again what `snapshot` held: the same lines will be fed once more."""
        if snapshot is None:
            self._assemblers.pop(source, None)
        else:
            self._assemblers[source] = snapshot

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
                source, monotonic=self._monotonic
            )
        return assembler

    def _classify(self, records: list[Record], skipped: int) -> Classified:
        matches: list[Match] = []
        unmatched: list[Record] = []
        ruleset = self._ruleset
        classify = ruleset.classify
        keys = self._keys
        counts = self.stats.matches
        for record in records:
            match = classify(record, keys=keys)
            if match is not None:
                matches.append(match)
                counts[match.rule] += 1
            elif ruleset.is_error(record):
                unmatched.append(record)
        total = len(records) + skipped
        self.stats.records += total
        self.stats.unmatched_errors += len(unmatched)
        return Classified(matches, unmatched, total)
