"""The Telegram front: builds the PTB Application and registers handlers, in order.

`TelegramFront` is what `adminbot run` starts when a token is set. Handlers are
registered here and nowhere else: the admin gate first, then one handler per
command and one per button verb.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telegram import BotCommand, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    TypeHandler,
)

from adminbot.errors import ConfigError
from adminbot.incidents.summary import build_summary
from adminbot.notify.notices import Started, session_summary
from adminbot.service.lease import Lease, front_lease
from adminbot.service.runtime import Runtime
from adminbot.service.selfwatch import Part
from adminbot.store.fence import Fence
from adminbot.supervise.supervisor import ChildExit
from handlers import access, callbacks, commands, evidence, makerule
from handlers.context import AdminApplication, AdminContext, bot_data_for
from handlers.delivery import Delivery
from handlers.i18n import COMMANDS
from handlers.leased import LeasedRequest, fitted_poll_timeout
from handlers.taps import MUTE_LIST, PAGE, Verb, pattern

if TYPE_CHECKING:
    from adminbot.store.postgres import OutboxListener

logger = logging.getLogger(__name__)

POLL_TIMEOUT = 10
MAX_CONNECT_PAUSE = 60.0


def build_application(
    runtime: Runtime,
    lease: Lease,
    *,
    poll_timeout: int = POLL_TIMEOUT,
    polls: LeasedRequest | None = None,
) -> AdminApplication:
    """An Application pointed at the configured Bot API, with every handler registered;
    it sends only while `lease` is held (`polls` carries its long polls)."""
    config = runtime.config
    assert config.token, "Telegram mode needs TELEGRAM_TOKEN"
    context_types = ContextTypes(bot_data=bot_data_for(runtime))
    application = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(config.api_base_url)
        .context_types(context_types)
        .rate_limiter(AIORateLimiter(max_retries=0))
        .request(LeasedRequest(lease, connection_pool_size=256))
        .get_updates_request(polls or long_polls(lease, poll_timeout))
        .build()
    )
    application.add_handler(TypeHandler(Update, _front_only(lease)), group=-2)
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
    """Polls Telegram for commands and taps, and drains the outbox to the admins.

    On several hosts only the holder of the front lease polls and sends
    (adminbot.service.lease); the others connect, then stand by until it is theirs."""

    def __init__(self, runtime: Runtime, *, poll_timeout: int = POLL_TIMEOUT) -> None:
        self.runtime = runtime
        config = runtime.config
        self.lease = front_lease(runtime.store, config, on_gained=self._gained, on_lost=self._lost)
        shared = config.database_url is not None
        self.poll_timeout = fitted_poll_timeout(
            poll_timeout, config.front_lease_seconds if shared else None
        )
        self.polls = long_polls(self.lease, self.poll_timeout)
        self.application = build_application(
            runtime, self.lease, poll_timeout=self.poll_timeout, polls=self.polls
        )
        self.delivery = Delivery(
            self.application.bot,
            runtime,
            on_delivered=runtime.metrics.delivered,
            backoff=runtime.periods.delivery_backoff,
            lease=self.lease,
        )
        self.listener = _listener(runtime)
        self.unreachable_since: datetime | None = None
        self.last_error = ""
        self._connector: asyncio.Task[None] | None = None
        self._commands: asyncio.Task[None] | None = None
        self._started = False
        self._stopping = False

    def on_duty(self) -> bool:
        """While this instance holds the front lease (always, on a single host's SQLite)."""
        return self.lease.held

    def health(self) -> Part | None:
        if self.unreachable_since is not None:
            since = self.unreachable_since.isoformat(timespec="seconds")
            return False, f"Telegram unreachable since {since}: {self.last_error}"
        if not self.lease.held:
            return True, "standing by: another instance is the front"
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
        """Connected: say hello, then poll and deliver whenever this instance is the front."""
        self.runtime.outbox.notice(Started())
        await self.application.start()
        await self.lease.start()

    async def _gained(self, fence: Fence | None) -> None:
        """The front role is ours: take back what earlier fronts left in flight (re-sent
        once, marked possibly repeated), register the commands, deliver, poll."""
        if self._stopping:  # the role is handed over again in a moment
            return
        recovered = await asyncio.to_thread(self.runtime.store.recover_claims, fence)
        if recovered:
            logger.warning("%s message(s) in flight at the last front's end go again", recovered)
        if fence is None:
            await self._set_commands()
        else:  # in the background: a slow answer must not hold up the lease's renewals
            self._commands = asyncio.create_task(self._set_commands(), name="set-commands")
        self.delivery.start()
        if self.listener is not None:
            self.listener.start()
        updater = self.application.updater
        assert updater is not None
        await updater.start_polling(
            timeout=self.poll_timeout,
            poll_interval=0.0,
            allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY],
            drop_pending_updates=False,
        )

    async def _lost(self) -> None:
        """Another instance is (or may now be) the front: stop polling and sending at once."""
        await self.delivery.halt()
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.listener is not None:
            await asyncio.to_thread(self.listener.stop)

    async def stop(self, ended: ChildExit | None) -> None:
        """Stop polling, queue the session summary, deliver what we can, hand the front
        role over, shut down."""
        self._stopping = True
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
        if self.unreachable_since is None and self.lease.held:
            await self.delivery.stop(drain_seconds=self.runtime.periods.drain)
        else:
            await self.delivery.halt()
        if self.listener is not None:
            await asyncio.to_thread(self.listener.stop)
        await self.lease.stop(after=self.polls.poll_left())
        await application.shutdown()

    async def _set_commands(self) -> None:
        language = self.runtime.config.language
        listed = [BotCommand(name, text) for name, text in COMMANDS[language].items()]
        try:
            await self.application.bot.set_my_commands(listed)
        except TelegramError as exc:
            logger.warning("Could not register the command list: %s", exc)


def _listener(runtime: Runtime) -> OutboxListener | None:
    """On a shared database, messages queued by other hosts wake delivery at once."""
    url = runtime.config.database_url
    if url is None:
        return None
    from adminbot.store.postgres import OutboxListener  # only shared stores load the driver

    return OutboxListener(url, runtime.bell.ring)


def long_polls(lease: Lease, poll_timeout: int) -> LeasedRequest:
    """The connection getUpdates goes through: one, read a little past the poll's end."""
    return LeasedRequest(
        lease, connection_pool_size=1, read_timeout=poll_timeout + 5, long_polls=True
    )


def _front_only(lease: Lease) -> Callable[[Update, AdminContext], Coroutine[Any, Any, None]]:
    """Updates that reach an instance no longer the front (a poll answered as it froze)
    are left to the front, which gets them again: Telegram has not seen them confirmed."""

    async def gate(_update: Update, _context: AdminContext) -> None:
        if not lease.held:
            raise ApplicationHandlerStop

    return gate


async def _on_error(update: object, context: AdminContext) -> None:
    """Log handler errors once; the admin sees the outcome in the alert, not a trace."""
    logger.error("Handler failed for update %s", update, exc_info=context.error)
