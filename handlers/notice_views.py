"""Notices in words: a check that changed state, adminbot watching itself, the store
recovered, full or losing lines, the alerts held over quiet hours, a reminder, a storm
of new incidents; `notice()` turns any notice into its message.

Pure functions of the core's notices (`adminbot.notify.notices`), like every view;
every log-derived value is escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence

from adminbot.checks.base import CheckResult, CheckState
from adminbot.incidents.book import shown_target
from adminbot.notify import notices
from adminbot.store.damage import ResumeFrom
from adminbot.store.rows import StormFacts
from handlers import digest_views, words
from handlers.i18n import Catalog
from handlers.icons import CHECK_ICONS, SEVERITY_ICONS
from handlers.layout import (
    MAX_CALLBACK_BYTES,
    MAX_CHARS,
    Screen,
    View,
    fit,
    inline,
    keyboard,
    visible_len,
)
from handlers.list_views import summary
from handlers.noise_views import maintenance_over
from handlers.taps import PageTap
from handlers.words import duration, esc


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
