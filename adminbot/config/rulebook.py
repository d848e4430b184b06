"""The rules and the noise control checked against them: `[[rules]]`,
`disabled_rules`, `[policies]` and `[thresholds]` resolved into one rule book, then
`[[maintenance]]` windows and `[[ignore]]` patterns, whose rule names must be in it.
"""

from __future__ import annotations

import re

from adminbot.incidents.schedule import Scheduled, Scope, parse_clock, parse_days
from adminbot.models import Policy
from adminbot.rules.ignore import IgnorePattern
from adminbot.rules.loader import build_rulebook, rule_from_table
from adminbot.rules.spec import RuleBook
from adminbot.rules.threshold import Threshold
from adminbot.tables import Table


def _rules(top: Table) -> RuleBook:
    """`[[rules]]`, `disabled_rules` and `[policies]`, resolved into one checked rule book."""
    tables = top.get("rules", list, [])
    custom = []
    for index, item in enumerate(tables):
        if not isinstance(item, dict):
            raise top.fail(f"rules[{index}]", "expected a table ([[rules]])")
        custom.append(rule_from_table(item, index, top.file))
    disabled = top.strings("disabled_rules")
    table = top.table("policies")
    policies = {name: table.choice(name, Policy, Policy.ASK) for name in list(table.data)}
    thresholds = _thresholds(top.table("thresholds"))
    return build_rulebook(custom, disabled, policies, file=top.file, thresholds=thresholds)


def _thresholds(table: Table) -> dict[str, Threshold]:
    """`[thresholds] timeout = "5/10m"`; whether each name is a rule is checked with the book."""
    found = {}
    for name in list(table.data):
        try:
            found[name] = Threshold.parse(table.get(name, str, ""))
        except ValueError as exc:
            raise table.fail(name, str(exc)) from None
    return found


def _tables(top: Table, name: str) -> list[Table]:
    """An array of tables such as `[[maintenance]]`, each named `name[i].` in errors."""
    tables = []
    for index, item in enumerate(top.get(name, list, [])):
        if not isinstance(item, dict):
            raise top.fail(f"{name}[{index}]", f"expected a table ([[{name}]])")
        tables.append(Table(item, f"{name}[{index}].", top.file))
    return tables


def _rule_names(table: Table, name: str, rules: RuleBook) -> frozenset[str]:
    names = table.strings(name)
    for index, rule in enumerate(names):
        if rule not in rules:
            known = ", ".join(rules)
            raise table.fail(f"{name}[{index}]", f"{rule!r} names no rule; rules: {known}")
    return frozenset(names)


def _maintenance(top: Table, rules: RuleBook) -> tuple[Scheduled, ...]:
    scheduled = []
    for index, table in enumerate(_tables(top, "maintenance")):
        try:
            days = parse_days(table.data["days"]) if "days" in table else frozenset(range(7))
        except ValueError as exc:
            raise table.fail("days", str(exc)) from None
        table.used.add("days")
        bounds = []
        for name in ("from", "to"):
            try:
                bounds.append(parse_clock(table.required(name)))
            except ValueError as exc:
                raise table.fail(name, str(exc)) from None
        if bounds[0] == bounds[1]:
            raise table.fail("to", "must differ from `from` (the window would be empty)")
        scope = Scope(_rule_names(table, "types", rules), frozenset(table.strings("hosts")))
        scheduled.append(Scheduled(index, bounds[0], bounds[1], days, scope))
        table.reject_unknown()
    return tuple(scheduled)


def _ignore(top: Table, rules: RuleBook) -> tuple[IgnorePattern, ...]:
    patterns = []
    for table in _tables(top, "ignore"):
        pattern = table.required("pattern")
        rule = table.get("rule", str, None)
        if rule is not None and rule not in rules:
            raise table.fail("rule", f"{rule!r} names no rule; rules: {', '.join(rules)}")
        try:
            patterns.append(IgnorePattern(pattern, rule, table.get("host", str, None)))
        except re.error as exc:
            raise table.fail("pattern", f"not a valid regular expression: {exc}") from None
        table.reject_unknown()
    return tuple(patterns)
