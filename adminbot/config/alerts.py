"""The sections about telling people: `[alerts]` (throttling, storms, quiet hours,
reminders, topics), `[digest]` (the daily message) and `[access]` (who besides the
owners may use the bot).
"""

from __future__ import annotations

import logging

from adminbot.config.model import AccessConfig, AlertConfig, DigestConfig
from adminbot.config.values import _duration, _number
from adminbot.incidents.schedule import parse_clock
from adminbot.notify.quiet import QUIET_MODES, QuietHours
from adminbot.tables import Table

logger = logging.getLogger(__name__)


def _alerts(table: Table) -> AlertConfig:
    if table.get("unmatched_errors", bool, None) is not None:
        logger.warning(
            "%s: %s is no longer used and is ignored; remove it",
            table.file,
            table.key("unmatched_errors"),
        )
    config = AlertConfig(
        edit_throttle_seconds=_number(table, "edit_throttle_seconds", AlertConfig()),
        storm_threshold=table.integer("storm_threshold", AlertConfig.storm_threshold),
        quiet_hours=_quiet_hours(table),
        quiet_mode=_quiet_mode(table),
        remind_after=_duration(table, "remind_after", AlertConfig.remind_after),
        remind_every=_duration(table, "remind_every", AlertConfig.remind_every),
        topics=_topics(table),
    )
    if config.remind_every <= 0 or config.remind_after <= 0:
        name = "remind_every" if config.remind_every <= 0 else "remind_after"
        raise table.fail(name, "must be longer than 0s")
    table.reject_unknown()
    return config


def _quiet_hours(table: Table) -> str | None:
    value = table.get("quiet_hours", str, None)
    if value is None or not value.strip():
        return None
    try:
        QuietHours.parse(value, "UTC")
    except ValueError as exc:
        raise table.fail("quiet_hours", str(exc)) from None
    return value.strip()


TOPIC_MODES = ("type", "host", "none")


def _topics(table: Table) -> str:
    value = table.get("topics", str, AlertConfig.topics)
    if value not in TOPIC_MODES:
        raise table.fail("topics", f"must be one of {', '.join(TOPIC_MODES)}, got {value!r}")
    return value


def _quiet_mode(table: Table) -> str:
    value = table.get("quiet_mode", str, AlertConfig.quiet_mode)
    if value not in QUIET_MODES:
        raise table.fail("quiet_mode", f"must be one of {', '.join(QUIET_MODES)}, got {value!r}")
    return value


def _digest(table: Table) -> DigestConfig:
    value = table.get("at", str, None)
    try:
        at = parse_clock(value) if value is not None and value.strip() else None
    except ValueError as exc:
        raise table.fail("at", str(exc)) from None
    config = DigestConfig(at=at, chart=table.get("chart", bool, DigestConfig.chart))
    table.reject_unknown()
    return config


def _access(table: Table) -> AccessConfig:
    config = AccessConfig(
        responders=_user_ids(table, "responders"), viewers=_user_ids(table, "viewers")
    )
    table.reject_unknown()
    return config


def _user_ids(table: Table, name: str) -> frozenset[int]:
    """A list of numeric Telegram user ids."""
    value = table.get(name, list, [])
    for index, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int) or item <= 0:
            raise table.fail(
                f"{name}[{index}]", f"expected a numeric Telegram user id, got {item!r}"
            )
    return frozenset(value)
