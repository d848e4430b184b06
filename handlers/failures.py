"""What Telegram's failures mean for the row being sent: one that can never be sent
as it is, an answer that was not the Bot API's (retried, never believed), a request
that may have been delivered before it timed out, a message gone from its chat, how
long a 429 asks to wait; and HTML Telegram cannot parse, sent as plain text instead
of losing the alert.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError, TimedOut

from handlers.words import plain_text

logger = logging.getLogger(__name__)


class PermanentFailure(Exception):
    """This row can never be delivered as it is (our bug, or the admin blocked the bot)."""


async def html_or_plain(send: Callable[..., Awaitable[Any]], text: str, **kwargs: Any) -> Any:
    """Send as HTML; if Telegram cannot parse it (our escaping bug), send it as plain
    text rather than lose the alert."""
    try:
        return await send(text=text, parse_mode=ParseMode.HTML, **kwargs)
    except BadRequest as exc:
        if "parse entities" not in exc.message.lower():
            raise
        logger.error("Telegram refused our HTML (%s); sending plain text", exc.message)
        return await send(text=plain_text(text), **kwargs)


def not_the_bot_api(exc: TelegramError) -> bool:
    """The answer was not the Bot API's JSON (a proxy's HTML page, even with 200 OK):
    it tells nothing about our request, so it is retried, never believed."""
    cause = exc.__cause__
    if isinstance(cause, TelegramError):  # PTB's "Invalid server response" behind a status
        cause = cause.__cause__
    return isinstance(cause, ValueError)


def maybe_delivered(exc: TimedOut) -> bool:
    """A request that timed out after it was sent may have been delivered."""
    return not isinstance(exc.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout)


def message_gone(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return "not found" in text or "can't be edited" in text


def retry_seconds(value: int | timedelta) -> float:
    """A 429's retry_after in seconds, whether PTB gives it as int or timedelta."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)
