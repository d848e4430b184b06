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
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from adminbot.errors import ConfigError
from adminbot.models import Match, Policy, Record, Severity, frozen_map
from adminbot.rules.builtin import SEEDS
from adminbot.rules.classifier import (
    ERROR_EVIDENCE,
    Classified,
    Classifier,
    ClassifierStats,
    RuleMatcher,
    ScanPlan,
    texts_in_order,
)
from adminbot.rules.fields import KNOWN_FIELDS, derive_keywords, extract_fields, incident_key
from adminbot.rules.records import LEVEL_RANK, TRACEBACK_START, RecordParts, normalise_level

# The classifier stage lives in `classifier`; these names stay importable from here.
__all__ = ["ERROR_EVIDENCE", "Classified", "Classifier", "ClassifierStats"]

logger = logging.getLogger(__name__)

DEFAULT_MIN_LEVEL = "WARNING"
MAX_PATTERN_LENGTH = 2000
NAME_RE = re.compile(r"[a-z0-9_]{1,64}")
_ERROR_LEVELS = frozenset({"ERROR", "CRITICAL"})


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
        self._plan = ScanPlan.of(self._matcher)

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
    def scan_plan(self) -> ScanPlan | None:
        """Finds the lines of a batch the classifier must look at (see `Classifier`)."""
        return self._plan

    def is_error(self, record: Record) -> bool:
        """ERROR/CRITICAL records and header-less tracebacks: what an admin must hear about."""
        if record.level is None:
            return TRACEBACK_START in record.text
        return record.level in _ERROR_LEVELS

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
        match = compiled.regex.search(text)
        assert match is not None  # the matcher found it on the same text
        return self._match(rule, match, text, parts, record)

    def _match(
        self, rule: Rule, found: re.Match[str], text: str, parts: RecordParts, record: Record
    ) -> Match:
        fields = extract_fields(found, [text, *texts_in_order(parts)])
        key = incident_key(rule.key_fields, fields, text)
        return Match(rule.name, rule.severity, record, frozen_map(fields), key)


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
