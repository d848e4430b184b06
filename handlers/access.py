"""The one gate: only configured admins reach any handler; strangers get nothing at all."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from handlers.context import AdminContext

logger = logging.getLogger(__name__)


async def gate(update: Update, context: AdminContext) -> None:
    """Stop every update that is not from an admin before any other handler sees it."""
    data = context.bot_data
    user = update.effective_user
    if user is not None and user.id in data.runtime.config.admin_ids:
        return
    strangers = data.strangers
    user_id = user.id if user is not None else 0
    if user_id not in strangers:
        strangers.add(user_id)
        logger.warning("Ignoring updates from non-admin user %s", user_id)
    if update.callback_query is not None:
        await update.callback_query.answer()  # stops their spinner and tells them nothing
    raise ApplicationHandlerStop
