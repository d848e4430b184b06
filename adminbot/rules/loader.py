"""The rule book from the configuration: built-ins, `[[rules]]`, disabled names, policies.

Everything about the rules is resolved here, once, when the configuration loads: a
`[[rules]]` table becomes a checked `RuleSpec`, a custom rule that reuses a
built-in's name takes its place (and inherits what it does not set), and
`[policies]` is applied, so callers read `spec.policy` and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from adminbot.errors import ConfigError
from adminbot.models import Policy, Severity
from adminbot.rules.builtin import BUILTIN
from adminbot.rules.fields import KNOWN_FIELDS
from adminbot.rules.headers import LEVEL_RANK, normalise_level
from adminbot.rules.spec import DEFAULT_MIN_LEVEL, RuleBook, RuleSpec
from adminbot.rules.threshold import Threshold
from adminbot.tables import Table

MAX_PATTERN_LENGTH = 2000
NAME_RE = re.compile(r"[a-z0-9_]{1,64}")

TABLE_KEYS = (
    "name",
    "pattern",
    "severity",
    "min_level",
    "key_fields",
    "policy",
    "description",
    "enabled",
    "threshold",
)

# A new rule only tells the admin (alert) unless the config asks for more.
NEW_RULE = RuleSpec(name="new", pattern=None, severity=Severity.ERROR, policy=Policy.ALERT)


def builtin_spec(name: str) -> RuleSpec | None:
    return next((spec for spec in BUILTIN if spec.name == name), None)


def rule_from_table(table: Mapping[str, object], index: int, file: str | None = None) -> RuleSpec:
    """Build a rule from one `[[rules]]` table, or say which key is wrong and why.

    A table that reuses a built-in's name inherits that rule's severity, policy,
    grouping, level, fixes and description unless it sets them.
    """
    checked = Table(table, f"rules[{index}].", file)
    checked.reject_unknown(TABLE_KEYS)
    name = checked.required("name")
    if not NAME_RE.fullmatch(name):
        raise checked.fail("name", f"{name!r} must be 1-64 characters of a-z, 0-9 and _")
    pattern = checked.required("pattern")
    regex = _compile_pattern(checked, pattern)
    base = builtin_spec(name)
    inherited = base or NEW_RULE
    spec = replace(
        inherited,
        name=name,
        pattern=pattern,
        severity=checked.choice("severity", Severity, inherited.severity),
        min_level=_min_level(checked, base.min_level if base else DEFAULT_MIN_LEVEL),
        key_fields=_key_fields(checked, regex, inherited.key_fields),
        policy=checked.choice("policy", Policy, inherited.policy),
        enabled=checked.get("enabled", bool, True),
        description=checked.get("description", str, inherited.description),
        builtin=False,
        keywords=(),  # derived from the new pattern
        threshold=_threshold(checked, "threshold", inherited.threshold),
    )
    return spec


def _threshold(table: Table, name: str, default: Threshold | None) -> Threshold | None:
    """A rule's `threshold = "5/10m"`; absent keeps `default`."""
    if name not in table:
        return default
    try:
        return Threshold.parse(table.data[name])
    except ValueError as exc:
        raise table.fail(name, str(exc)) from None


def _compile_pattern(table: Table, pattern: str) -> re.Pattern[str]:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise table.fail(
            "pattern", f"is {len(pattern)} characters long; at most {MAX_PATTERN_LENGTH}"
        )
    try:
        regex = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise table.fail("pattern", f"invalid regular expression: {exc}") from None
    if regex.search(""):
        raise table.fail("pattern", "matches an empty string, so it would match every line")
    return regex


def _min_level(table: Table, default: str | None) -> str | None:
    if "min_level" not in table:
        return default
    value = table.data["min_level"]
    if not isinstance(value, str) or normalise_level(value) not in LEVEL_RANK:
        raise table.fail("min_level", f"{value!r} is not one of {', '.join(LEVEL_RANK)}")
    return normalise_level(value)


def _key_fields(table: Table, regex: re.Pattern[str], default: tuple[str, ...]) -> tuple[str, ...]:
    if "key_fields" not in table:
        return default
    value = table.data["key_fields"]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise table.fail("key_fields", f"must be a list of field names, not {value!r}")
    known = set(KNOWN_FIELDS) | set(regex.groupindex)
    for name in value:
        if name not in known:
            raise table.fail(
                "key_fields",
                f"unknown field {name!r}: name a group (?P<{name}>...) in the pattern "
                f"or use one of {', '.join(KNOWN_FIELDS)}",
            )
    return tuple(value)


def build_rulebook(
    custom: Sequence[RuleSpec] = (),
    disabled: Collection[str] = (),
    policies: Mapping[str, Policy] | None = None,
    *,
    file: str | None = None,
    thresholds: Mapping[str, Threshold] | None = None,
) -> RuleBook:
    """Built-ins plus custom rules, minus `disabled`, with `policies` and `thresholds`
    (`[thresholds]`) applied.

    A custom rule replaces the built-in of the same name in its place; new custom
    rules go first. A disabled, policy or threshold name that names no rule is a mistake.
    """
    by_name: dict[str, RuleSpec] = {}
    for index, spec in enumerate(custom):
        if spec.name in by_name:
            raise ConfigError(f"rules[{index}].name", f"rule {spec.name!r} is defined twice", file)
        by_name[spec.name] = spec
    builtin_names = {spec.name for spec in BUILTIN}
    ordered = [spec for spec in custom if spec.name not in builtin_names]
    ordered += [by_name.get(spec.name, spec) for spec in BUILTIN]
    names = [spec.name for spec in ordered]
    for name in sorted(disabled):
        named = next((s for s in ordered if s.name == name), None)
        if named is None or not named.classifies:
            known = ", ".join(s.name for s in ordered if s.classifies)
            raise ConfigError("disabled_rules", f"{name!r} names no rule; rules: {known}", file)
    for name in policies or {}:
        if name not in names:
            why = f"names no rule; rules: {', '.join(names)}"
            raise ConfigError(f"policies.{name}", why, file)
    for name in thresholds or {}:
        if name not in names:
            why = f"names no rule; rules: {', '.join(names)}"
            raise ConfigError(f"thresholds.{name}", why, file)
    overrides = policies or {}
    limits = thresholds or {}
    ordered = [replace(s, threshold=limits[s.name]) if s.name in limits else s for s in ordered]
    return RuleBook(
        replace(spec, policy=overrides[spec.name]) if spec.name in overrides else spec
        for spec in ordered
        if spec.name not in disabled
    )


def with_user_rules(book: RuleBook, user: Sequence[RuleSpec]) -> RuleBook:
    """The book with the rules the admin made in the chat, first (a drafted rule is
    the most specific); a name the book already has keeps the book's rule."""
    added = [spec for spec in user if spec.name not in book]
    unique = list({spec.name: spec for spec in reversed(added)}.values())[::-1]
    return RuleBook([*unique, *book.specs])
