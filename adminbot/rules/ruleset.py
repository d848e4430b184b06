"""Classify log records into matches: which error type, which fields, which incident key.

Second stage of the pipeline (sources → rules → incidents). A `Rule` is a
case-insensitive regex plus what to do with its matches; `RuleSet.classify`
decides for one record; `classifier.Classifier` is what the monitor calls with
each batch of lines, and it keeps per-source `RecordAssembler`s.

Precedence when several rules could match one record: the record's final
exception line (`PermissionError: [Errno 13] ...`) decides first, then its
message (first line, header removed), then its other lines top to bottom
(frames and source lines are never looked at). For one text, rules are tried in
order: custom rules that add a new name first, then the built-ins in
`builtin_rules.SEEDS` order (disco_lleno, servidor_caido, permisos,
ruta_inexistente, corrupto, timeout); a custom rule that reuses a built-in's
name takes its place.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from adminbot.models import Match, Record, RecordParts, frozen_map
from adminbot.rules.builtin import SEEDS
from adminbot.rules.fields import extract_fields, incident_key
from adminbot.rules.headers import HeaderFilter
from adminbot.rules.loader import NAME_RE, build_rulebook, rule_from_table
from adminbot.rules.matcher import ERROR_EVIDENCE, RuleMatcher, header_filter, texts_in_order
from adminbot.rules.records import TRACEBACK_START
from adminbot.rules.spec import DEFAULT_MIN_LEVEL, RuleBook, RuleSpec

# Rule loading lives in `loader`, the matcher in `matcher` (the stage that uses a rule
# set in `classifier`); these names stay importable from here.
__all__ = [
    "DEFAULT_MIN_LEVEL",
    "ERROR_EVIDENCE",
    "NAME_RE",
    "Rule",
    "RuleSet",
    "build_ruleset",
    "builtin_rules",
    "rule_from_table",
    "ruleset_of",
]

_ERROR_LEVELS = frozenset({"ERROR", "CRITICAL"})
_BARE_ERROR = re.compile(r"\b(?:error|fatal)\b|\w(?:Error|Exception)\b", re.IGNORECASE)
"""How a line with no log header says it is an error: `[h264 @ 0x…] error while decoding`."""


Rule = RuleSpec
"""The classifier's name for a spec; see `adminbot.rules.spec`."""


def builtin_rules() -> list[Rule]:
    """The six seed error types, in precedence order."""
    return list(SEEDS)


# --- the rule set ---------------------------------------------------------------


class RuleSet:
    """Rules compiled once; decides which rule, if any, a record matches."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        seen: set[str] = set()
        for rule in rules:
            if rule.name in seen:
                raise ValueError(f"duplicate rule name {rule.name!r}")
            seen.add(rule.name)
        self._rules = tuple(rules)
        self._active = tuple(rule for rule in rules if rule.enabled)
        self._matcher = RuleMatcher(self._active)
        self._header_filter = header_filter(self._matcher)

    def __reduce__(self) -> tuple[type[RuleSet], tuple[tuple[Rule, ...]]]:
        """Pickled as its rules (a worker process compiles them again), not its caches."""
        return (RuleSet, (self._rules,))

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule given, enabled or not, in precedence order."""
        return self._rules

    @property
    def enabled_names(self) -> list[str]:
        return [rule.name for rule in self._active]

    def get(self, name: str) -> Rule | None:
        return next((r for r in self._rules if r.name == name), None)

    @property
    def header_filter(self) -> HeaderFilter:
        """Which header lines the classifier may skip (see `matcher.header_filter`)."""
        return self._header_filter

    def is_error(self, record: Record) -> bool:
        """ERROR/CRITICAL records, and header-less lines (a child's stderr: ffmpeg, a bare
        traceback) that say they are an error: what an admin must hear about."""
        if record.level is None:
            return TRACEBACK_START in record.text or _BARE_ERROR.search(record.text) is not None
        return record.level in _ERROR_LEVELS

    def rule_name(self, record: Record) -> str | None:
        """The name of the rule `classify` matches the record with, making no Match."""
        found = self._matcher.find(record)
        return None if found is None else found[0].rule.name

    def classify(self, record: Record, *, keys: bool = True) -> Match | None:
        """The first rule matching the record's texts in precedence order, as a Match;
        without `keys`, the Match has no fields and no key (cheaper)."""
        found = self._matcher.find(record)
        if found is None:
            return None
        compiled, text, parts = found
        rule = compiled.rule
        if not keys:
            return Match(rule.name, rule.severity, record)
        # Searched again only for the named groups it gives (custom rules): the built-in
        # patterns have none, and an IGNORECASE search costs 3 us a match in a storm.
        match = compiled.regex.search(text) if compiled.regex.groupindex else None
        return self._match(rule, match, text, parts, record)

    def _match(
        self,
        rule: Rule,
        found: re.Match[str] | None,
        text: str,
        parts: RecordParts,
        record: Record,
    ) -> Match:
        fields = extract_fields(found, [text, *texts_in_order(parts)])
        key = incident_key(rule.key_fields, fields, text)
        return Match(rule.name, rule.severity, record, frozen_map(fields), key)


def build_ruleset(custom: Sequence[Rule] = (), disabled: Collection[str] = ()) -> RuleSet:
    """Built-ins plus custom rules: a custom rule replaces the built-in of the same
    name, new custom rules go first, and `disabled` names are dropped."""
    return ruleset_of(build_rulebook(custom, disabled))


def ruleset_of(book: RuleBook) -> RuleSet:
    """The rules of a book that log lines can raise, compiled for the classifier."""
    return RuleSet(book.classifying)
