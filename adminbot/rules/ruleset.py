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
`builtin_rules.SEEDS` order (disco_lleno, servidor_caido, permisos,
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
from typing import TypeVar

from adminbot.errors import ConfigError
from adminbot.models import Line, Match, Policy, Record, Severity, frozen_map
from adminbot.rules.builtin import SEEDS
from adminbot.rules.fields import KNOWN_FIELDS, derive_keywords, extract_fields, incident_key
from adminbot.rules.records import (
    LEVEL_RANK,
    TRACEBACK_START,
    RecordAssembler,
    RecordParts,
    candidate_lines,
    normalise_level,
    skippable_header_scan,
    split_record,
)

logger = logging.getLogger(__name__)

DEFAULT_MIN_LEVEL = "WARNING"
MAX_PATTERN_LENGTH = 2000
NAME_RE = re.compile(r"[a-z0-9_]{1,64}")
_ERROR_LEVELS = frozenset({"ERROR", "CRITICAL"})
_SKIPPABLE_LEVELS = ("DEBUG", "INFO")


@dataclass(frozen=True)
class Rule:
    """One error type: a case-insensitive regex over one line, and what a match means.

    `min_level` gates headered records (None: any level); header-less records
    (stderr, bare tracebacks) have no level and are always tried. `keywords` are
    lower-case literals of which every match contains one; the classifier uses
    them to skip lines cheaply when a rule looks at INFO/DEBUG records. Left
    empty they are derived from the pattern when that is safe.
    """

    name: str
    pattern: str
    severity: Severity = Severity.ERROR
    min_level: str | None = DEFAULT_MIN_LEVEL
    key_fields: tuple[str, ...] = ()
    policy: Policy = Policy.ALERT
    enabled: bool = True
    description: str = ""
    builtin: bool = False
    keywords: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.min_level is not None:
            level = normalise_level(self.min_level)
            if level not in LEVEL_RANK:
                raise ValueError(f"rule {self.name!r}: unknown min_level {self.min_level!r}")
            object.__setattr__(self, "min_level", level)
        if not self.keywords:
            object.__setattr__(self, "keywords", derive_keywords(self.pattern))

    def accepts_level(self, level: str | None) -> bool:
        """Whether a record at `level` may match (header-less records always may)."""
        if level is None or self.min_level is None:
            return True
        return LEVEL_RANK.get(level, 0) >= LEVEL_RANK.get(self.min_level, 0)


def builtin_rules() -> list[Rule]:
    """The six seed error types, in precedence order."""
    return [
        Rule(
            name=seed.name,
            pattern=seed.pattern,
            severity=seed.severity,
            min_level=DEFAULT_MIN_LEVEL,
            key_fields=seed.key_fields,
            policy=seed.policy,
            description=seed.description,
            builtin=True,
            keywords=seed.keywords,
        )
        for seed in SEEDS
    ]


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
    by_name: dict[str, Rule] = {}
    for index, rule in enumerate(custom):
        if rule.name in by_name:
            raise ConfigError(f"rules[{index}].name", f"rule {rule.name!r} is defined twice")
        by_name[rule.name] = rule
    builtins = builtin_rules()
    builtin_names = {rule.name for rule in builtins}
    ordered = [rule for rule in custom if rule.name not in builtin_names]
    ordered += [by_name.get(rule.name, rule) for rule in builtins]
    unknown = set(disabled) - {rule.name for rule in ordered}
    if unknown:
        logger.warning("disabled_rules names unknown rules: %s", ", ".join(sorted(unknown)))
    return RuleSet([rule for rule in ordered if rule.name not in disabled])


# --- rules from the config file ---------------------------------------------------

_TABLE_KEYS = (
    "name",
    "pattern",
    "severity",
    "min_level",
    "key_fields",
    "policy",
    "description",
    "enabled",
)


def rule_from_table(table: Mapping[str, object], index: int) -> Rule:
    """Build a rule from one `[[rules]]` table, or say which key is wrong and why.

    A table that reuses a built-in's name inherits that rule's severity, policy,
    grouping and level unless it sets them.
    """
    where = f"rules[{index}]"
    for key in table:
        if key not in _TABLE_KEYS:
            raise ConfigError(
                f"{where}.{key}", f"unknown key; expected one of: {', '.join(_TABLE_KEYS)}"
            )
    name = _required_str(table, "name", where)
    if not NAME_RE.fullmatch(name):
        raise ConfigError(f"{where}.name", f"{name!r} must be 1-64 characters of a-z, 0-9 and _")
    pattern = _required_str(table, "pattern", where)
    regex = _compile_pattern(pattern, f"{where}.pattern")
    base = next((r for r in builtin_rules() if r.name == name), None)
    return Rule(
        name=name,
        pattern=pattern,
        severity=_choice(table, "severity", where, Severity, base.severity if base else None),
        min_level=_min_level(table, where, base.min_level if base else DEFAULT_MIN_LEVEL),
        key_fields=_key_fields(table, where, regex, base.key_fields if base else ()),
        policy=_choice(table, "policy", where, Policy, base.policy if base else None),
        enabled=_bool(table, "enabled", where, default=True),
        description=_optional_str(table, "description", where, base.description if base else ""),
        builtin=False,
    )


def _required_str(table: Mapping[str, object], key: str, where: str) -> str:
    value = table.get(key)
    if value is None:
        raise ConfigError(f"{where}.{key}", "is required")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{key}", f"must be a non-empty string, not {value!r}")
    return value


def _optional_str(table: Mapping[str, object], key: str, where: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{where}.{key}", f"must be a string, not {value!r}")
    return value


def _bool(table: Mapping[str, object], key: str, where: str, *, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key}", f"must be true or false, not {value!r}")
    return value


def _compile_pattern(pattern: str, key: str) -> re.Pattern[str]:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ConfigError(key, f"is {len(pattern)} characters long; at most {MAX_PATTERN_LENGTH}")
    try:
        regex = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(key, f"invalid regular expression: {exc}") from None
    if regex.search(""):
        raise ConfigError(key, "matches an empty string, so it would match every line")
    return regex


_E = TypeVar("_E", Severity, Policy)
# A new rule only tells the admin (alert) unless the config asks for more.
_DEFAULTS: dict[type, str] = {Severity: "error", Policy: "alert"}


def _choice(
    table: Mapping[str, object], key: str, where: str, kind: type[_E], default: _E | None
) -> _E:
    value = table.get(key)
    if value is None:
        return default if default is not None else kind(_DEFAULTS[kind])
    choices = ", ".join(member.value for member in kind)
    if not isinstance(value, str):
        raise ConfigError(f"{where}.{key}", f"must be one of {choices}, not {value!r}")
    try:
        return kind(value.lower())
    except ValueError:
        raise ConfigError(f"{where}.{key}", f"{value!r} is not one of {choices}") from None


def _min_level(table: Mapping[str, object], where: str, default: str | None) -> str | None:
    value = table.get("min_level")
    if value is None:
        return default
    levels = ", ".join(LEVEL_RANK)
    if not isinstance(value, str) or normalise_level(value) not in LEVEL_RANK:
        raise ConfigError(f"{where}.min_level", f"{value!r} is not one of {levels}")
    return normalise_level(value)


def _key_fields(
    table: Mapping[str, object], where: str, regex: re.Pattern[str], default: tuple[str, ...]
) -> tuple[str, ...]:
    value = table.get("key_fields")
    if value is None:
        return default
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}.key_fields", f"must be a list of field names, not {value!r}")
    known = set(KNOWN_FIELDS) | set(regex.groupindex)
    for name in value:
        if name not in known:
            raise ConfigError(
                f"{where}.key_fields",
                f"unknown field {name!r}: name a group (?P<{name}>...) in the pattern "
                f"or use one of {', '.join(KNOWN_FIELDS)}",
            )
    return tuple(value)


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
