"""Rules as `[[rules]]` TOML: those of the configuration and those made in the chat.

`adminbot rules export` prints them so a rule made in the chat can be moved into
the configuration file (and reviewed, versioned, shared between hosts).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from adminbot.rules.spec import DEFAULT_MIN_LEVEL, RuleBook, RuleSpec


@dataclass(frozen=True, slots=True)
class Exported:
    """One rule to print, with a comment line saying where it comes from."""

    spec: RuleSpec
    origin: str


def _string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def rule_toml(spec: RuleSpec) -> str:
    """One `[[rules]]` table whose loading gives back this rule."""
    assert spec.pattern is not None
    lines = [
        "[[rules]]",
        f"name = {_string(spec.name)}",
        f"pattern = {_string(spec.pattern)}",
        f"severity = {_string(spec.severity.value)}",
        f"policy = {_string(spec.policy.value)}",
    ]
    if spec.min_level != DEFAULT_MIN_LEVEL:
        lines.append(f"min_level = {_string(spec.min_level or 'DEBUG')}")
    if spec.key_fields:
        lines.append(f"key_fields = [{', '.join(_string(f) for f in spec.key_fields)}]")
    if not spec.enabled:
        lines.append("enabled = false")
    if spec.description:
        lines.append(f"description = {_string(spec.description)}")
    return "\n".join(lines)


def user_rules(book: RuleBook, chat: Sequence[Exported]) -> list[Exported]:
    """The configuration's own `[[rules]]`, then the chat's that it does not shadow."""
    config = [Exported(spec, "from the configuration") for spec in book.specs if not spec.builtin]
    config = [item for item in config if item.spec.classifies]
    return config + [item for item in chat if item.spec.name not in book]


def export_toml(rules: Sequence[Exported]) -> str:
    """The rules as TOML, each after a comment saying where it comes from."""
    if not rules:
        return "# no rules of your own: none in the configuration, none made in the chat\n"
    return "\n\n".join(f"# {item.origin}\n{rule_toml(item.spec)}" for item in rules) + "\n"
