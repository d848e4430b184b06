"""The daily digest in words: short lines a phone shows whole, and the chart's caption.

Pure functions of the facts the core gathered (`adminbot.digest.facts`); every name
that comes from a log or a host is escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from adminbot.digest.facts import Count, DigestFacts
from handlers.words import esc

if TYPE_CHECKING:
    from handlers.layout import Screen

ITEMS_SHOWN = 6
"""Types or hosts named on one line; the rest are counted as "…and N more"."""


def daily_digest(facts: DigestFacts, screen: Screen) -> str:
    """Incidents by type and host, fixes and their outcome, what is still open."""
    t = screen.t
    lines = [t("daily.title", since=_when(facts.since, screen), until=_when(facts.until, screen))]
    if not facts.by_rule and not facts.fixes:
        lines.append(t("daily.quiet"))
    if facts.by_rule:
        lines.append(t("daily.incidents", incidents=facts.incidents, hits=facts.hits))
        lines.append(t("daily.by_rule", items=_items(facts.by_rule, screen)))
        lines.append(t("daily.by_host", items=_items(facts.by_host, screen)))
    if facts.fixes:
        ok = sum(f.ok for f in facts.fixes)
        failed = sum(f.failed for f in facts.fixes)
        lines.append(t("daily.fixes", run=ok + failed, ok=ok, failed=failed))
        for fix in facts.fixes:
            kind = esc(t(f"action.kind.{fix.kind}"))
            lines.append(t("daily.fix_line", kind=kind, ok=fix.ok, failed=fix.failed))
    if facts.still_open:
        items = _items(facts.open_by_rule, screen)
        lines.append(t("daily.open", count=facts.still_open, items=items))
        for incident in facts.top_open:
            lines.append(
                t(
                    "daily.open_line",
                    id=incident.id,
                    rule=esc(incident.rule),
                    count=incident.count,
                    host=esc(incident.host),
                )
            )
    else:
        lines.append(t("daily.open_none"))
    return "\n".join(lines)


def chart_caption(since: datetime, until: datetime, screen: Screen) -> str:
    """The photo's caption: which window, and what the two panels show."""
    return screen.t("chart.caption", since=_when(since, screen), until=_when(until, screen))


def _items(counts: Sequence[Count], screen: Screen) -> str:
    """ "timeout 7 · permisos 3 · …and 2 more": the biggest first, names escaped."""
    shown = [f"{esc(c.name) or '?'} {c.incidents}" for c in counts[:ITEMS_SHOWN]]
    if len(counts) > ITEMS_SHOWN:
        shown.append(screen.t("daily.more", count=len(counts) - ITEMS_SHOWN))
    return " · ".join(shown)


def _when(moment: datetime, screen: Screen) -> str:
    """Day and minute in the admin's zone: a digest's window spans two days."""
    return moment.astimezone(screen.zone).strftime("%d/%m %H:%M")
