"""The local Bot API server: the one probe that says whether it is up (see `BotApiCheck.is_up`)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from adminbot.checks.base import (
    CheckError,
    CheckReason,
    CheckResult,
    CheckState,
    describe_error,
    shorten,
)
from adminbot.clock import Clock, utcnow
from adminbot.facts import NO_FACTS, Facts, facts
from adminbot.rules.builtin import SERVIDOR_CAIDO

logger = logging.getLogger(__name__)


_TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


class BotApiCheck:
    """Ask the local Bot API server `getMe`: proves it is up and that it accepts the token."""

    raises = SERVIDOR_CAIDO.name  # down is that incident (with its Restart button)

    def __init__(
        self,
        name: str,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 5.0,
        client_factory: Callable[[], httpx.AsyncClient] = httpx.AsyncClient,
        clock: Clock = utcnow,
    ) -> None:
        parts = urlsplit(base_url)
        self.name = name
        self.base_url = base_url
        self.timeout = timeout
        # Only host and port are ever shown; base_url itself could carry credentials.
        self.where = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
        self._token = token
        self._client_factory = client_factory
        self._clock = clock

    async def run(self) -> CheckResult:
        """Probe once; unexpected errors leave this method only as a redacted CheckError."""
        try:
            return await self._probe()
        except Exception as exc:
            # The URL holds the token and exception texts may quote it, so the original
            # (and its traceback) must not reach run_checks' log.
            raise CheckError(self._redact(f"{type(exc).__name__}: {exc}")) from None

    async def _probe(self) -> CheckResult:
        url = f"{self.base_url}{self._token or ''}/getMe"
        started = time.monotonic()
        try:
            async with self._client_factory() as client:
                response = await client.get(url, timeout=self.timeout)
        except httpx.TimeoutException:
            return self._result(
                CheckState.CRITICAL,
                CheckReason.API_SILENT,
                facts(server=self.where, seconds=float(self.timeout)),
            )
        except httpx.RequestError as exc:
            reason = self._redact(describe_error(exc))
            logger.info("bot api check %s: %s unreachable: %s", self.name, self.where, reason)
            return self._result(
                CheckState.CRITICAL,
                CheckReason.API_UNREACHABLE,
                facts(server=self.where, error=reason),
            )
        details = (
            ("server", self.where),
            ("http status", str(response.status_code)),
            ("latency", f"{(time.monotonic() - started) * 1000:.0f} ms"),
        )
        status = response.status_code
        server = facts(server=self.where, status=status)
        if status >= 500:
            return self._result(CheckState.CRITICAL, CheckReason.API_SERVER_ERROR, server, details)
        payload = _json_object(response)
        if not isinstance(payload.get("ok"), bool):
            # A proxy's error page or anything else that is not the Bot API speaking.
            return self._result(CheckState.CRITICAL, CheckReason.API_NOT_BOT_API, server, details)
        if self._token is None:
            # Without a token the server can only refuse us, but a JSON refusal proves it serves.
            return self._result(CheckState.OK, CheckReason.API_UNCHECKED, server, details)
        if status == 401:
            return self._result(CheckState.WARNING, CheckReason.API_REJECTED, server, details)
        if 200 <= status < 300 and payload["ok"] is True:
            bot = payload.get("result")
            username = bot.get("username") if isinstance(bot, dict) else None
            if username:
                who = facts(server=self.where, username=str(username))
                return self._result(CheckState.OK, CheckReason.API_OK_BOT, who, details)
            return self._result(CheckState.OK, CheckReason.API_OK, server, details)
        description = self._redact(shorten(str(payload.get("description") or "?")))
        return self._result(
            CheckState.WARNING,
            CheckReason.API_BAD_REPLY,
            facts(server=self.where, status=status, description=description),
            details,
        )

    async def is_up(self) -> bool:
        """The one answer to "is the local Bot API server up?", for checks, verify-first
        and the check after a container restart alike: up is the Bot API answering in
        its JSON; down is refused, silent, an HTTP 5xx or a body that is not its JSON."""
        try:
            result = await self.run()
        except CheckError:
            return False
        return result.state is not CheckState.CRITICAL

    def _redact(self, text: str) -> str:
        if self._token:
            text = text.replace(self._token, "<token>")
        return _TOKEN_SHAPE.sub("<token>", text)

    def _result(
        self,
        state: CheckState,
        reason: CheckReason,
        found: Facts = NO_FACTS,
        details: tuple[tuple[str, str], ...] = (),
    ) -> CheckResult:
        return CheckResult(self.name, state, reason, self._clock(), found, details)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
