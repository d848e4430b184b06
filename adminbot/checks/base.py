"""Periodic health checks: each probe gives a `CheckResult`; the tracker turns changes into `Flip`s.

The Telegram layer runs `run_checks` every VERIFICACION_PERIODICA seconds and sends
only the flips `CheckTracker.observe` returns, so the admin hears about changes, not
about every round. States follow Nagios: UNKNOWN means "the probe could not tell",
while a service that does not answer (refused, timed out) is CRITICAL. The probes
themselves (disk, Bot API server, container, process, log silence) are in
`adminbot.checks.probes`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from adminbot.clock import Clock, utcnow

logger = logging.getLogger(__name__)

_MAX_TEXT = 160  # longest piece of foreign text (exception, server reply) put in a summary


class CheckState(StrEnum):
    """Outcome of one probe, with Nagios' meanings."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One probe's outcome: a one-line summary for alerts, labelled details for /status."""

    name: str
    state: CheckState
    summary: str
    checked_at: datetime
    details: tuple[tuple[str, str], ...] = ()


class Check(Protocol):
    """Anything `run_checks` can run."""

    name: str

    async def run(self) -> CheckResult: ...


@dataclass(frozen=True, slots=True)
class Flip:
    """A state change of one check: a record to send once, as in healthchecks."""

    check: str
    old: CheckState | None
    new: CheckState
    result: CheckResult

    @property
    def is_recovery(self) -> bool:
        return self.new is CheckState.OK


class CheckError(Exception):
    """A probe failed in a way it could not classify; the text is safe to show (redacted)."""


def human_bytes(n: int) -> str:
    """Format a byte count in powers of 1024, as `df -h` counts, e.g. "8.2 GB"."""
    units = ("B", "KB", "MB", "GB", "TB", "PB")
    value, index = float(abs(n)), 0
    while index < len(units) - 1 and round(value, 1) >= 1024:
        value /= 1024
        index += 1
    sign = "-" if n < 0 else ""
    return f"{sign}{int(value)} B" if index == 0 else f"{sign}{value:.1f} {units[index]}"


def human_duration(delta: timedelta) -> str:
    """Format a duration with its two largest units ("3h 5m"), short enough for a summary."""
    seconds = max(int(delta.total_seconds()), 0)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])


def shorten(text: str) -> str:
    """Fold foreign text (an exception, a server reply) to one line short enough for a summary."""
    text = " ".join(text.split())
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def describe_error(exc: BaseException) -> str:
    """An exception as summary text: its shortened message, or its type when it has none."""
    return shorten(str(exc)) or type(exc).__name__


# --- tracking and running ------------------------------------------------------------------


class CheckTracker:
    """Turn each round's results into flips, so the admin hears of changes only.

    Rules (Nagios' soft/hard states, healthchecks' Flip record):
    1. A check's first result sets its state silently when OK: no "all fine" at start-up.
    2. Leaving the reported state for a non-OK one takes `confirm` non-OK results in a
       row that differ from it; the flip carries the latest (ok, crit, unknown -> unknown).
    3. Going back to OK flips at once: one good probe is strong evidence, and an admin
       who just fixed something wants to hear it. Flapping still stays quiet, since
       each return to a problem needs `confirm` bad results again.
    """

    def __init__(self, *, confirm: int = 1) -> None:
        if confirm < 1:
            raise ValueError("confirm must be at least 1")
        self.confirm = confirm
        self._reported: dict[str, CheckState] = {}
        self._streak: dict[str, int] = {}
        self._latest: dict[str, CheckResult] = {}

    def observe(self, result: CheckResult) -> Flip | None:
        """Record one result; return the flip it causes, if any."""
        name = result.name
        self._latest[name] = result
        old = self._reported.get(name)
        if result.state == old:
            self._streak.pop(name, None)
            return None
        if result.state is CheckState.OK:
            self._streak.pop(name, None)
            self._reported[name] = CheckState.OK
            return None if old is None else Flip(name, old, CheckState.OK, result)
        streak = self._streak.get(name, 0) + 1
        if streak < self.confirm:
            self._streak[name] = streak
            return None
        self._streak.pop(name, None)
        self._reported[name] = result.state
        return Flip(name, old, result.state, result)

    def current(self) -> dict[str, CheckResult]:
        """Latest result of every check, confirmed or not: what /status shows."""
        return dict(self._latest)


async def run_checks(
    checks: Sequence[Check],
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 - a limit for each check, not for the whole call
    clock: Clock = utcnow,
) -> list[CheckResult]:
    """Run all checks at once; one that raises or hangs becomes UNKNOWN, never stops the rest."""
    return list(await asyncio.gather(*(_run_one(check, timeout, clock) for check in checks)))


async def _run_one(check: Check, limit: float, clock: Clock) -> CheckResult:
    deadline = asyncio.timeout(limit)
    try:
        async with deadline:
            return await check.run()
    except TimeoutError as exc:
        if not deadline.expired():
            return _failed(check, exc, clock)
        logger.warning("check %s gave no result within %ss", check.name, limit)
        summary = f"no result within {limit:g}s"
        return CheckResult(
            check.name, CheckState.UNKNOWN, summary, clock(), (("error", "timeout"),)
        )
    except Exception as exc:
        return _failed(check, exc, clock)


def _failed(check: Check, exc: Exception, clock: Clock) -> CheckResult:
    """A check's own bug or unforeseen error: log it with its traceback, show it as UNKNOWN."""
    logger.warning("check %s failed: %s", check.name, describe_error(exc), exc_info=exc)
    details = (("error", type(exc).__name__),)
    return CheckResult(
        check.name, CheckState.UNKNOWN, f"check failed: {describe_error(exc)}", clock(), details
    )
