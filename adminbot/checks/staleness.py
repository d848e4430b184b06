"""Log silence: no new line for too long while the pipeline runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from adminbot.checks.base import (
    CheckReason,
    CheckResult,
    CheckState,
)
from adminbot.clock import Clock, utcnow
from adminbot.facts import NO_FACTS, Facts, facts


class StalenessCheck:
    """Catch a pipeline that is alive but stuck: its log has been silent too long."""

    def __init__(
        self,
        name: str,
        last_line_at: Callable[[], datetime | None],
        max_silence: timedelta,
        *,
        process_alive: Callable[[], Awaitable[bool]] | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.name = name
        self.max_silence = max_silence
        self._last_line_at = last_line_at
        self._process_alive = process_alive
        self._clock = clock
        self._started = clock()

    async def run(self) -> CheckResult:
        """A recent line is OK; silence is a WARNING only while the process is alive."""
        now = self._clock()
        last = self._last_line_at()
        limit = self.max_silence
        if last is None:
            waited = max(now - self._started, timedelta(0))
            if waited <= self.max_silence:
                waiting = facts(waited=waited, limit=limit)
                return self._result(CheckState.UNKNOWN, CheckReason.LOG_WAITING, waiting)
            found = facts(waited=waited, limit=limit)
            reasons = (
                CheckReason.LOG_NEVER,
                CheckReason.LOG_NEVER_ALIVE,
                CheckReason.LOG_NEVER_DEAD,
            )
            details: tuple[tuple[str, str], ...] = (("last line", "never"),)
        else:
            quiet = max(now - last, timedelta(0))
            details = (("last line", last.isoformat(timespec="seconds")), ("limit", str(limit)))
            found = facts(quiet=quiet, limit=limit)
            if quiet <= self.max_silence:
                return self._result(CheckState.OK, CheckReason.LOG_FRESH, found, details)
            reasons = (
                CheckReason.LOG_SILENT,
                CheckReason.LOG_SILENT_ALIVE,
                CheckReason.LOG_SILENT_DEAD,
            )
        # Only asked when silent: a fresh line already proves the process works.
        if self._process_alive is not None and not await self._process_alive():
            return self._result(CheckState.UNKNOWN, reasons[2], found, details)
        silent = reasons[1] if self._process_alive is not None else reasons[0]
        return self._result(CheckState.WARNING, silent, found, details)

    def _result(
        self,
        state: CheckState,
        reason: CheckReason,
        found: Facts = NO_FACTS,
        details: tuple[tuple[str, str], ...] = (),
    ) -> CheckResult:
        return CheckResult(self.name, state, reason, self._clock(), found, details)
