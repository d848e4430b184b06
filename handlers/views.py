"""Message views: pure functions from data to (HTML text, inline keyboard).

Nothing here talks to Telegram or the store, so every screen is unit-tested as data.
All log-derived text is escaped here, in one place.

Over ~400 lines: one pure function per screen; split by screen family (alerts,
status, notices) when the next page type (the web page) arrives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from adminbot.actions.diskreport import DiskReport
from adminbot.actions.outcome import notes_from_detail
from adminbot.checks.base import CheckResult, CheckState
from adminbot.incidents.book import KEY_MARK, MUTE_ALL, shown_target
from adminbot.incidents.recurrence import Recurrence
from adminbot.incidents.summary import Summary
from adminbot.models import Incident, IncidentState, Severity
from adminbot.notify import notices
from adminbot.rules.builtin import PROCESO_CAIDO
from adminbot.rules.fields import SHOWN_FIELDS
from adminbot.store.damage import ResumeFrom
from adminbot.store.kinds import Kind, KindState
from adminbot.store.rows import AuditEntry, StormFacts
from handlers import digest_views, host_views, predict_views, words
from handlers.i18n import Catalog
from handlers.layout import MAX_CHARS, Screen, View, cut, fit, inline, visible_len
from handlers.taps import MUTE_HOURS, MuteTap, PageTap, Tap, Verb
from handlers.words import duration, esc, plain_text

__all__ = ["duration", "esc"]  # the one formatter and the one escaper, used by callers

MAX_CALLBACK_BYTES = 64
SAMPLE_CHARS = 700
SOURCE_CHARS = 300
HISTORY_CHARS = 500

CHECK_ICONS = {
    CheckState.OK: "✅",
    CheckState.WARNING: "🟡",
    CheckState.CRITICAL: "🔴",
    CheckState.UNKNOWN: "❔",
}
SEVERITY_ICONS = {
    Severity.INFO: "ℹ️",
    Severity.WARNING: "🟡",
    Severity.ERROR: "🟠",
    Severity.CRITICAL: "🔴",
}


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    rows = [row for row in rows if row]
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def callback(verb: str, incident: Incident, extra: str = "") -> str:
    """Opaque callback data: a verb, the incident id and its random token; never a path."""
    return Tap(Verb(verb), incident.id, incident.token, extra).encode()


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


def display_name(actor: str) -> str:
    """The name part of an audited actor ("Ana · id 42" → "Ana")."""
    return actor.split(" · id ", 1)[0]


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


def check_flip(result: CheckResult, old: CheckState | None, screen: Screen) -> str:
    t = screen.t
    if result.state is CheckState.OK:
        return t("check.recovered", name=esc(result.name), summary=words.check(result, t))
    new = esc(t(f"check.state.{result.state.value}"))
    icon, name, summary = CHECK_ICONS[result.state], esc(result.name), words.check(result, t)
    if old is None:  # the first result seen: there is no earlier state to tell
        return t("check.first", icon=icon, name=name, new=new, summary=summary)
    old_state = esc(t(f"check.state.{old.value}"))
    return t("check.flip", icon=icon, name=name, old=old_state, new=new, summary=summary)


def self_watch(part: str, ok: bool, detail: str, screen: Screen) -> str:
    key = "selfwatch.ok" if ok else "selfwatch.failing"
    return screen.t(key, part=esc(part), detail=esc(detail))


def store_recovered(item: notices.StoreRecovered, screen: Screen) -> str:
    """What was wrong with the store, where the damaged file is, where tailing went on."""
    t = screen.t
    lines = [t(f"store.damaged.{item.reason.value}", when=screen.time(item.at))]
    if item.moved_to is not None:
        lines.append(t("store.moved", path=esc(item.moved_to)))
    if item.resume is ResumeFrom.POSITIONS and item.positions_at is not None:
        lines.append(
            t("store.resume.positions", files=item.files, when=screen.time(item.positions_at))
        )
    else:
        lines.append(t(f"store.resume.{item.resume.value}"))
    return "\n".join(lines)


def lines_unrecorded(item: notices.LinesUnrecorded, screen: Screen) -> str:
    rules = ", ".join(esc(rule) for rule in item.rules) or "?"
    return screen.t(
        "store.unrecorded",
        records=item.records,
        lines=item.lines,
        source=esc(item.source),
        first=item.first_line,
        last=item.last_line,
        rules=rules,
    )


def quiet_digest(held: Sequence[notices.HeldAlert], screen: Screen) -> str:
    """The alerts held during quiet hours, one line each."""
    t = screen.t
    lines = [t("digest.title", count=len(held))]
    for h in held:
        icon = SEVERITY_ICONS.get(h.severity, "")  # type: ignore[call-overload]  # a StrEnum key equals its string
        lines.append(
            t(
                "digest.line",
                icon=icon,
                id=h.id,
                rule=esc(h.rule),
                count=h.count,
                when=screen.time(h.first_seen),
            )
        )
    return fit("\n".join(lines), MAX_CHARS)


def reminder(item: notices.Reminder, screen: Screen) -> str:
    """A critical incident still open and unacknowledged (sent as a reply to its alert)."""
    return screen.t(
        "remind.text",
        id=item.incident_id,
        rule=esc(item.rule),
        count=item.count,
        when=screen.time(item.opened),
        age=duration(screen.now - item.opened, screen.t),
    )


def notice(item: notices.Notice, screen: Screen, files: Sequence[str] = ()) -> View:
    """Any notice as a message; a second channel only needs its own version of this."""
    t = screen.t
    match item:
        case notices.Started():
            watching = ", ".join(f"<code>{esc(p)}</code>" for p in files)
            return t("started", files=watching), None
        case notices.Stopping():
            return t("stopping"), None
        case notices.MuteExpired(target=target):
            return t("mute.expired", target=esc(shown_target(target))), None
        case notices.CheckFlip(old=old):
            return check_flip(item.result(), old, screen), None
        case notices.SelfWatch(part=part, ok=ok, detail=detail):
            return self_watch(part, ok, detail, screen), None
        case notices.SessionSummary():
            return summary(item, screen, session=True), None
        case notices.StoreRecovered():
            return store_recovered(item, screen), None
        case notices.StoreFull(full=full, at=at):
            return t("store.full" if full else "store.writable", when=screen.time(at)), None
        case notices.LinesUnrecorded():
            return lines_unrecorded(item, screen), None
        case notices.ChannelFailed(index=index, name=name, status=status):
            reason = (
                t("channel.refused_url") if status is None else t("channel.http", status=status)
            )
            return t("channel.failed", index=index, name=esc(name), reason=reason), None
        case notices.QuietDigest(held=held):
            return quiet_digest(held, screen), None
        case notices.Reminder():
            return reminder(item, screen), None
        case notices.DailyDigest(facts=found):
            return fit(digest_views.daily_digest(found, screen)), None
        case notices.DigestChart(since=since, until=until):
            return digest_views.chart_caption(since, until, screen), None
        case notices.MaintenanceOver():
            from handlers.noise_views import maintenance_over  # noise_views builds on this module

            return maintenance_over(item, screen), None
        case notices.Unreadable(payload=payload):
            if payload.get("topic") == "summary" and isinstance(payload.get("text"), str):
                return payload["text"], None  # queued by an older version, already rendered
            return t("notice.unreadable", kind=esc(payload.get("kind", "?"))), None


def possibly_repeated(view: View, t: Catalog) -> View:
    """A notice sent again after an attempt whose outcome is unknown, marked as such."""
    text, markup = view
    marked = f"{t('delivery.repeated')}\n{text}"
    return (marked if visible_len(marked) <= MAX_CHARS - 2 else text), markup


STORM_KEY_CHARS = 120
STORM_FILE_CHARS = 200
STORM_PAGE_SIZE = 10


def storm(facts: StormFacts, screen: Screen, *, repeated: bool = False) -> View:
    """A storm of new incidents of one rule: how many, the top keys and files, the list."""
    t = screen.t
    since, rule = screen.time(facts.started_at), esc(facts.rule)
    if facts.ended_at is None:
        lines = [t("storm.title", rule=rule, count=facts.incidents, since=since)]
    else:
        until = screen.time(facts.ended_at)
        lines = [t("storm.title_over", rule=rule, count=facts.incidents, since=since, until=until)]
    if repeated:
        lines.append(t("delivery.repeated"))
    last = screen.time(facts.last_seen) if facts.last_seen else t("age.never")
    lines.append(esc(t("storm.hits", hits=facts.hits, last=last)))
    if facts.top_keys:
        lines.append(t("storm.keys"))
        for key, count in facts.top_keys:
            lines.append(t("storm.key_line", value=inline(key, STORM_KEY_CHARS), count=count))
    if facts.top_files:
        lines.append(t("storm.files"))
        for path, count in facts.top_files:
            lines.append(t("storm.file_line", path=inline(path, STORM_FILE_CHARS), count=count))
    lines.append(esc(t("storm.note" if facts.ended_at is None else "storm.resumed")))
    data = PageTap(0, STORM_PAGE_SIZE, facts.rule).encode()
    buttons = [[(t("btn.storm_list"), data)]] if len(data.encode()) <= MAX_CALLBACK_BYTES else []
    return fit("\n".join(lines)), keyboard(buttons)
