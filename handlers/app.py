"""The Telegram front: builds the PTB Application and registers handlers, in order.

`TelegramFront` is what `adminbot run` starts when a token is set. Handlers are
registered here and nowhere else: the admin gate first, then one handler per
command and one per button verb.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from telegram import BotCommand, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    TypeHandler,
)

from adminbot.errors import ConfigError
from adminbot.incidents.summary import build_summary
from adminbot.notify.notices import Started, session_summary
from adminbot.service.runtime import Runtime
from adminbot.service.selfwatch import Part
from adminbot.supervise.supervisor import ChildExit
from handlers import access, callbacks, commands, evidence, makerule
from handlers.context import AdminApplication, AdminContext, bot_data_for
from handlers.delivery import Delivery
from handlers.i18n import COMMANDS
from handlers.taps import MUTE_LIST, PAGE, Verb, pattern

logger = logging.getLogger(__name__)

POLL_TIMEOUT = 10
MAX_CONNECT_PAUSE = 60.0


def build_application(runtime: Runtime, *, poll_timeout: int = POLL_TIMEOUT) -> AdminApplication:
    """An Application pointed at the configured Bot API, with every handler registered."""
    config = runtime.config
    assert config.token, "Telegram mode needs TELEGRAM_TOKEN"
    context_types = ContextTypes(bot_data=bot_data_for(runtime))
    application = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(config.api_base_url)
        .context_types(context_types)
        .rate_limiter(AIORateLimiter(max_retries=0))
        .get_updates_read_timeout(poll_timeout + 5)
        .build()
    )
    application.add_handler(TypeHandler(Update, access.gate), group=-1)
    application.add_handler(CommandHandler(["start", "help"], commands.cmd_help))
    application.add_handler(CommandHandler("status", commands.cmd_status))
    application.add_handler(CommandHandler("errors", commands.cmd_errors))
    application.add_handler(CommandHandler("summary", commands.cmd_summary))
    application.add_handler(CommandHandler("mute", commands.cmd_mute))
    application.add_handler(CommandHandler("unmute", commands.cmd_unmute))
    application.add_handler(CommandHandler("kinds", commands.cmd_kinds))
    application.add_handler(CommandHandler("dashboard", commands.cmd_dashboard))
    application.add_handler(CommandHandler("maintenance", commands.cmd_maintenance))
    application.add_handler(CallbackQueryHandler(callbacks.on_act, pattern=pattern(Verb.ACT)))
    application.add_handler(CallbackQueryHandler(callbacks.on_ignore, pattern=pattern(Verb.IGNORE)))
    application.add_handler(
        CallbackQueryHandler(callbacks.on_resolve, pattern=pattern(Verb.RESOLVE))
    )
    application.add_handler(CallbackQueryHandler(callbacks.on_mute, pattern=pattern(Verb.MUTE)))
    application.add_handler(CallbackQueryHandler(callbacks.on_unmute, pattern=pattern(Verb.UNMUTE)))
    application.add_handler(CallbackQueryHandler(callbacks.on_back, pattern=pattern(Verb.BACK)))
    application.add_handler(
        CallbackQueryHandler(callbacks.on_unmute_listed, pattern=pattern(MUTE_LIST))
    )
    application.add_handler(CallbackQueryHandler(callbacks.on_ack, pattern=pattern(Verb.ACK)))
    application.add_handler(CallbackQueryHandler(callbacks.on_open, pattern=pattern(Verb.OPEN)))
    application.add_handler(CallbackQueryHandler(callbacks.on_page, pattern=pattern(PAGE)))
    for verb, handler in (evidence.HANDLERS | makerule.HANDLERS).items():
        application.add_handler(CallbackQueryHandler(handler, pattern=pattern(verb)))
    application.add_handler(CallbackQueryHandler(callbacks.on_unknown))
    application.add_error_handler(_on_error)
    return application


class TelegramFront:
    """Polls Telegram for commands and taps, and drains the outbox to the admins."""

    def __init__(self, runtime: Runtime, *, poll_timeout: int = POLL_TIMEOUT) -> None:
        self.runtime = runtime
        self.poll_timeout = poll_timeout
        self.application = build_application(runtime, poll_timeout=poll_timeout)
        self.delivery = Delivery(
            self.application.bot,
            runtime,
            on_delivered=runtime.metrics.delivered,
            backoff=runtime.periods.delivery_backoff,
        )
        self.unreachable_since: datetime | None = None
        self.last_error = ""
        self._connector: asyncio.Task[None] | None = None
        self._started = False

    def health(self) -> Part | None:
        if self.unreachable_since is not None:
            since = self.unreachable_since.isoformat(timespec="seconds")
            return False, f"Telegram unreachable since {since}: {self.last_error}"
        return self.delivery.health()

    async def start(self) -> None:
        """Try Telegram once; if it cannot be reached, keep trying in the background.

        adminbot must run while Telegram (or the local Bot API server it may point at)
        is down: the tailer, checks and fixes go on and alerts wait in the outbox. A
        token Telegram rejects is a configuration error, said in one line.
        """
        if not await self._connect_once():
            self._connector = asyncio.create_task(self._keep_connecting(), name="telegram")
        self._started = True

    async def _connect_once(self) -> bool:
        try:
            await self.application.initialize()
        except InvalidToken:
            raise ConfigError(
                "TELEGRAM_TOKEN", "Telegram rejected the token (check it with @BotFather)"
            ) from None
        except NetworkError as exc:  # TimedOut is one too
            self.last_error = f"{type(exc).__name__}: {exc}"
            if self.unreachable_since is None:
                self.unreachable_since = self.runtime.clock()
                logger.warning(
                    "Telegram unreachable (%s); alerts wait in the outbox, retrying",
                    self.last_error,
                )
            return False
        if self.unreachable_since is not None:
            logger.warning("Telegram reachable again; delivering queued alerts")
        self.unreachable_since = None
        await self._begin()
        return True

    async def _keep_connecting(self) -> None:
        delay = self.runtime.periods.delivery_backoff
        while True:
            await asyncio.sleep(delay)
            try:
                if await self._connect_once():
                    return
            except ConfigError as exc:
                logger.error("%s", exc)
            delay = min(delay * 2, MAX_CONNECT_PAUSE)

    async def _begin(self) -> None:
        """Connected: register the commands, say hello, deliver, poll."""
        application = self.application
        await self._set_commands()
        self.runtime.outbox.notice(Started())
        self.delivery.start()
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(
            timeout=self.poll_timeout,
            poll_interval=0.0,
            allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY],
            drop_pending_updates=False,
        )

    async def stop(self, ended: ChildExit | None) -> None:
        """Stop polling, queue the session summary, deliver what we can, shut down."""
        if self._connector is not None:
            self._connector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connector
        application = self.application
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        if not self._started:  # start-up failed: there was no session to sum up
            await application.shutdown()
            return
        runtime = self.runtime
        now = runtime.clock()
        lines = runtime.monitor.stats.lines
        data = build_summary(runtime.store, runtime.started_at, now, lines=lines)
        runtime.outbox.notice(session_summary(data, ended))
        if self.unreachable_since is None:
            await self.delivery.stop(drain_seconds=self.runtime.periods.drain)
        await application.shutdown()

    async def _set_commands(self) -> None:
        language = self.runtime.config.language
        listed = [BotCommand(name, text) for name, text in COMMANDS[language].items()]
        try:
            await self.application.bot.set_my_commands(listed)
        except TelegramError as exc:
            logger.warning("Could not register the command list: %s", exc)


async def _on_error(update: object, context: AdminContext) -> None:
    """Log handler errors once; the admin sees the outcome in the alert, not a trace."""
    logger.error("Handler failed for update %s", update, exc_info=context.error)
