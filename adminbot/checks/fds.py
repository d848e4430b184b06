"""Open file descriptors: raise the soft limit at start, and warn before the table runs out.

With the table full, nothing fails loudly: Telegram sends, polling and /healthz just
stop working while the process stays alive. So the limit is raised to what the
hard limit allows, the tailer keeps a bounded pool of open logs, and this check
says when descriptors run short anyway.
"""

from __future__ import annotations

import logging
import resource
from collections.abc import Callable

import psutil

from adminbot.checks.base import CheckReason, CheckResult, CheckState
from adminbot.clock import Clock, utcnow
from adminbot.facts import facts

logger = logging.getLogger(__name__)

# (descriptors open now, the soft limit)
FdReader = Callable[[], tuple[int, int]]


def soft_limit() -> int:
    """The soft limit on open files (a very large number when unlimited)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def raise_open_files_limit() -> int:
    """Raise the soft limit to the hard one (systemd's default soft limit is 1,024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:
            logger.warning("cannot raise the open files limit from %s to %s: %s", soft, hard, exc)
            return soft_limit()
        logger.info("open files limit raised from %s to %s", soft, hard)
    return soft_limit()


def open_descriptors() -> tuple[int, int]:
    """How many descriptors this process has open, and its soft limit."""
    return psutil.Process().num_fds(), soft_limit()


class FdCheck:
    """WARNING above 80% of the soft limit on open files, CRITICAL above 95%."""

    def __init__(
        self,
        name: str = "fds",
        *,
        warn_percent: float = 80.0,
        crit_percent: float = 95.0,
        reader: FdReader = open_descriptors,
        clock: Clock = utcnow,
    ) -> None:
        self.name = name
        self.warn_percent = warn_percent
        self.crit_percent = crit_percent
        self._reader = reader
        self._clock = clock

    async def run(self) -> CheckResult:
        """Count open descriptors (one read of /proc, no thread needed)."""
        used, limit = self._reader()
        percent = 100.0 * used / limit if limit > 0 else 0.0
        state = CheckState.OK
        if percent > self.crit_percent:
            state = CheckState.CRITICAL
        elif percent > self.warn_percent:
            state = CheckState.WARNING
        return CheckResult(
            self.name,
            state,
            CheckReason.FDS_USAGE,
            self._clock(),
            facts(used=used, limit=limit, percent=round(percent, 1)),
        )
