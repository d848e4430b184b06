"""Noise control in words: maintenance windows, their summaries, thresholds, ignored lines.

Pure functions of the core's facts, like the other views; every log-derived value
(rule names, keys, hosts) is escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from adminbot.incidents.maintenance import Origin, Window
from adminbot.notify.notices import MaintenanceOver
from adminbot.rules.spec import RuleSpec
from adminbot.rules.threshold import Threshold
from adminbot.store.noise import Ignored
from handlers.i18n import Catalog
from handlers.layout import Screen, fit, inline
from handlers.words import duration, esc

KEY_CHARS = 120


def span(delta: timedelta, t: Catalog) -> str:
    """A threshold's window as written: "10 min", "1 h", "30 s", "2 d"."""
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return t(f"noise.span.{unit}", n=seconds // size)
    return t("noise.span.s", n=seconds)


def threshold_line(threshold: Threshold, t: Catalog) -> str:
    """On the alert of a rule with a threshold: what it took ("5 in 10 min")."""
    return t("threshold.reached", count=threshold.count, window=span(threshold.window, t))


def alert_notes(spec: RuleSpec | None, t: Catalog) -> list[str]:
    """The lines noise control adds to an alert: the threshold its rule reached."""
    threshold = spec.threshold if spec is not None else None
    if threshold is None or threshold.alerts_at_once:
        return []
    return [esc(threshold_line(threshold, t))]


def scope(rules: Sequence[str], hosts: Sequence[str], t: Catalog) -> str:
    types = ", ".join(esc(r) for r in sorted(rules)) if rules else t("maintenance.all_types")
    if not hosts:
        return types
    return t("maintenance.on_hosts", types=types, hosts=", ".join(esc(h) for h in sorted(hosts)))


def maintenance_list(windows: Sequence[Window], screen: Screen) -> str:
    """`/maintenance`: the windows open now, with when each ends."""
    t = screen.t
    if not windows:
        return t("maintenance.none")
    lines = [t("maintenance.title", count=len(windows))]
    for window in windows:
        key = "maintenance.line_adhoc" if window.origin is Origin.ADHOC else "maintenance.line"
        lines.append(
            t(
                key,
                scope=scope(tuple(window.scope.rules), tuple(window.scope.hosts), t),
                until=screen.time(window.ends),
                left=duration(window.ends - screen.now, t),
            )
        )
    return fit("\n".join(lines))


def maintenance_started(window: Window, screen: Screen) -> str:
    t = screen.t
    return t(
        "maintenance.started",
        scope=scope(tuple(window.scope.rules), tuple(window.scope.hosts), t),
        until=screen.time(window.ends),
    )


def maintenance_over(item: MaintenanceOver, screen: Screen) -> str:
    """One message when a window ends: what its incidents did meanwhile, or nothing."""
    t = screen.t
    title = t(
        "maintenance.over",
        scope=scope(item.rules, item.hosts, t),
        since=screen.time(item.starts),
        until=screen.time(item.ends),
    )
    if not item.by_rule:
        return f"{title}\n{t('maintenance.nothing')}"
    lines = [title]
    for tally in item.by_rule:
        repeats = tally.hits - tally.opened
        lines.append(
            t("maintenance.rule", rule=esc(tally.rule), opened=tally.opened, repeats=repeats)
        )
    if item.top:
        lines.append(t("maintenance.keys"))
        for key in item.top:
            value = inline(key.key, KEY_CHARS) if key.key else "—"
            lines.append(t("maintenance.key", rule=esc(key.rule), value=value, hits=key.hits))
    lines.append(t("maintenance.recorded"))
    return fit("\n".join(lines))


def with_ignored(text: str, ignored: Ignored, rule: str | None, screen: Screen) -> str:
    """/errors: how many matched lines `[[ignore]]` kept from alerting, under the title."""
    count = ignored.by_rule.get(rule, 0) if rule else ignored.total
    if not count or ignored.last is None:
        return text
    line = screen.t(
        "errors.ignored", count=count, age=duration(screen.now - ignored.last, screen.t)
    )
    title, _, rest = text.partition("\n")
    return f"{title}\n{line}\n{rest}" if rest else f"{title}\n{line}"


def with_maintenance(text: str, windows: Sequence[Window], screen: Screen) -> str:
    """/status: the maintenance windows open now, right under its title."""
    if not windows:
        return text
    t = screen.t
    lines = [
        t(
            "status.maintenance",
            scope=scope(tuple(w.scope.rules), tuple(w.scope.hosts), t),
            until=screen.time(w.ends),
        )
        for w in windows
    ]
    title, _, rest = text.partition("\n")
    return fit("\n".join([title, *lines, rest]))
