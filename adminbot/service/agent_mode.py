"""The headless agent: with `database_url` and no Telegram token, `adminbot run` is one.

It tails, classifies, runs its checks and its fixes, and queues its alerts in the
shared outbox for the front (the host whose adminbot has the token) to send. No
console front: no banner of the console mode, no demo, no session summary; the
console sink still writes each incident to the journal, and /healthz still serves.
"""

from __future__ import annotations

import logging

from adminbot.errors import StartupError
from adminbot.service.runtime import Runtime
from adminbot.service.selfwatch import Part
from adminbot.supervise.supervisor import ChildExit

logger = logging.getLogger(__name__)


class AgentFront:
    """Tells nobody directly: the front sends what this agent queues."""

    def __init__(self, runtime: Runtime) -> None:
        config = runtime.config
        if not config.alert_chats:
            raise StartupError(
                "an agent (database_url without TELEGRAM_TOKEN) needs ADMIN_ID or chat_id, "
                "the same as the front's, to address its alerts"
            )
        self.runtime = runtime

    def health(self) -> Part | None:
        return None

    def on_duty(self) -> bool:
        """Never: the fleet-wide work belongs to the front."""
        return False

    async def start(self) -> None:
        store = self.runtime.store
        logger.info("Agent %s on %s: alerts go out through the front", store.host, store.path)

    async def stop(self, ended: ChildExit | None) -> None:
        logger.info("Agent %s stopped%s", self.runtime.store.host, f" ({ended})" if ended else "")
