"""One rule, whole: how its lines are recognised and what its incidents mean and offer.

As a fail2ban jail binds a filter to its actions in one place, a `RuleSpec` binds a
pattern (or none, for incidents only a check or the supervisor raises) to severity,
grouping, policy and the fixes offered. `RuleBook` holds every spec by name with the
policy already resolved, so no caller keeps a second table keyed by rule name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from adminbot.models import ActionKind, Policy, Severity
from adminbot.rules.fields import derive_keywords
from adminbot.rules.headers import LEVEL_RANK, normalise_level
from adminbot.rules.threshold import Threshold

DEFAULT_MIN_LEVEL = "WARNING"


@dataclass(frozen=True)
class RuleSpec:
    """One error type: a case-insensitive regex over one line, and what a match means.

    `pattern` is None for incident types no log line announces (a failed check, a
    dead child process). `min_level` gates headered records (None: any level);
    header-less records (stderr, bare tracebacks) have no level and are always
    tried. `keywords` are lower-case literals of which every match contains one; the
    classifier uses them to skip lines cheaply. Left empty they are derived from the
    pattern when that is safe. `fixes` are offered in order, and the first is what an
    `auto` policy runs; `verify_first` re-checks before asking the admin,
    `disk_report` attaches disk usage to the alert, and `quiet_success` keeps a
    successful automatic fix to the audit. `threshold` (None: the first match) holds
    alerts and automatic fixes until the rule matched that often in its window.
    """

    name: str
    pattern: str | None
    severity: Severity = Severity.ERROR
    min_level: str | None = DEFAULT_MIN_LEVEL
    key_fields: tuple[str, ...] = ()
    policy: Policy = Policy.ALERT
    enabled: bool = True
    description: str = ""
    builtin: bool = False
    keywords: tuple[str, ...] = ()
    fixes: tuple[ActionKind, ...] = ()
    fallbacks: tuple[ActionKind, ...] = ()
    """Offered only when none of `fixes` can run (Quarantine when a retry is impossible)."""
    verify_first: bool = False
    disk_report: bool = False
    quiet_success: bool = False
    threshold: Threshold | None = None

    def __post_init__(self) -> None:
        if self.min_level is not None:
            level = normalise_level(self.min_level)
            if level not in LEVEL_RANK:
                raise ValueError(f"rule {self.name!r}: unknown min_level {self.min_level!r}")
            object.__setattr__(self, "min_level", level)
        if not self.keywords and self.pattern is not None:
            object.__setattr__(self, "keywords", derive_keywords(self.pattern))

    @property
    def classifies(self) -> bool:
        """Whether log lines can raise this rule (it has a pattern)."""
        return self.pattern is not None

    def accepts_level(self, level: str | None) -> bool:
        """Whether a record at `level` may match (header-less records always may)."""
        if level is None or self.min_level is None:
            return True
        return LEVEL_RANK.get(level, 0) >= LEVEL_RANK.get(self.min_level, 0)


class RuleBook(Mapping[str, RuleSpec]):
    """Every rule in precedence order, looked up by name; built once, never changed."""

    def __init__(self, specs: Iterable[RuleSpec]) -> None:
        by_name: dict[str, RuleSpec] = {}
        for spec in specs:
            if spec.name in by_name:
                raise ValueError(f"duplicate rule name {spec.name!r}")
            by_name[spec.name] = spec
        self._by_name = by_name

    def __getitem__(self, name: str) -> RuleSpec:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def __repr__(self) -> str:
        return f"RuleBook({', '.join(self._by_name)})"

    @property
    def specs(self) -> tuple[RuleSpec, ...]:
        return tuple(self._by_name.values())

    @property
    def classifying(self) -> tuple[RuleSpec, ...]:
        """The specs with a pattern, in precedence order: what the classifier compiles."""
        return tuple(spec for spec in self._by_name.values() if spec.classifies)
