"""Value parsers more than one section shares: a number whose default is the
dataclass field's, a path relative to the working folder, a duration such as "5m".
"""

from __future__ import annotations

import re
from pathlib import Path

from adminbot.tables import Table


def _number(table: Table, name: str, defaults: object, **limits: float) -> float:
    """A required-with-default number: the default is the dataclass field's, written once."""
    value = table.number(name, getattr(defaults, name), **limits)
    assert value is not None  # the dataclass default is a number
    return value


def _resolve(value: str, cwd: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (cwd / path)


_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(s|m|h|d)")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _duration(table: Table, name: str, default: float, *, zero: bool = False) -> float:
    """A duration written as "30s", "5m", "1h" or "2d", in seconds; with `zero`, also 0
    (or "0") where it means "none". A bare number is refused: its unit would be a guess."""
    value = table.get(name, (str, int), None)
    if value is None:
        return default
    text = str(value).strip()
    if zero and text == "0":
        return 0.0
    found = _DURATION.fullmatch(text) if isinstance(value, str) else None
    if found is None:
        example = '"30s", "5m" or "1h"' + (" or 0" if zero else "")
        raise table.fail(name, f"expected a duration such as {example}, got {value!r}")
    return float(found[1]) * _UNIT_SECONDS[found[2]]
