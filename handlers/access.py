"""The one gate: only configured admins reach any handler; strangers get nothing."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from handlers.commands import runtime_of
from handlers.screens import words

logger = logging.getLogger(__name__)


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop every update that is not from an admin before any other handler sees it."""
    runtime = runtime_of(context)
    user = update.effective_user
    if user is not None and user.id in runtime.config.admin_ids:
        return
    strangers: set[int] = context.application.bot_data.setdefault("strangers", set())
    user_id = user.id if user is not None else 0
    if user_id not in strangers:
        strangers.add(user_id)
        logger.warning("Ignoring updates from non-admin user %s", user_id)
    if update.callback_query is not None:
        await update.callback_query.answer(words(runtime)("tap.not_allowed"))
    raise ApplicationHandlerStop
