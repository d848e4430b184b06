"""Facts: the typed numbers and names the core hands to the views instead of sentences.

A check result, an action outcome or a notice carries a reason (an enum) and a small
mapping of facts; `handlers/` words them in the admin's language at send time. The
plain English form here is only for adminbot's own log, the console and the JSON event
log, so it uses Python's own formatting for durations rather than a second formatter.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any


def human_bytes(n: int) -> str:
    """Format a byte count in powers of 1024, as `df -h` counts, e.g. "8.2 GB"."""
    units = ("B", "KB", "MB", "GB", "TB", "PB")
    value, index = float(abs(n)), 0
    while index < len(units) - 1 and round(value, 1) >= 1024:
        value /= 1024
        index += 1
    sign = "-" if n < 0 else ""
    return f"{sign}{int(value)} B" if index == 0 else f"{sign}{value:.1f} {units[index]}"


class Size(int):
    """A byte count: shown in powers of 1024 ("8.2 GB"), stored as a plain number."""


Fact = str | int | float | timedelta | Size
"""One fact's value; `Size` and `timedelta` are kept apart from plain numbers so a
renderer can word them (bytes, a duration) and a payload can round-trip them."""

Facts = Mapping[str, Fact]

NO_FACTS: Facts = MappingProxyType({})


def facts(**values: Fact | None) -> Facts:
    """A read-only fact mapping; a `None` value means the fact is absent."""
    return MappingProxyType({k: v for k, v in values.items() if v is not None})


def plain(value: Fact) -> str:
    """One fact in plain English for logs (not for the admin: views word those)."""
    if isinstance(value, Size):
        return human_bytes(value)
    if isinstance(value, timedelta):
        return str(timedelta(seconds=round(value.total_seconds())))
    if isinstance(value, float):
        return f"{round(value, 1):g}"
    return str(value)


class Missing(dict[str, str]):
    """Template values where a fact the probe could not read shows as "?"."""

    def __missing__(self, key: str) -> str:
        return "?"


def english(template: str, values: Facts) -> str:
    """Fill a plain English template with the facts, each in its `plain` form."""
    return template.format_map(Missing({name: plain(value) for name, value in values.items()}))


def facts_to_json(values: Facts) -> dict[str, Any]:
    """Facts as JSON values; sizes and durations are tagged so they come back typed."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, Size):
            out[name] = {"bytes": int(value)}
        elif isinstance(value, timedelta):
            out[name] = {"seconds": value.total_seconds()}
        else:
            out[name] = value
    return out


def facts_from_json(data: Mapping[str, Any] | None) -> Facts:
    """The inverse of `facts_to_json`; unknown shapes are kept as text, never dropped."""
    out: dict[str, Fact] = {}
    for name, value in (data or {}).items():
        if isinstance(value, dict) and "bytes" in value:
            out[name] = Size(int(value["bytes"]))
        elif isinstance(value, dict) and "seconds" in value:
            out[name] = timedelta(seconds=float(value["seconds"]))
        elif isinstance(value, bool) or not isinstance(value, str | int | float):
            out[name] = str(value)
        else:
            out[name] = value
    return MappingProxyType(out)
