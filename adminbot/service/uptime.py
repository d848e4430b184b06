"""Someone notices when adminbot itself is gone: a push to an outside uptime monitor.

While adminbot is healthy (tailer and jobs alive, store writable) it requests
`[heartbeat] url` (a healthchecks.io or Uptime Kuma push URL) every check period.
When it dies, hangs or stops reading, the pings stop and that service alerts, on a
channel that does not depend on adminbot. A failing ping is logged once per streak
and is never fatal: the monitor's outage must not take adminbot down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

logger = logging.getLogger(__name__)

PING_TIMEOUT = 5.0


class UptimePing:
    """Requests the push URL on each `tick()` while `healthy()` says adminbot works."""

    def __init__(
        self, url: str, healthy: Callable[[], bool], *, timeout: float = PING_TIMEOUT
    ) -> None:
        self.url = url
        self.healthy = healthy
        self.timeout = timeout
        self.sent = 0
        self._failing = False
        self._held = False
        # The path of a push URL is its secret: logs name the host only.
        self._host = urlsplit(url).netloc

    async def tick(self) -> bool:
        """Ping once if healthy; True when the monitor accepted it."""
        if not await asyncio.to_thread(self.healthy):
            if not self._held:
                self._held = True
                logger.warning("Not pinging %s: adminbot is not healthy", self._host)
            return False
        self._held = False
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                answer = await client.get(self.url)
                answer.raise_for_status()
        except httpx.HTTPError as exc:
            if not self._failing:
                self._failing = True
                logger.warning("Heartbeat ping to %s failed: %s", self._host, _why(exc))
            return False
        self.sent += 1
        if self._failing:
            self._failing = False
            logger.info("Heartbeat ping to %s works again", self._host)
        return True


def _why(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__
