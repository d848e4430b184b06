"""The one gate: only configured users, in configured chats, reach any handler.

Users are the owners (`ADMIN_ID`), the responders and the viewers (`[access]`); a
viewer's tap on a button that changes an incident is refused by `may_act`.

A configured chat is an admin's private chat with the bot, or the alert chat
(`chat_id`). An admin writing from any other group gets nothing, like a stranger:
/status there would post watched paths, disks and incidents to that group.
"""

from __future__ import annotations

import logging

from telegram import Chat, Update
from telegram.ext import ApplicationHandlerStop

from adminbot.config import Config
from handlers.context import AdminContext

logger = logging.getLogger(__name__)


async def gate(update: Update, context: AdminContext) -> None:
    """Stop every update that is not from an admin in a configured chat."""
    data = context.bot_data
    config = data.runtime.config
    user = update.effective_user
    chat = update.effective_chat
    if user is not None and user.id in config.users:
        if configured_chat(chat, user.id, config):
            return
        _refuse_once(data.strangers, chat.id if chat is not None else 0, "chat")
    else:
        _refuse_once(data.strangers, user.id if user is not None else 0, "non-admin user")
    if update.callback_query is not None:
        await update.callback_query.answer()  # stops their spinner and tells them nothing
    raise ApplicationHandlerStop


def may_act(user_id: int, config: Config) -> bool:
    """Owners and responders may run fixes and change an incident; viewers only look."""
    return user_id in config.admin_ids or user_id in config.access.responders


def configured_chat(chat: Chat | None, user_id: int, config: Config) -> bool:
    """The admin's own private chat, or the alert chat."""
    if chat is None:
        return False
    return chat.id == config.chat_id or (chat.type == Chat.PRIVATE and chat.id == user_id)


def _refuse_once(refused: set[int], who: int, what: str) -> None:
    if who not in refused:
        refused.add(who)
        logger.warning("Ignoring updates from %s %s", what, who)
