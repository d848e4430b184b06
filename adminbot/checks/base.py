"""Periodic health checks: each probe gives a `CheckResult`; the tracker turns changes into `Flip`s.

The Telegram layer runs `run_checks` every VERIFICACION_PERIODICA seconds and sends
only the flips `CheckTracker.observe` returns, so the admin hears about changes, not
about every round. States follow Nagios: UNKNOWN means "the probe could not tell",
while a service that does not answer (refused, timed out) is CRITICAL. The probes
themselves (disk, Bot API server, container, process, log silence) are in
`adminbot.checks.disk`, `botapi`, `container`, `process` and `staleness`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from adminbot.clock import Clock, utcnow
from adminbot.facts import Facts, english, facts
from adminbot.facts import human_bytes as human_bytes  # older callers import it from here

logger = logging.getLogger(__name__)

_MAX_TEXT = 160  # longest piece of foreign text (exception, server reply) put in a summary


class CheckState(StrEnum):
    """Outcome of one probe, with Nagios' meanings."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"


class CheckReason(StrEnum):
    """Why a probe gave its state; the views word each one, with the result's facts."""

    NOTE = "note"
    TIMED_OUT = "timed_out"
    CHECK_FAILED = "check_failed"
    DISK_READ_PENDING = "disk_read_pending"
    DISK_MISSING = "disk_missing"
    DISK_UNREADABLE = "disk_unreadable"
    DISK_USAGE = "disk_usage"
    DISK_PERCENT_LIMIT = "disk_percent_limit"
    DISK_FREE_LIMIT = "disk_free_limit"
    API_SILENT = "api_silent"
    API_UNREACHABLE = "api_unreachable"
    API_SERVER_ERROR = "api_server_error"
    API_UNCHECKED = "api_unchecked"
    API_REJECTED = "api_rejected"
    API_OK = "api_ok"
    API_OK_BOT = "api_ok_bot"
    API_BAD_REPLY = "api_bad_reply"
    API_NOT_BOT_API = "api_not_bot_api"
    DOCKER_UNREACHABLE = "docker_unreachable"
    CONTAINER_MISSING = "container_missing"
    CONTAINER_RESTARTING = "container_restarting"
    CONTAINER_PAUSED = "container_paused"
    CONTAINER_UNHEALTHY = "container_unhealthy"
    CONTAINER_RUNNING = "container_running"
    CONTAINER_RUNNING_HEALTH = "container_running_health"
    CONTAINER_STOPPED = "container_stopped"
    CONTAINER_CREATED = "container_created"
    CONTAINER_ODD = "container_odd"
    PROCESS_MISSING_NAMED = "process_missing_named"
    PROCESS_MISSING_CMDLINE = "process_missing_cmdline"
    PROCESS_MISSING_BOTH = "process_missing_both"
    PID_FILE_MISSING = "pid_file_missing"
    PID_FILE_UNREADABLE = "pid_file_unreadable"
    PID_FILE_GARBLED = "pid_file_garbled"
    PID_STALE = "pid_stale"
    PID_REUSED = "pid_reused"
    PROCESS_ZOMBIE = "process_zombie"
    PROCESS_VANISHED = "process_vanished"
    PROCESS_UP = "process_up"
    FDS_USAGE = "fds_usage"
    LOG_WAITING = "log_waiting"
    LOG_FRESH = "log_fresh"
    LOG_SILENT = "log_silent"
    LOG_SILENT_ALIVE = "log_silent_alive"
    LOG_SILENT_DEAD = "log_silent_dead"
    LOG_NEVER = "log_never"
    LOG_NEVER_ALIVE = "log_never_alive"
    LOG_NEVER_DEAD = "log_never_dead"


ENGLISH: Mapping[CheckReason, str] = {
    CheckReason.NOTE: "{text}",
    CheckReason.TIMED_OUT: "no result within {seconds}s",
    CheckReason.CHECK_FAILED: "check failed: {error}",
    CheckReason.DISK_READ_PENDING: "{path}: the previous usage read has not returned (hung mount?)",
    CheckReason.DISK_MISSING: "{path} does not exist (not mounted, or wrong path?)",
    CheckReason.DISK_UNREADABLE: "cannot read usage of {path}: {error}",
    CheckReason.DISK_USAGE: "{path} {percent}% used, {free} free",
    CheckReason.FDS_USAGE: "{used} of {limit} file descriptors open ({percent}%)",
    CheckReason.DISK_PERCENT_LIMIT: "{path} {percent}% used, {free} free ({level} at {limit}%)",
    CheckReason.DISK_FREE_LIMIT: "{path} {percent}% used, {free} free ({level} below {limit})",
    CheckReason.API_SILENT: "Bot API server {server} gave no answer within {seconds}s",
    CheckReason.API_UNREACHABLE: "Bot API server {server} unreachable: {error}",
    CheckReason.API_SERVER_ERROR: "Bot API server {server} answered HTTP {status}",
    CheckReason.API_UNCHECKED: (
        "Bot API server {server} answers (no token configured: getMe not checked)"
    ),
    CheckReason.API_REJECTED: (
        "Bot API server {server} is up but rejects the bot token (401 Unauthorized): "
        "check the token"
    ),
    CheckReason.API_OK: "Bot API server {server} OK",
    CheckReason.API_OK_BOT: "Bot API server {server} OK, bot @{username}",
    CheckReason.API_BAD_REPLY: "Bot API server {server} answered HTTP {status}: {description}",
    CheckReason.API_NOT_BOT_API: (
        "Bot API server {server} answered HTTP {status} without the Bot API's JSON"
    ),
    CheckReason.DOCKER_UNREACHABLE: "cannot ask Docker about {container}: {error}",
    CheckReason.CONTAINER_MISSING: "container {container} does not exist",
    CheckReason.CONTAINER_RESTARTING: "container {container} is restarting (crash loop?)",
    CheckReason.CONTAINER_PAUSED: "container {container} is paused",
    CheckReason.CONTAINER_UNHEALTHY: "container {container} is running but unhealthy",
    CheckReason.CONTAINER_RUNNING: "container {container} is running",
    CheckReason.CONTAINER_RUNNING_HEALTH: "container {container} is running ({health})",
    CheckReason.CONTAINER_STOPPED: "container {container} is {status}",
    CheckReason.CONTAINER_CREATED: "container {container} was created but never started",
    CheckReason.CONTAINER_ODD: "container {container} reports status '{status}'",
    CheckReason.PROCESS_MISSING_NAMED: "no process named '{process}' is running",
    CheckReason.PROCESS_MISSING_CMDLINE: (
        "no process with '{cmdline}' in its command line is running"
    ),
    CheckReason.PROCESS_MISSING_BOTH: (
        "no process named '{process}' and with '{cmdline}' in its command line is running"
    ),
    CheckReason.PID_FILE_MISSING: "pid file {pid_file} is missing: not running?",
    CheckReason.PID_FILE_UNREADABLE: "cannot read pid file {pid_file}: {error}",
    CheckReason.PID_FILE_GARBLED: "pid file {pid_file} holds '{text}', not a pid",
    CheckReason.PID_STALE: "stale pid file {pid_file}: pid {pid} is not running",
    CheckReason.PID_REUSED: (
        "stale pid file {pid_file}: pid {pid} is now '{name}', not the watched process"
    ),
    CheckReason.PROCESS_ZOMBIE: "pid {pid} ({name}) is a zombie: it exited and was not reaped",
    CheckReason.PROCESS_VANISHED: "pid {pid} ({name}) exited while being checked",
    CheckReason.PROCESS_UP: "pid {pid} ({name}) up {uptime}, CPU {cpu}%, RSS {rss}",
    CheckReason.LOG_WAITING: "no line seen yet (watching for {waited}, limit {limit})",
    CheckReason.LOG_FRESH: "last line {quiet} ago",
    CheckReason.LOG_SILENT: "no new line for {quiet} (limit {limit})",
    CheckReason.LOG_SILENT_ALIVE: (
        "no new line for {quiet} (limit {limit}) while the process is alive"
    ),
    CheckReason.LOG_SILENT_DEAD: (
        "no new line for {quiet} (limit {limit}), but the process is not running: "
        "see the process check"
    ),
    CheckReason.LOG_NEVER: "no line at all in {waited} of watching (limit {limit})",
    CheckReason.LOG_NEVER_ALIVE: (
        "no line at all in {waited} of watching (limit {limit}) while the process is alive"
    ),
    CheckReason.LOG_NEVER_DEAD: (
        "no line at all in {waited} of watching (limit {limit}), but the process is not "
        "running: see the process check"
    ),
}
"""Plain English for adminbot's own log and the console; the admin reads the catalog."""

EXIT_CODE_ENGLISH = " (exit code {exit_code})"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One probe's outcome as facts: a reason and its figures; labelled details for logs."""

    name: str
    state: CheckState
    reason: CheckReason
    checked_at: datetime
    facts: Facts = field(default_factory=facts)
    details: tuple[tuple[str, str], ...] = ()

    @classmethod
    def note(cls, name: str, state: CheckState, text: str, at: datetime) -> CheckResult:
        """A result whose only fact is a text (a custom check, a test)."""
        return cls(name, state, CheckReason.NOTE, at, facts(text=text))

    @property
    def summary(self) -> str:
        """The outcome in plain English, for the log and the console (never for the admin)."""
        values = {**self.facts, "level": self.state.value}
        text = english(ENGLISH[self.reason], values)
        if "exit_code" in self.facts:
            text += english(EXIT_CODE_ENGLISH, self.facts)
        return text


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
        return CheckResult(
            check.name,
            CheckState.UNKNOWN,
            CheckReason.TIMED_OUT,
            clock(),
            facts(seconds=float(limit)),
            (("error", "timeout"),),
        )
    except Exception as exc:
        return _failed(check, exc, clock)


def _failed(check: Check, exc: Exception, clock: Clock) -> CheckResult:
    """A check's own bug or unforeseen error: log it with its traceback, show it as UNKNOWN."""
    logger.warning("check %s failed: %s", check.name, describe_error(exc), exc_info=exc)
    details = (("error", type(exc).__name__),)
    return CheckResult(
        check.name,
        CheckState.UNKNOWN,
        CheckReason.CHECK_FAILED,
        clock(),
        facts(error=describe_error(exc)),
        details,
    )
