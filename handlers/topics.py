"""Forum topics: in a forum supergroup, each error type (or host) gets its own topic.

`[alerts] topics = "type" | "host" | "none"`. The topic is created on first use with
createForumTopic and its thread remembered in the store; later alerts of that type
(or host) are sent into it. A chat that is not a forum answers 400: alerts then go to
the chat itself, and that is remembered so it is not asked again; a forum where the bot
may not make topics is asked again after a restart (once the right may be granted).
"""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import BadRequest

from adminbot.config import Config
from adminbot.store.api import StoreApi

logger = logging.getLogger(__name__)

TOPIC_NAME_CHARS = 128
"""Telegram's longest topic name."""
NOT_A_FORUM = ""
"""The name under which a chat found not to be a forum is remembered (thread 0)."""


class Topics:
    """Finds (creating it once) the topic an alert goes to in the alert chat."""

    def __init__(self, bot: Bot, config: Config, store: StoreApi) -> None:
        self.bot = bot
        self.mode = config.alerts.topics
        self.chat_id = config.chat_id
        self.host = config.host_name
        self.store = store
        self._refused: set[int] = set()

    def name(self, rule: str, host: str) -> str | None:
        """The topic an alert of `rule` from `host` belongs to, or None without topics."""
        if self.mode == "type":
            return rule
        if self.mode == "host":
            return host or self.host or "adminbot"
        return None

    async def thread(self, chat: int, rule: str, host: str = "") -> int | None:
        """The `message_thread_id` for an alert in `chat`, or None to send to the chat.

        Network trouble and 429 propagate: delivery puts the row back and tries later."""
        name = self.name(rule, host)
        if name is None or chat != self.chat_id or self.store.topic_thread(chat, NOT_A_FORUM) == 0:
            return None
        name = name[:TOPIC_NAME_CHARS]
        known = self.store.topic_thread(chat, name)
        if known is not None:
            return known or None
        if chat in self._refused:
            return None
        try:
            topic = await self.bot.create_forum_topic(chat_id=chat, name=name)
        except BadRequest as exc:
            logger.warning("No forum topic in chat %s (%s); alerts go to the chat", chat, exc)
            if "forum" in exc.message.lower():
                self.store.save_topic(chat, NOT_A_FORUM, 0)  # for good: it is no forum
            else:
                self._refused.add(chat)  # no right to make topics: ask again after a restart
            return None
        logger.info(
            "Created forum topic %r (thread %s) in chat %s", name, topic.message_thread_id, chat
        )
        self.store.save_topic(chat, name, topic.message_thread_id)
        return topic.message_thread_id
