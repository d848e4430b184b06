"""An incident's alert: its message, the buttons that still make sense on it, the Mute
durations its keyboard turns into, and the latest fixes and reports under it.

Pure functions from data to (HTML text, inline keyboard), like every view: nothing
here talks to Telegram or the store, and all log-derived text is escaped here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from telegram import InlineKeyboardMarkup

from adminbot.actions.diskreport import DiskReport
from adminbot.actions.outcome import notes_from_detail
from adminbot.incidents.recurrence import Recurrence
from adminbot.models import Incident, IncidentState, Severity
from adminbot.rules.builtin import PROCESO_CAIDO
from adminbot.rules.fields import SHOWN_FIELDS
from adminbot.store.rows import AuditEntry
from handlers import host_views, predict_views, words
from handlers.i18n import Catalog
from handlers.layout import MAX_CHARS, Screen, View, cut, fit, inline, keyboard, visible_len
from handlers.taps import MUTE_HOURS, callback
from handlers.words import display_name, duration, esc, plain_text

SAMPLE_CHARS = 700
SOURCE_CHARS = 300
HISTORY_CHARS = 500


def alert(
    incident: Incident,
    screen: Screen,
    actions: Sequence[str],
    history: Sequence[AuditEntry] = (),
    actors: Mapping[str, str] | None = None,
    *,
    no_fix: str | None = None,
    waiting_since: datetime | None = None,
    repeated: bool = False,
    extra_rows: Sequence[Sequence[tuple[str, str]]] = (),
    on_it: tuple[str, datetime] | None = None,
    muted_until: datetime | None = None,
    recurrence: Recurrence | None = None,
    notes: Sequence[str] = (),
) -> View:
    """One incident as an alert message, with the buttons that still make sense; an
    alert without a fix button says why, and a fix held for the server says so.

    `repeated`: this message may repeat one a crash or a timeout kept us from seeing
    arrive, so it says so (and keeps saying so when edited). `notes` are lines already
    worded and escaped (a threshold reached)."""
    t = screen.t
    severity = t(f"severity.{incident.severity.value}")
    title = f"<b>{severity} · {esc(incident.rule)}</b> #{incident.id}"
    if incident.is_open:
        critical = incident.severity is Severity.CRITICAL
        title += f" — {esc(t('critical_note') if critical else t('recoverable'))}"
    lines = [title, *host_views.alert_lines(incident, screen.hosts, t)]
    if repeated:
        lines.append(t("delivery.repeated"))
    if on_it is not None:
        lines.append(t("alert.on_it", who=esc(display_name(on_it[0])), when=screen.time(on_it[1])))
    if muted_until is not None and incident.is_open:
        lines.append(esc(t("alert.muted", until=screen.time(muted_until))))
    if recurrence is not None:
        lines.append(esc(recurred(incident, recurrence, screen)))
    lines += notes
    lines.append(f"{t('alert.file')}: <code>{inline(incident.source, SOURCE_CHARS)}</code>")
    for name, value in sorted(incident.fields.items()):
        if name in SHOWN_FIELDS:
            lines.append(f"{esc(name)}: <code>{inline(value, 200)}</code>")
    lines += predict_views.alert_lines(incident, t)
    first, last = screen.time(incident.first_seen), screen.time(incident.last_seen)
    lines.append(esc(t("alert.count", count=incident.count, first=first, last=last)))
    lines.append(f"{t('alert.state')}: <b>{esc(t(f'state.{incident.state.value}'))}</b>")
    if waiting_since is not None and incident.is_open:
        lines.append(esc(t("alert.waiting_server", since=screen.time(waiting_since))))
    if no_fix is not None and incident.is_open and not actions:
        lines.append(esc(t("alert.no_fix", why=no_fix)))
    for entry in history[-3:]:
        lines += _history(entry, screen, (actors or {}).get(entry.actor, entry.actor))
    head = fit("\n".join(lines), MAX_CHARS - 20)  # the last resort drops history lines
    budget = MAX_CHARS - visible_len(head) - 10
    sample = _sample(incident.sample, min(SAMPLE_CHARS, budget))
    text = f"{head}\n<pre>{esc(sample)}</pre>" if sample else head
    buttons = [] if incident.state.is_closed else _alert_buttons(incident, t, actions, muted_until)
    if buttons:  # evidence and decisions go above Ignore / Mute
        buttons[-1:-1] = [list(row) for row in extra_rows]
    return text, keyboard(buttons)


def recurred(incident: Incident, again: Recurrence, screen: Screen) -> str:
    """How often this trouble came back in a row: a crash loop, or a check that flaps."""
    t = screen.t
    span = duration(again.last - again.since, t)
    loop = "loop" if incident.rule == PROCESO_CAIDO.name else "flap"
    if again.settled_at is not None and incident.state is IncidentState.RESOLVED:
        since = screen.time(again.settled_at)
        return t(f"alert.{loop}_settled", count=again.count, span=span, since=since)
    return t(f"alert.{loop}_open", count=again.count, span=span)


def _history(entry: AuditEntry, screen: Screen, who: str) -> list[str]:
    """One audit row under the alert: a fix with its outcome, or a report (disk usage)."""
    t, when = screen.t, screen.time(entry.at)
    if entry.detail and "disk" in entry.detail:
        report = DiskReport.from_json(entry.detail)
        title = t("alert.report", title=t("disk.title"), actor=esc(who), when=when)
        return [title, *words.disk_report(report, t)]
    icon = "✅" if entry.ok else "❌"
    notes = notes_from_detail(entry.detail)
    if notes:
        summary = words.notes(notes, t)
        if visible_len(summary) > HISTORY_CHARS:
            summary = esc(cut(plain_text(summary), HISTORY_CHARS))
    else:  # a row written before outcomes were facts: its English text
        summary = esc(cut(entry.summary, HISTORY_CHARS))
    return [t("alert.done", icon=icon, summary=summary, actor=esc(who), when=when)]


def _sample(text: str, limit: int) -> str:
    """The record's first line, and its last line if it is a traceback, cut to fit."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or limit <= 0:
        return ""
    shown = lines[0] if len(lines) == 1 else f"{lines[0]}\n…\n{lines[-1]}"
    return cut(shown, limit)


def _alert_buttons(
    incident: Incident, t: Catalog, actions: Sequence[str], muted_until: datetime | None = None
) -> list[list[tuple[str, str]]]:
    fixes = [(t(f"btn.{kind}"), callback("act", incident, kind)) for kind in actions]
    mute = (
        (t("btn.unmute"), callback("unm", incident))
        if muted_until is not None
        else (t("btn.mute"), callback("mute", incident))
    )
    ack = (
        [(t("btn.ack"), callback("ack", incident))] if incident.state is IncidentState.OPEN else []
    )
    return [
        fixes[:2],
        fixes[2:],
        [*ack, (t("btn.resolve"), callback("res", incident))],
        [(t("btn.ignore"), callback("ign", incident)), mute],
    ]


def mute_choices(incident: Incident, t: Catalog) -> InlineKeyboardMarkup | None:
    """What the Mute button turns the alert's keyboard into: how long, or back."""
    hours = [(t("btn.mute_for", hours=h), callback("mute", incident, f"{h}h")) for h in MUTE_HOURS]
    return keyboard([hours, [(t("btn.back"), callback("back", incident))]])
