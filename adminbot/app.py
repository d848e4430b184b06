"""The one wiring module: builds the PTB Application and registers handlers, in order.

It is the only module under adminbot/ that imports telegram; everything else it
wires is either core (adminbot/) or the thin Telegram layer (handlers/).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    TypeHandler,
)

from adminbot.actions import prune_quarantine
from adminbot.config import Config
from adminbot.console import ConsoleAlerts
from adminbot.i18n import COMMANDS
from adminbot.runtime import Runtime, build_runtime
from adminbot.summary import build_summary
from handlers import access, callbacks, commands, screens, views
from handlers.delivery import Delivery

logger = logging.getLogger(__name__)

POLL_TIMEOUT = 10
TICK_SECONDS = 0.5
HEARTBEAT_SECONDS = 10.0


def build_application(runtime: Runtime) -> Application:
    """An Application pointed at the configured Bot API, with every handler registered."""
    config = runtime.config
    assert config.token, "Telegram mode needs TELEGRAM_TOKEN"
    application = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(config.api_base_url)
        .rate_limiter(AIORateLimiter(max_retries=0))
        .get_updates_read_timeout(POLL_TIMEOUT + 5)
        .post_init(post_init)
        .post_stop(post_stop)
        .build()
    )
    application.bot_data["runtime"] = runtime
    application.add_handler(TypeHandler(Update, access.gate), group=-1)
    application.add_handler(CommandHandler(["start", "help"], commands.cmd_help))
    application.add_handler(CommandHandler("status", commands.cmd_status))
    application.add_handler(CommandHandler("errors", commands.cmd_errors))
    application.add_handler(CommandHandler("summary", commands.cmd_summary))
    application.add_handler(CommandHandler("mute", commands.cmd_mute))
    application.add_handler(CommandHandler("unmute", commands.cmd_unmute))
    application.add_handler(CallbackQueryHandler(callbacks.on_button))
    application.add_error_handler(_on_error)
    return application


def runtime_of(application: Application) -> Runtime:
    return application.bot_data["runtime"]


async def post_init(application: Application) -> None:
    """Start the outbox, the tailer and the periodic jobs; say hello."""
    runtime = runtime_of(application)
    config = runtime.config
    delivery = Delivery(application.bot, runtime)
    application.bot_data["delivery"] = delivery
    runtime.outbox.on_enqueue = delivery.wake
    runtime.remedies.loop = asyncio.get_running_loop()
    await _set_commands(application, config.language)
    runtime.outbox.message("started")
    delivery.start()
    runtime.monitor.start()
    jobs = application.job_queue
    assert jobs is not None, "install python-telegram-bot[job-queue]"
    jobs.run_repeating(_tick, TICK_SECONDS, first=TICK_SECONDS, name="tick")
    jobs.run_repeating(_heartbeat, HEARTBEAT_SECONDS, first=HEARTBEAT_SECONDS, name="heartbeat")
    jobs.run_repeating(
        _run_checks, config.verificacion_periodica, first=1.0, name="verificacion_periodica"
    )
    jobs.run_repeating(_prune_quarantine, 6 * 3600, first=60, name="prune_quarantine")


async def _set_commands(application: Application, language: str) -> None:
    commands_ = [BotCommand(name, text) for name, text in COMMANDS[language].items()]
    try:
        await application.bot.set_my_commands(commands_)
    except TelegramError as exc:
        logger.warning("Could not register the command list: %s", exc)


async def post_stop(application: Application) -> None:
    """Stop watching, queue the session summary, and deliver what we can before exit."""
    runtime = runtime_of(application)
    runtime.monitor.stop()
    await runtime.remedies.wait_idle()
    stats = runtime.monitor.stats
    now = runtime.clock()
    data = build_summary(runtime.store, stats.started_at, now, lines=stats.lines)
    text = views.summary(data, screens.screen(runtime, now), session=True)
    runtime.outbox.message("summary", text=text)
    delivery: Delivery | None = application.bot_data.get("delivery")
    if delivery is not None:
        await delivery.stop(drain_seconds=5.0)
    runtime.store.close()


async def _tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Flush held-back traceback records and expired mutes."""
    runtime = runtime_of(context.application)
    await asyncio.to_thread(runtime.monitor.flush_stale)
    for target in runtime.book.expire_mutes():
        runtime.outbox.message("mute_expired", target=target)


async def _prune_quarantine(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Quarantined files are kept for a while for inspection, then dropped."""
    config = runtime_of(context.application).config
    removed = await asyncio.to_thread(
        prune_quarantine, config.quarantine_dir, config.actions.quarantine_max_age_days, time.time()
    )
    if removed:
        logger.info("Pruned %s quarantined file(s)", len(removed))


async def _heartbeat(context: ContextTypes.DEFAULT_TYPE) -> None:
    runtime_of(context.application).monitor.heartbeat()


async def _run_checks(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The seed's verificación periódica: run every check, act on state changes only."""
    await runtime_of(context.application).health.tick()


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log handler errors once; the admin sees the outcome in the alert, not a trace."""
    logger.error("Handler failed for update %s", update, exc_info=context.error)


def run_telegram(config: Config, *, ready: Callable[[Application], None] | None = None) -> int:
    """Run until SIGINT/SIGTERM; the summary is sent before the process exits."""
    runtime = build_runtime(config)
    console = ConsoleAlerts(zone=config.zone, repeat_every=config.alerts.edit_throttle_seconds)
    runtime.monitor.listeners.append(console)
    application = build_application(runtime)
    if ready is not None:
        ready(application)
    application.run_polling(
        timeout=POLL_TIMEOUT,
        poll_interval=0.0,
        allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY],
        drop_pending_updates=False,
        stop_signals=(signal.SIGINT, signal.SIGTERM),
        close_loop=True,
    )
    return 0
