"""Command handlers: one per command the bot answers, each a thin call into the core."""

from __future__ import annotations

import asyncio
import html
from datetime import datetime, timedelta

from telegram import Chat, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode

from adminbot.incidents.book import MUTE_ALL
from adminbot.incidents.schedule import Scope
from adminbot.incidents.summary import build_summary, parse_period
from adminbot.service.runtime import Runtime
from adminbot.service.upkeep import end_maintenance, start_maintenance
from handlers import digest_views, layout, list_views, noise_views, screens, status_views
from handlers.access import may_act
from handlers.context import AdminContext
from handlers.screens import words
from handlers.taps import HOST_NAME
from handlers.words import esc

HOST_ARG = "host="
"""`/errors host=b`: one host's incidents."""
PAGE_SIZE = 10
DEFAULT_MUTE = timedelta(hours=1)
MAX_PAGE_SIZE = 30
KINDS_SHOWN = 15
CHART = "chart"


def runtime_of(context: AdminContext) -> Runtime:
    return context.bot_data.runtime


def actor_of(update: Update) -> str:
    user = update.effective_user
    if user is None:
        return "unknown"
    name = f"@{user.username}" if user.username else user.first_name
    return f"{name} · id {user.id}" if name else f"id {user.id}"


async def reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    message = update.effective_message
    if message is not None:
        await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def cmd_help(update: Update, context: AdminContext) -> None:
    """Say what is watched and list the commands."""
    await reply(update, screens.help_text(runtime_of(context)))


async def cmd_status(update: Update, context: AdminContext) -> None:
    """Reply with uptime, files, disk, host load, checks, open incidents, mutes and the
    maintenance windows open now."""
    runtime = runtime_of(context)
    report = await screens.status_report(runtime)
    screen = screens.screen(runtime)
    windows = runtime.noise.maintenance.active()
    await reply(
        update, noise_views.with_maintenance(status_views.status(report, screen), windows, screen)
    )


async def cmd_errors(update: Update, context: AdminContext) -> None:
    """Reply with the newest incidents, optionally of one type: /errors [type] [n]."""
    runtime = runtime_of(context)
    rule, size, host = None, PAGE_SIZE, None
    for arg in context.args or []:
        if arg.isdigit():
            size = max(1, min(int(arg), MAX_PAGE_SIZE))
        elif arg in rule_names(runtime):
            rule = arg
        elif arg.startswith(HOST_ARG) and HOST_NAME.fullmatch(arg.removeprefix(HOST_ARG)):
            host = arg.removeprefix(HOST_ARG)
        else:
            names = ", ".join(rule_names(runtime))
            await reply(update, words(runtime)("errors.usage", rules=esc(names)))
            return
    text, markup = errors_view(runtime, rule, page=0, size=size, host=host)
    await reply(update, text, markup)


def errors_view(
    runtime: Runtime,
    rule: str | None,
    *,
    page: int,
    size: int = PAGE_SIZE,
    host: str | None = None,
) -> layout.View:
    found = runtime.store.incidents(rule=rule, limit=size + 1, offset=page * size, host=host)
    owners = {i.id: who[0] for i in found[:size] if (who := screens.on_it(runtime, i)) is not None}
    screen = screens.screen(runtime)
    text, markup = list_views.errors_page(
        found[:size],
        screen,
        page=page,
        has_more=len(found) > size,
        rule=rule,
        size=size,
        owners=owners,
        host=host,
    )
    return noise_views.with_ignored(text, runtime.noise.ignored(), rule, screen), markup


def rule_names(runtime: Runtime) -> list[str]:
    """Every incident type, the ones adminbot raises itself (proceso_caido) too."""
    return list(runtime.rules)


async def cmd_summary(update: Update, context: AdminContext) -> None:
    """Reply with a summary since start, or over a period, and with `chart` the chart
    of that window as a photo: /summary 24h chart."""
    runtime = runtime_of(context)
    now = runtime.clock()
    args = [arg.lower() for arg in context.args or []]
    want_chart = CHART in args
    rest = [arg for arg in args if arg != CHART]
    period = parse_period(rest[0]) if len(rest) == 1 else None
    if len(rest) > 1 or (rest and period is None):
        await reply(update, words(runtime)("summary.usage"))
        return
    if period is not None:
        data = build_summary(runtime.store, now - period, now)
    else:
        lines = runtime.monitor.stats.lines
        data = build_summary(runtime.store, runtime.started_at, now, lines=lines)
    await reply(update, list_views.summary(data, screens.screen(runtime, now)))
    if want_chart:
        await reply_chart(update, runtime, data.since, now)


async def reply_chart(update: Update, runtime: Runtime, since: datetime, until: datetime) -> None:
    """Draw the window's chart off the event loop and send it as a photo."""
    message = update.effective_message
    if message is None:
        return
    png = await asyncio.to_thread(screens.chart_png, runtime, since, until)
    caption = digest_views.chart_caption(since, until, screens.screen(runtime, until))
    await message.reply_photo(png, caption=caption, parse_mode=ParseMode.HTML)


async def cmd_mute(update: Update, context: AdminContext) -> None:
    """Silence pushes for one type or all for a while: /mute timeout 1h (an hour if
    no duration is given)."""
    runtime = runtime_of(context)
    args = context.args or []
    names = rule_names(runtime)
    period = parse_period(args[1]) if len(args) == 2 else DEFAULT_MUTE if len(args) == 1 else None
    if period is None or args[0] not in (*names, MUTE_ALL):
        await reply(update, words(runtime)("mute.usage", rules=esc(", ".join(names))))
        return
    until = runtime.book.mute(args[0], min(period, timedelta(days=30)), actor_of(update))
    when = screens.screen(runtime).time(until)
    await reply(update, words(runtime)("mute.done", target=esc(args[0]), until=when))


async def cmd_unmute(update: Update, context: AdminContext) -> None:
    """Lift one mute or all: /unmute <type|all>; /unmute alone lists them, a button each."""
    runtime = runtime_of(context)
    args = context.args or []
    if not args:
        text, markup = mutes_view(runtime)
        await reply(update, text, markup)
        return
    removed = runtime.book.unmute(args[0])
    key = "unmute.done" if removed else "unmute.none"
    await reply(update, words(runtime)(key, count=removed))


def mutes_view(runtime: Runtime) -> layout.View:
    """The mutes still in force, each with its Unmute button."""
    now = runtime.clock()
    live = {target: until for target, until in runtime.store.mutes().items() if until > now}
    return list_views.mutes_page(live, screens.screen(runtime, now))


async def cmd_kinds(update: Update, context: AdminContext) -> None:
    """Reply with the kinds of error no rule knows: template, counts, first/last seen, state."""
    runtime = runtime_of(context)
    kinds = runtime.kinds
    shown = kinds.newest(KINDS_SHOWN)
    await reply(update, list_views.kinds_page(shown, kinds.total(), screens.screen(runtime)))


async def cmd_dashboard(update: Update, context: AdminContext) -> None:
    """Send a one-time login link to the web dashboard, only in a private chat."""
    runtime, t = runtime_of(context), context.bot_data.words
    user, chat = update.effective_user, update.effective_chat
    if runtime.web_links is None:
        await reply(update, t("dashboard.off"))
    elif user is None or chat is None or chat.type != Chat.PRIVATE:
        await reply(update, t("dashboard.private"))
    else:
        url = runtime.web_links.mint(user.id)
        await reply(update, t("dashboard.link", url=html.escape(url, quote=True)))


async def cmd_maintenance(update: Update, context: AdminContext) -> None:
    """List open maintenance windows, start one (/maintenance 30m [type=x] [host=y]) or end
    the ad-hoc ones (/maintenance off); viewers may only list."""
    runtime = runtime_of(context)
    t = words(runtime)
    args = context.args or []
    maintenance = runtime.noise.maintenance
    if not args:
        await reply(
            update, noise_views.maintenance_list(maintenance.active(), screens.screen(runtime))
        )
        return
    user = update.effective_user
    if user is None or not may_act(user.id, runtime.config):
        await reply(update, t("maintenance.refused"))
        return
    if args == ["off"]:
        ended = end_maintenance(runtime, actor_of(update))
        await reply(
            update, t("maintenance.ended", count=ended) if ended else t("maintenance.not_ended")
        )
        return
    parsed = _maintenance_args(args, rule_names(runtime))
    if parsed is None:
        names = esc(", ".join(rule_names(runtime)))
        await reply(update, t("maintenance.usage", rules=names))
        return
    period, scope = parsed
    window = start_maintenance(runtime, period, scope, actor_of(update))
    await reply(update, noise_views.maintenance_started(window, screens.screen(runtime)))


def _maintenance_args(args: list[str], rules: list[str]) -> tuple[timedelta, Scope] | None:
    """ "30m type=timeout host=web1" → the duration and what it covers; None if malformed."""
    period = parse_period(args[0])
    types: set[str] = set()
    hosts: set[str] = set()
    for arg in args[1:]:
        name, sep, value = arg.partition("=")
        if not sep or not value:
            return None
        if name == "type" and value in rules:
            types.add(value)
        elif name == "host":
            hosts.add(value)
        else:
            return None
    return (period, Scope(frozenset(types), frozenset(hosts))) if period else None
