"""What the admin asks to see listed: the incidents a page at a time (/errors), the
kinds of error no rule knows (/kinds), the active mutes (/unmute) and the counts of a
period (/summary, and the session's at the end of a supervised run).

Pure functions of the store's rows, like every view; every log-derived value (rule
names, keys, templates) is escaped here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from adminbot.incidents.book import KEY_MARK, MUTE_ALL, shown_target
from adminbot.incidents.summary import Summary
from adminbot.models import Incident
from adminbot.notify import notices
from adminbot.store.kinds import Kind, KindState
from handlers import host_views
from handlers.i18n import Catalog
from handlers.icons import SEVERITY_ICONS
from handlers.layout import MAX_CALLBACK_BYTES, Screen, View, cut, fit, inline, keyboard
from handlers.taps import MuteTap, PageTap, callback
from handlers.words import display_name, duration, esc

MUTE_LABEL_CHARS = 28
MUTES_SHOWN = 20


def mute_name(target: str, t: Catalog) -> str:
    """A mute target as the admin reads it (plain text): a type, one incident's key, or all."""
    return t("unmute.all_types") if target == MUTE_ALL else shown_target(target)


def _mute_label(target: str, t: Catalog) -> str:
    """A mute's button label, short for a phone: a key keeps its end (the file name)."""
    rule, mark, key = target.partition(KEY_MARK)
    if not mark:
        return cut(mute_name(target, t), MUTE_LABEL_CHARS)
    room = max(MUTE_LABEL_CHARS - len(rule) - 3, 8)
    tail = key if len(key) <= room else "…" + key[-(room - 1) :]
    return f"{cut(rule, MUTE_LABEL_CHARS)} · {tail}"


def mutes_page(mutes: Mapping[str, datetime], screen: Screen) -> View:
    """The active mutes, each with its own button that lifts it."""
    t = screen.t
    if not mutes:
        return t("unmute.none"), None
    shown = list(mutes.items())[:MUTES_SHOWN]
    lines = [t("unmute.title")]
    rows: list[list[tuple[str, str]]] = []
    for target, until in shown:
        name = mute_name(target, t)
        lines.append(t("unmute.line", target=inline(name, 200), until=screen.time(until)))
        label = t("btn.unmute_one", target=_mute_label(target, t))
        rows.append([(label, MuteTap.of(target).encode())])
    return fit("\n".join(lines)), keyboard(rows)


def incident_line(incident: Incident, screen: Screen, owner: str | None = None) -> str:
    line = _incident_line(incident, screen)
    return f"{line} · 👤 {esc(display_name(owner))}" if owner else line


def _incident_line(incident: Incident, screen: Screen) -> str:
    return _incident_words(incident, screen) + host_views.line_suffix(incident, screen.hosts)


def _incident_words(incident: Incident, screen: Screen) -> str:
    return screen.t(
        "errors.line",
        icon=SEVERITY_ICONS[incident.severity],
        id=incident.id,
        rule=esc(incident.rule),
        count=incident.count,
        state=esc(screen.t(f"state.{incident.state.value}")),
        age=duration(screen.now - incident.last_seen, screen.t),
    )


def errors_page(
    incidents: Sequence[Incident],
    screen: Screen,
    *,
    page: int,
    has_more: bool,
    rule: str | None,
    size: int = 10,
    owners: Mapping[int, str] | None = None,
    host: str | None = None,
) -> View:
    """A page of incidents, newest first (who is on each), with buttons to open and page."""
    t = screen.t
    shown = " ".join(part for part in (rule, host and f"host={host}") if part)
    label = f"{esc(shown)} " if shown else ""
    if not incidents:
        return t("errors.none", filter=f" ({esc(shown)})" if shown else ""), None
    lines = [t("errors.title", filter=label, page=page + 1)]
    lines += [incident_line(i, screen, (owners or {}).get(i.id)) for i in incidents]
    opens = [(f"#{i.id}", callback("open", i)) for i in incidents]
    rows = [opens[n : n + 5] for n in range(0, len(opens), 5)]
    targets = [(t("btn.prev"), page - 1)] if page > 0 else []
    targets += [(t("btn.next"), page + 1)] if has_more else []
    paging = [(label, PageTap(n, size, rule, host).encode()) for label, n in targets]
    # A button whose data Telegram would refuse would take the whole message with it;
    # only a rule name near the 64-character maximum gets here (rules.NAME_RE).
    paging = [(label, data) for label, data in paging if len(data.encode()) <= MAX_CALLBACK_BYTES]
    return "\n".join(lines), keyboard([*rows, paging])


def kinds_page(kinds: Sequence[Kind], total: int, screen: Screen) -> str:
    """The kinds of error no rule knows, latest first: template, counts, when, state."""
    t = screen.t
    if not kinds:
        return t("kinds.none")
    lines = [t("kinds.title", count=total)]
    for kind in kinds:
        state = "learned" if kind.learned and kind.state is KindState.NEW else kind.state.value
        lines.append(
            t(
                "kinds.line",
                id=kind.id,
                template=inline(kind.template, 300),
                count=kind.count,
                first=screen.time(kind.first_seen),
                last=screen.time(kind.last_seen),
                state=esc(t(f"kinds.state.{state}")),
            )
        )
    if total > len(kinds):
        lines.append(t("kinds.more", count=total - len(kinds)))
    return fit("\n".join(lines))


def summary(
    data: Summary | notices.SessionSummary, screen: Screen, *, session: bool = False
) -> str:
    t = screen.t
    if isinstance(data, Summary):
        by_rule = sorted(data.by_rule.items())
    else:
        by_rule = [(r.rule, (r.incidents, r.hits)) for r in data.by_rule]
    if session:
        title = t(
            "summary.session_title", since=screen.time(data.since), until=screen.time(data.until)
        )
    else:
        title = t("summary.title", since=screen.time(data.since))
    lines = [title, t("summary.lines", lines=data.lines)]
    lines.append(t("summary.incidents", incidents=data.incidents, occurrences=data.occurrences))
    for rule, (count, hits) in by_rule:
        lines.append(t("summary.by_rule", rule=esc(rule), incidents=count, hits=hits))
    if isinstance(data, Summary):
        lines += host_views.summary_lines(data.by_host, t)
    lines.append(
        t("summary.actions", run=data.actions_run, ok=data.actions_ok, failed=data.actions_failed)
    )
    if data.top:
        lines.append(t("summary.top"))
        for incident in data.top:
            lines.append(
                t("summary.top_line", id=incident.id, rule=esc(incident.rule), count=incident.count)
            )
    lines.append(t("summary.open", open=data.still_open))
    if data.median_resolution is not None:
        lines.append(t("summary.resolution", duration=duration(data.median_resolution, t)))
    child = data.child if isinstance(data, notices.SessionSummary) else None
    if child is not None and child.signal is not None:
        lines.append(t("summary.child_signal", signal=esc(child.signal)))
    elif child is not None:
        lines.append(t("summary.child_exit", code=child.returncode))
    return fit("\n".join(lines))
