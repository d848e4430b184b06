"""Command handlers: /start, /help, /status, /errors, /summary, /mute, /unmute, /kinds."""

from __future__ import annotations

from datetime import timedelta

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode

from adminbot.incidents.book import MUTE_ALL
from adminbot.incidents.summary import build_summary, parse_period
from adminbot.service.runtime import Runtime
from handlers import screens, views
from handlers.context import AdminContext
from handlers.screens import words
from handlers.taps import HOST_NAME

HOST_ARG = "host="
"""`/errors host=b`: one host's incidents."""
PAGE_SIZE = 10
DEFAULT_MUTE = timedelta(hours=1)
MAX_PAGE_SIZE = 30
KINDS_SHOWN = 15


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
    """Reply with uptime, files, disk, host load, checks, open incidents and mutes."""
    runtime = runtime_of(context)
    report = await screens.status_report(runtime)
    await reply(update, views.status(report, screens.screen(runtime)))


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
            await reply(update, words(runtime)("errors.usage", rules=views.esc(names)))
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
) -> views.View:
    found = runtime.store.incidents(rule=rule, limit=size + 1, offset=page * size, host=host)
    owners = {i.id: who[0] for i in found[:size] if (who := screens.on_it(runtime, i)) is not None}
    return views.errors_page(
        found[:size],
        screens.screen(runtime),
        page=page,
        has_more=len(found) > size,
        rule=rule,
        size=size,
        owners=owners,
        host=host,
    )


def rule_names(runtime: Runtime) -> list[str]:
    """Every incident type, the ones adminbot raises itself (proceso_caido) too."""
    return list(runtime.rules)


async def cmd_summary(update: Update, context: AdminContext) -> None:
    """Reply with a summary since start, or over a period: /summary 24h."""
    runtime = runtime_of(context)
    now = runtime.clock()
    args = context.args or []
    if args:
        period = parse_period(args[0])
        if period is None:
            await reply(update, words(runtime)("summary.usage"))
            return
        data = build_summary(runtime.store, now - period, now)
    else:
        lines = runtime.monitor.stats.lines
        data = build_summary(runtime.store, runtime.started_at, now, lines=lines)
    await reply(update, views.summary(data, screens.screen(runtime, now)))


async def cmd_mute(update: Update, context: AdminContext) -> None:
    """Silence pushes for one type or all for a while: /mute timeout 1h (an hour if
    no duration is given)."""
    runtime = runtime_of(context)
    args = context.args or []
    names = rule_names(runtime)
    period = parse_period(args[1]) if len(args) == 2 else DEFAULT_MUTE if len(args) == 1 else None
    if period is None or args[0] not in (*names, MUTE_ALL):
        await reply(update, words(runtime)("mute.usage", rules=views.esc(", ".join(names))))
        return
    until = runtime.book.mute(args[0], min(period, timedelta(days=30)), actor_of(update))
    when = screens.screen(runtime).time(until)
    await reply(update, words(runtime)("mute.done", target=views.esc(args[0]), until=when))


async def cmd_unmute(update: Update, context: AdminContext) -> None:
    """Remove one mute or all: /unmute [type]."""
    runtime = runtime_of(context)
    args = context.args or []
    removed = runtime.book.unmute(args[0] if args else None)
    key = "unmute.done" if removed else "unmute.none"
    await reply(update, words(runtime)(key, count=removed))


async def cmd_kinds(update: Update, context: AdminContext) -> None:
    """Reply with the kinds of error no rule knows: template, counts, first/last seen, state."""
    runtime = runtime_of(context)
    kinds = runtime.kinds
    shown = kinds.newest(KINDS_SHOWN)
    await reply(update, views.kinds_page(shown, kinds.total(), screens.screen(runtime)))
