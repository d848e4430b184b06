"""Before anything starts: does Telegram accept the token? A rejected one stops adminbot.

Only a definite "no" (401 or 404 to getMe, or a token that cannot be one) stops the
start; an unreachable Bot API does not, since the front keeps trying to reach it.
No message here ever holds the token.
"""

from __future__ import annotations

import logging
import re

from telegram import Bot
from telegram.error import InvalidToken, TelegramError
from telegram.request import HTTPXRequest

from adminbot.config import Config
from adminbot.errors import ConfigError

logger = logging.getLogger(__name__)

CHECK_SECONDS = 5.0
TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")
"""What @BotFather hands out: the bot's id, a colon, letters, digits, `_` and `-`."""


async def check_token(config: Config, *, timeout: float = CHECK_SECONDS) -> None:  # noqa: ASYNC109 - one short getMe, its own deadline
    """Raise ConfigError when the token cannot work; say nothing when Telegram is unreachable."""
    token = config.token or ""
    if not TOKEN_SHAPE.fullmatch(token):
        raise ConfigError(
            "TELEGRAM_TOKEN", "does not look like a bot token (<digits>:<letters> from @BotFather)"
        )
    request = HTTPXRequest(connect_timeout=timeout, read_timeout=timeout)
    bot = Bot(token, base_url=config.api_base_url, request=request)
    try:
        async with bot:  # initialize() asks getMe
            pass
    except InvalidToken:
        raise ConfigError(
            "TELEGRAM_TOKEN",
            f"rejected by the Bot API at {config.api_base_url} (getMe answered 401 or 404): "
            "check the token, and TELEGRAM_API_BASE_URL for a local server",
        ) from None
    except TelegramError as exc:
        logger.info("Could not check the bot token yet (%s); the front keeps trying", exc)
