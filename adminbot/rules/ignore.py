"""`[[ignore]]`: lines a rule matched that must never alert, only be counted.

An entry names a regular expression searched in the matched record (case-insensitive,
like the rules), and optionally the one rule and the one host it applies to. The
incident book drops such matches before they open or repeat an incident.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from adminbot.models import Match


@dataclass(frozen=True, slots=True)
class IgnorePattern:
    """One `[[ignore]]` table: `pattern`, and the `rule` and `host` it is limited to."""

    pattern: str
    rule: str | None = None
    host: str | None = None
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile(self.pattern, re.IGNORECASE))

    def ignores(self, match: Match) -> bool:
        if self.rule is not None and match.rule != self.rule:
            return False
        return self.regex.search(match.record.text) is not None


class IgnoreList:
    """The `[[ignore]]` entries that apply on one host."""

    def __init__(self, patterns: Iterable[IgnorePattern], host: str) -> None:
        self.patterns = tuple(p for p in patterns if p.host in (None, host))

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def split(self, matches: Sequence[Match]) -> tuple[list[Match], list[Match]]:
        """The matches kept and those ignored, each in order."""
        if not self.patterns:
            return list(matches), []
        kept: list[Match] = []
        dropped: list[Match] = []
        for match in matches:
            ignored = any(p.ignores(match) for p in self.patterns)
            (dropped if ignored else kept).append(match)
        return kept, dropped
