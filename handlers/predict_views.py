"""The predictions in words: a disk filling up and a rule running hot, in alerts and /status.

Pure functions of the facts the core keeps (`adminbot.predict.watch`): an incident's
fields for the alert, the `Outlook` for /status.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from adminbot.facts import human_bytes
from adminbot.models import Incident
from adminbot.predict.watch import Outlook
from adminbot.rules.builtin import DISCO_PREVISTO, RITMO_INUSUAL
from handlers.i18n import Catalog
from handlers.words import esc


def eta(left: timedelta, t: Catalog) -> str:
    """Time left, to the minute: "2 h 10 min", "45 min"."""
    minutes = max(1, round(left.total_seconds() / 60))
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return t("predict.eta_m", minutes=minutes)
    if not minutes:
        return t("predict.eta_h", hours=hours)
    return t("predict.eta_hm", hours=hours, minutes=minutes)


def disk_line(folder: str, left: timedelta, rate_per_hour: float, t: Catalog) -> str:
    rate = human_bytes(round(rate_per_hour))
    return t("predict.disk", folder=esc(folder), eta=eta(left, t), rate=rate)


def rate_line(rule: str, factor: float, per_hour: float, usual: float, t: Catalog) -> str:
    return t(
        "predict.rate",
        rule=esc(rule),
        factor=f"{factor:.0f}",
        per_hour=f"{per_hour:.0f}",
        usual=f"{usual:.1f}",
    )


def alert_lines(incident: Incident, t: Catalog) -> list[str]:
    """The prediction an alert is about, worded; nothing for other rules."""
    fields: Mapping[str, str] = incident.fields
    try:
        if incident.rule == DISCO_PREVISTO.name:
            left = timedelta(seconds=float(fields["eta_seconds"]))
            return [disk_line(fields["folder"], left, float(fields["rate_per_hour"]), t)]
        if incident.rule == RITMO_INUSUAL.name:
            factor, per_hour = float(fields["factor"]), float(fields["per_hour"])
            return [rate_line(fields["rule"], factor, per_hour, float(fields["usual"]), t)]
    except (KeyError, ValueError):
        return []  # an incident raised before these fields were kept: its sample says it
    return []


def status_lines(outlook: Outlook, t: Catalog) -> list[str]:
    """The predictions in force, under their own heading."""
    lines = [t("predict.status_title")]
    for disk in outlook.disks:
        fill = disk.forecast
        lines.append("• " + disk_line(disk.folder, fill.eta, fill.rate_per_hour, t))
    for rule, hot in outlook.rates:
        lines.append("• " + rate_line(rule, hot.factor, hot.per_hour, hot.usual.mean, t))
    return lines
