"""The one wiring module: builds the PTB Application and registers handlers, in order.

It is the only module under adminbot/ that imports telegram; everything else it
wires is either core (adminbot/) or the thin Telegram layer (handlers/).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Awaitable, Callable, Sequence

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

from adminbot.config import Config
from adminbot.incidents.summary import build_summary
from adminbot.notify.console import ConsoleAlerts
from adminbot.notify.notices import Started, session_summary
from adminbot.service.lifecycle import HEARTBEAT_SECONDS, PRUNE_SECONDS, TICK_SECONDS, Service
from adminbot.service.runtime import Runtime, build_runtime
from handlers import access, callbacks, commands
from handlers.delivery import Delivery
from handlers.i18n import COMMANDS

logger = logging.getLogger(__name__)

POLL_TIMEOUT = 10


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
    """Start the outbox, the service (tailer, child, HTTP) and the periodic jobs; say hello."""
    runtime = runtime_of(application)
    config = runtime.config
    delivery = Delivery(application.bot, runtime)
    application.bot_data["delivery"] = delivery
    runtime.outbox.on_enqueue = delivery.wake
    delivery.on_delivered = runtime.metrics.delivered
    runtime.selfwatch.delivery = delivery.health
    await _set_commands(application, config.language)
    runtime.outbox.notice(Started())
    delivery.start()
    service = Service(runtime)
    application.bot_data["service"] = service
    await service.start()
    jobs = application.job_queue
    assert jobs is not None, "install python-telegram-bot[job-queue]"
    for job, period, first in (
        (service.tick, TICK_SECONDS, TICK_SECONDS),
        (service.heartbeat, HEARTBEAT_SECONDS, HEARTBEAT_SECONDS),
        (service.check, config.verificacion_periodica, 1.0),
        (service.prune, PRUNE_SECONDS, 60.0),
    ):
        jobs.run_repeating(_job(job), period, first=first, name=job.__name__)


def _job(
    work: Callable[[], Awaitable[None]],
) -> Callable[[ContextTypes.DEFAULT_TYPE], Awaitable[None]]:
    """Adapt a Service method to PTB's job callback signature."""

    async def callback(context: ContextTypes.DEFAULT_TYPE) -> None:
        await work()

    callback.__name__ = work.__name__
    return callback


async def _set_commands(application: Application, language: str) -> None:
    commands_ = [BotCommand(name, text) for name, text in COMMANDS[language].items()]
    try:
        await application.bot.set_my_commands(commands_)
    except TelegramError as exc:
        logger.warning("Could not register the command list: %s", exc)


async def post_stop(application: Application) -> None:
    """Stop the service (child first), queue the session summary, deliver what we can."""
    runtime = runtime_of(application)
    service: Service | None = application.bot_data.get("service")
    ended = await service.stop() if service is not None else None
    stats = runtime.monitor.stats
    now = runtime.clock()
    data = build_summary(runtime.store, stats.started_at, now, lines=stats.lines)
    runtime.outbox.notice(session_summary(data, ended))
    delivery: Delivery | None = application.bot_data.get("delivery")
    if delivery is not None:
        await delivery.stop(drain_seconds=5.0)
    runtime.store.close()


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log handler errors once; the admin sees the outcome in the alert, not a trace."""
    logger.error("Handler failed for update %s", update, exc_info=context.error)


def run_telegram(config: Config, child_argv: Sequence[str] = ()) -> int:
    """Run until SIGINT/SIGTERM; the summary is sent before the process exits."""
    runtime = build_runtime(config, child_argv=child_argv)
    console = ConsoleAlerts(zone=config.zone, repeat_every=config.alerts.edit_throttle_seconds)
    runtime.monitor.listeners.append(console)
    application = build_application(runtime)
    application.run_polling(
        timeout=POLL_TIMEOUT,
        poll_interval=0.0,
        allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY],
        drop_pending_updates=False,
        stop_signals=(signal.SIGINT, signal.SIGTERM),
        close_loop=True,
    )
    return 0
