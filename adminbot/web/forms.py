"""What the dashboard's forms ask for, read from a posted form: malformed values give None.

The page checks nothing the core does not check again; these only turn form fields
into the values the core functions take.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import timedelta

from adminbot.incidents.schedule import Scope
from adminbot.incidents.summary import parse_period
from adminbot.kinds.makerule import Edit
from adminbot.models import Severity
from adminbot.service.verbs import MUTE_HOURS

MAX_FIELD = 2000
MAX_HOST = 100


def _field(form: Mapping[str, object], name: str, limit: int = MAX_FIELD) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def maintenance(
    form: Mapping[str, object], rules: Collection[str]
) -> tuple[timedelta, Scope] | None:
    """A window's duration ("30m", "2h", "1d") and scope: one known type and/or one host."""
    period = parse_period(_field(form, "duration", 8))
    rule = _field(form, "type", 64)
    host = _field(form, "host", MAX_HOST)
    if period is None or (rule and rule not in rules) or any(c.isspace() for c in host):
        return None
    scope = Scope(frozenset({rule} - {""}), frozenset({host} - {""}))
    return period, scope


def mute_for(form: Mapping[str, object]) -> timedelta | None:
    """One of the offered mute durations (1 h when the form names none)."""
    hours = _field(form, "hours", 4) or "1"
    if not hours.isdigit() or int(hours) not in MUTE_HOURS:
        return None
    return timedelta(hours=int(hours))


def rule_edit(form: Mapping[str, object], default: Severity) -> Edit:
    """The rule as edited; an unknown severity falls back to the default."""
    raw = _field(form, "severity", 16)
    severity = Severity(raw) if raw in {s.value for s in Severity} else default
    return Edit(_field(form, "name", 64), _field(form, "pattern"), severity)
