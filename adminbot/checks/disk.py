"""Disk space of the folders that matter: percent used and free bytes, read off the loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import psutil

from adminbot.checks.base import (
    CheckReason,
    CheckResult,
    CheckState,
    describe_error,
    human_bytes,
)
from adminbot.clock import Clock, utcnow
from adminbot.facts import NO_FACTS, Facts, Size, facts

logger = logging.getLogger(__name__)


def _percent(value: float) -> str:
    return f"{round(value, 1):g}%"


class UsageLike(Protocol):
    """What `psutil.disk_usage` returns; `percent` excludes the blocks reserved for root."""

    @property
    def total(self) -> int: ...
    @property
    def used(self) -> int: ...
    @property
    def free(self) -> int: ...
    @property
    def percent(self) -> float: ...


UsageReader = Callable[[str], UsageLike]


def disk_usage(path: str) -> UsageLike:
    """The one reader of disk usage (statvfs): the disk check, the disk-full report and
    /status all take a `UsageReader`, and this is the real one."""
    return psutil.disk_usage(path)


class DiskCheck:
    """Warn before the download folder fills up: by percent used or by bytes left."""

    def __init__(
        self,
        name: str,
        path: Path,
        *,
        warn_percent: float | None = 85,
        crit_percent: float | None = 95,
        warn_free_bytes: int | None = None,
        crit_free_bytes: int | None = None,
        usage_reader: UsageReader = disk_usage,
        clock: Clock = utcnow,
    ) -> None:
        if warn_percent is not None and crit_percent is not None and warn_percent > crit_percent:
            raise ValueError(f"{name}: warn_percent {warn_percent} is above crit {crit_percent}")
        if (
            warn_free_bytes is not None
            and crit_free_bytes is not None
            and warn_free_bytes < crit_free_bytes
        ):
            raise ValueError(f"{name}: warn_free_bytes is below crit_free_bytes")
        self.name = name
        self.path = path
        self.warn_percent = warn_percent
        self.crit_percent = crit_percent
        self.warn_free_bytes = warn_free_bytes
        self.crit_free_bytes = crit_free_bytes
        self._usage_reader = usage_reader
        self._clock = clock
        self._inflight: asyncio.Future[UsageLike] | None = None

    async def run(self) -> CheckResult:
        """Read usage in a thread (a hung NFS mount blocks statvfs) and compare to the limits."""
        # A read that outlived run_checks' timeout still holds a worker thread; starting
        # another each round would use up the pool that every other check needs.
        if self._inflight is not None and not self._inflight.done():
            return self._result(
                CheckState.UNKNOWN, CheckReason.DISK_READ_PENDING, facts(path=str(self.path))
            )
        self._inflight = asyncio.ensure_future(
            asyncio.to_thread(self._usage_reader, str(self.path))
        )
        self._inflight.add_done_callback(_consume_outcome)
        try:
            usage = await asyncio.shield(self._inflight)
        except FileNotFoundError:
            return self._result(
                CheckState.UNKNOWN, CheckReason.DISK_MISSING, facts(path=str(self.path))
            )
        except OSError as exc:
            logger.warning("disk check %s: cannot read usage of %s: %s", self.name, self.path, exc)
            reason = exc.strerror or describe_error(exc)
            return self._result(
                CheckState.UNKNOWN,
                CheckReason.DISK_UNREADABLE,
                facts(path=str(self.path), error=reason),
            )
        state, why, limit = self._classify(usage)
        found = facts(
            path=str(self.path),
            percent=float(usage.percent),
            free=Size(usage.free),
            used=Size(usage.used),  # with `free`, the sample the disk-full forecast records
            limit=limit,
        )
        details = (
            ("path", str(self.path)),
            ("size", human_bytes(usage.total)),
            ("used", f"{human_bytes(usage.used)} ({_percent(usage.percent)})"),
            ("free", human_bytes(usage.free)),
            ("limits", self._limits()),
        )
        return self._result(state, why, found, details)

    def _classify(self, usage: UsageLike) -> tuple[CheckState, CheckReason, float | Size | None]:
        """Return the worse of the percent and free-bytes verdicts and the limit it crossed."""
        percent, free = CheckReason.DISK_PERCENT_LIMIT, CheckReason.DISK_FREE_LIMIT
        verdicts: list[tuple[CheckState, CheckReason, float | Size]] = []
        if self.crit_percent is not None and usage.percent >= self.crit_percent:
            verdicts.append((CheckState.CRITICAL, percent, float(self.crit_percent)))
        elif self.warn_percent is not None and usage.percent >= self.warn_percent:
            verdicts.append((CheckState.WARNING, percent, float(self.warn_percent)))
        if self.crit_free_bytes is not None and usage.free < self.crit_free_bytes:
            verdicts.append((CheckState.CRITICAL, free, Size(self.crit_free_bytes)))
        elif self.warn_free_bytes is not None and usage.free < self.warn_free_bytes:
            verdicts.append((CheckState.WARNING, free, Size(self.warn_free_bytes)))
        if not verdicts:
            return CheckState.OK, CheckReason.DISK_USAGE, None
        return max(verdicts, key=lambda verdict: verdict[0] is CheckState.CRITICAL)

    def _limits(self) -> str:
        parts = []
        if self.warn_percent is not None:
            parts.append(f"warning at {_percent(self.warn_percent)} used")
        if self.crit_percent is not None:
            parts.append(f"critical at {_percent(self.crit_percent)} used")
        if self.warn_free_bytes is not None:
            parts.append(f"warning below {human_bytes(self.warn_free_bytes)} free")
        if self.crit_free_bytes is not None:
            parts.append(f"critical below {human_bytes(self.crit_free_bytes)} free")
        return ", ".join(parts) or "none"

    def _result(
        self,
        state: CheckState,
        reason: CheckReason,
        found: Facts = NO_FACTS,
        details: tuple[tuple[str, str], ...] = (),
    ) -> CheckResult:
        return CheckResult(self.name, state, reason, self._clock(), found, details)


def _consume_outcome(future: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned read's error so asyncio does not log it as never retrieved."""
    if not future.cancelled() and future.exception() is not None:
        logger.debug("abandoned read finished with %r", future.exception())
