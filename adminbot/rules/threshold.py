"""Per-rule thresholds: a rule alerts only once it matched `count` times within `window`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_SHAPE = re.compile(r"\s*([0-9]+)\s*/\s*([0-9]+(?:\.[0-9]+)?)\s*(s|m|h|d)\s*")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
MAX_COUNT = 100_000


@dataclass(frozen=True, slots=True)
class Threshold:
    """`count` matches of one rule on one host within `window` before anyone is told."""

    count: int
    window: timedelta

    @classmethod
    def parse(cls, text: object) -> Threshold:
        """From "5/10m" (5 matches in 10 minutes); a mistake raises ValueError saying why."""
        found = _SHAPE.fullmatch(text) if isinstance(text, str) else None
        if found is None:
            raise ValueError(f'expected a threshold such as "5/10m", got {text!r}')
        count = int(found[1])
        window = timedelta(seconds=float(found[2]) * _UNIT_SECONDS[found[3]])
        if not 1 <= count <= MAX_COUNT:
            raise ValueError(f"the count must be between 1 and {MAX_COUNT}, got {count}")
        if window <= timedelta(0):
            raise ValueError(f"the window must be longer than 0s, got {text!r}")
        return cls(count, window)

    @property
    def alerts_at_once(self) -> bool:
        """A count of 1 is the default behaviour: the first match alerts."""
        return self.count <= 1
