"""Health probes: disk space, Bot API server, its container, the pipeline's process, log silence.

Each is a `Check` (see `adminbot.checks.base`): its `run` gives one `CheckResult`. States follow
Nagios: UNKNOWN means "the probe could not tell", while a service that does not answer
(refused, timed out) is CRITICAL. Disk, HTTP, Docker, the process table and the clock are
injected so tests run without them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import psutil

from adminbot.checks.base import (
    CheckError,
    CheckResult,
    CheckState,
    describe_error,
    human_bytes,
    human_duration,
    shorten,
)
from adminbot.clock import Clock, utcnow
from adminbot.rules.builtin import SERVIDOR_CAIDO

logger = logging.getLogger(__name__)


def _percent(value: float) -> str:
    return f"{round(value, 1):g}%"


# --- disk -------------------------------------------------------------------------------


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
                CheckState.UNKNOWN,
                f"{self.path}: the previous usage read has not returned (hung mount?)",
            )
        self._inflight = asyncio.ensure_future(
            asyncio.to_thread(self._usage_reader, str(self.path))
        )
        self._inflight.add_done_callback(_consume_outcome)
        try:
            usage = await asyncio.shield(self._inflight)
        except FileNotFoundError:
            return self._result(
                CheckState.UNKNOWN, f"{self.path} does not exist (not mounted, or wrong path?)"
            )
        except OSError as exc:
            logger.warning("disk check %s: cannot read usage of %s: %s", self.name, self.path, exc)
            reason = exc.strerror or describe_error(exc)
            return self._result(CheckState.UNKNOWN, f"cannot read usage of {self.path}: {reason}")
        state, limit = self._classify(usage)
        summary = f"{self.path} {_percent(usage.percent)} used, {human_bytes(usage.free)} free"
        if limit:
            summary += f" ({limit})"
        details = (
            ("path", str(self.path)),
            ("size", human_bytes(usage.total)),
            ("used", f"{human_bytes(usage.used)} ({_percent(usage.percent)})"),
            ("free", human_bytes(usage.free)),
            ("limits", self._limits()),
        )
        return self._result(state, summary, details)

    def _classify(self, usage: UsageLike) -> tuple[CheckState, str]:
        """Return the worse of the percent and free-bytes verdicts and the limit it crossed."""
        verdicts: list[tuple[CheckState, str]] = []
        if self.crit_percent is not None and usage.percent >= self.crit_percent:
            verdicts.append((CheckState.CRITICAL, f"critical at {_percent(self.crit_percent)}"))
        elif self.warn_percent is not None and usage.percent >= self.warn_percent:
            verdicts.append((CheckState.WARNING, f"warning at {_percent(self.warn_percent)}"))
        if self.crit_free_bytes is not None and usage.free < self.crit_free_bytes:
            verdicts.append(
                (CheckState.CRITICAL, f"critical below {human_bytes(self.crit_free_bytes)}")
            )
        elif self.warn_free_bytes is not None and usage.free < self.warn_free_bytes:
            verdicts.append(
                (CheckState.WARNING, f"warning below {human_bytes(self.warn_free_bytes)}")
            )
        if not verdicts:
            return CheckState.OK, ""
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
        self, state: CheckState, summary: str, details: tuple[tuple[str, str], ...] = ()
    ) -> CheckResult:
        return CheckResult(self.name, state, summary, self._clock(), details)


def _consume_outcome(future: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned read's error so asyncio does not log it as never retrieved."""
    if not future.cancelled() and future.exception() is not None:
        logger.debug("abandoned read finished with %r", future.exception())


# --- Bot API server ------------------------------------------------------------------------

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
                f"Bot API server {self.where} gave no answer within {self.timeout:g}s",
            )
        except httpx.RequestError as exc:
            reason = self._redact(describe_error(exc))
            logger.info("bot api check %s: %s unreachable: %s", self.name, self.where, reason)
            return self._result(
                CheckState.CRITICAL, f"Bot API server {self.where} unreachable: {reason}"
            )
        details = (
            ("server", self.where),
            ("http status", str(response.status_code)),
            ("latency", f"{(time.monotonic() - started) * 1000:.0f} ms"),
        )
        status = response.status_code
        if status >= 500:
            return self._result(
                CheckState.CRITICAL, f"Bot API server {self.where} answered HTTP {status}", details
            )
        if self._token is None:
            summary = (
                f"Bot API server {self.where} answers (no token configured: getMe not checked)"
            )
            return self._result(CheckState.OK, summary, details)
        if status == 401:
            summary = (
                f"Bot API server {self.where} is up but rejects the bot token "
                "(401 Unauthorized): check the token"
            )
            return self._result(CheckState.WARNING, summary, details)
        payload = _json_object(response)
        if 200 <= status < 300 and payload.get("ok") is True:
            bot = payload.get("result")
            username = bot.get("username") if isinstance(bot, dict) else None
            who = f", bot @{username}" if username else ""
            return self._result(CheckState.OK, f"Bot API server {self.where} OK{who}", details)
        description = self._redact(shorten(str(payload.get("description") or "unexpected reply")))
        return self._result(
            CheckState.WARNING,
            f"Bot API server {self.where} answered HTTP {status}: {description}",
            details,
        )

    def _redact(self, text: str) -> str:
        if self._token:
            text = text.replace(self._token, "<token>")
        return _TOKEN_SHAPE.sub("<token>", text)

    def _result(
        self, state: CheckState, summary: str, details: tuple[tuple[str, str], ...] = ()
    ) -> CheckResult:
        return CheckResult(self.name, state, summary, self._clock(), details)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


# --- Docker container ----------------------------------------------------------------------


class ContainerStateLike(Protocol):
    """The part of the Docker client's ContainerState this check reads."""

    @property
    def running(self) -> bool: ...
    @property
    def status(self) -> str: ...
    @property
    def health(self) -> str | None: ...


class ContainerInspector(Protocol):
    """The Docker client as this module needs it; `adminbot.actions.docker.DockerClient` fits.

    Its errors are recognised by their `permanent` attribute (DockerError) or as OSError,
    so this module does not import the client.
    """

    async def inspect(self, name: str) -> ContainerStateLike | None: ...


_MISSING_CONTAINER = re.compile(r"no such (container|object)|not found|\b404\b", re.IGNORECASE)


class ContainerCheck:
    """Report whether the Bot API server's container is up, restarting or gone."""

    raises = SERVIDOR_CAIDO.name  # down is that incident (with its Restart button)

    def __init__(
        self, name: str, docker: ContainerInspector, container: str, *, clock: Clock = utcnow
    ) -> None:
        self.name = name
        self.container = container
        self._docker = docker
        self._clock = clock

    async def run(self) -> CheckResult:
        """Map the engine's view of the container to a state; no engine means UNKNOWN."""
        c = self.container
        try:
            state = await self._docker.inspect(c)
        except Exception as exc:
            # DockerError is not importable here (see ContainerInspector): it is told by its
            # `permanent` flag. Anything else is a bug and goes on to run_checks.
            if not (hasattr(exc, "permanent") or isinstance(exc, OSError)):
                raise
            text = describe_error(exc)
            if _MISSING_CONTAINER.search(text):
                return self._result(CheckState.CRITICAL, f"container {c} does not exist")
            logger.warning("container check %s: cannot ask Docker about %s: %s", self.name, c, text)
            return self._result(CheckState.UNKNOWN, f"cannot ask Docker about {c}: {text}")
        if state is None:
            return self._result(CheckState.CRITICAL, f"container {c} does not exist")
        status = (state.status or "").lower()
        health = (state.health or "").lower()
        health = "" if health == "none" else health
        details = [("container", c), ("status", status), ("health", health or "no health check")]
        started_at = getattr(state, "started_at", None)  # a datetime, or Docker's ISO text
        if isinstance(started_at, datetime):
            details.append(("started", started_at.isoformat(timespec="seconds")))
        elif isinstance(started_at, str) and started_at:
            details.append(("started", started_at))
        verdict, summary = _container_verdict(c, status, state.running, health)
        exit_code = getattr(state, "exit_code", None)
        if verdict is CheckState.CRITICAL and exit_code is not None:
            summary += f" (exit code {exit_code})"
        return self._result(verdict, summary, tuple(details))

    def _result(
        self, state: CheckState, summary: str, details: tuple[tuple[str, str], ...] = ()
    ) -> CheckResult:
        return CheckResult(self.name, state, summary, self._clock(), details)


def _container_verdict(
    container: str, status: str, running: bool, health: str
) -> tuple[CheckState, str]:
    """Running is OK; unhealthy, paused or restarting WARNING; stopped or never started CRITICAL."""
    if status == "missing":  # how adminbot.actions.docker reports a 404 from the engine
        return CheckState.CRITICAL, f"container {container} does not exist"
    if status == "restarting":
        return CheckState.WARNING, f"container {container} is restarting (crash loop?)"
    if status == "paused":
        return CheckState.WARNING, f"container {container} is paused"
    if status == "running" or (running and not status):
        if health == "unhealthy":
            return CheckState.WARNING, f"container {container} is running but unhealthy"
        suffix = f" ({health})" if health else ""
        return CheckState.OK, f"container {container} is running{suffix}"
    if status in ("exited", "dead", "removing"):
        return CheckState.CRITICAL, f"container {container} is {status}"
    if status == "created":
        return CheckState.CRITICAL, f"container {container} was created but never started"
    return CheckState.UNKNOWN, f"container {container} reports status {status or 'none'!r}"


# --- process -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """A live watched process as /status shows it; `None` figures were not readable."""

    pid: int
    name: str
    cpu_percent: float | None
    rss: int | None
    started_at: datetime


_PROC_ATTRS = ["pid", "name", "cmdline", "status", "create_time"]


class ProcessCheck:
    """Tell whether the pipeline's process is alive, found by pid file, name or command line.

    CPU % is measured since the previous look: `psutil.process_iter` hands out the same
    cached Process objects each round, so the very first figure is 0.0.
    """

    def __init__(
        self,
        name: str,
        *,
        process_name: str | None = None,
        cmdline_contains: str | None = None,
        pid_file: Path | None = None,
        process_iter: Callable[..., Iterable[psutil.Process]] = psutil.process_iter,
        clock: Clock = utcnow,
    ) -> None:
        if process_name is None and cmdline_contains is None and pid_file is None:
            raise ValueError(f"{name}: give process_name, cmdline_contains or pid_file")
        self.name = name
        self.process_name = process_name
        self.cmdline_contains = cmdline_contains
        self.pid_file = pid_file
        self._process_iter = process_iter
        self._clock = clock

    async def run(self) -> CheckResult:
        """Look the process up in a thread: reading /proc and the pid file blocks."""
        state, summary, details, _ = await asyncio.to_thread(self._lookup)
        return CheckResult(self.name, state, summary, self._clock(), details)

    async def find(self) -> ProcessInfo | None:
        """Return the live process (not a zombie), or None."""
        *_, info = await asyncio.to_thread(self._lookup)
        return info

    async def alive(self) -> bool:
        """Whether the process runs; fits StalenessCheck's `process_alive`."""
        return await self.find() is not None

    def _lookup(self) -> tuple[CheckState, str, tuple[tuple[str, str], ...], ProcessInfo | None]:
        if self.pid_file is not None:
            return self._lookup_by_pid_file(self.pid_file)
        # The monitor itself never counts: a bot started with "main.py" on its own
        # command line would otherwise find itself and report OK forever.
        me = os.getpid()
        found = [p for p in self._processes() if p.info["pid"] != me and self._matches(p)]
        if not found:
            return CheckState.CRITICAL, f"no process {self._wanted()} is running", (), None
        live = [p for p in found if p.info["status"] != psutil.STATUS_ZOMBIE]
        # The oldest is the main process when it has spawned workers.
        chosen = min(live or found, key=lambda p: p.info["create_time"] or 0.0)
        return self._verdict(chosen, (("matches", str(len(found))),))

    def _lookup_by_pid_file(
        self, pid_file: Path
    ) -> tuple[CheckState, str, tuple[tuple[str, str], ...], ProcessInfo | None]:
        where = (("pid file", str(pid_file)),)
        try:
            text = pid_file.read_text(encoding="utf-8", errors="replace").strip()
        except FileNotFoundError:
            return CheckState.CRITICAL, f"pid file {pid_file} is missing: not running?", where, None
        except OSError as exc:
            reason = exc.strerror or describe_error(exc)
            return CheckState.UNKNOWN, f"cannot read pid file {pid_file}: {reason}", where, None
        if not text.isdigit() or int(text) == 0:
            return (
                CheckState.UNKNOWN,
                f"pid file {pid_file} holds {text[:20]!r}, not a pid",
                where,
                None,
            )
        pid = int(text)
        process = next((p for p in self._processes() if p.info["pid"] == pid), None)
        if process is None:
            summary = f"stale pid file {pid_file}: pid {pid} is not running"
            return CheckState.CRITICAL, summary, where, None
        if not self._matches(process):
            summary = (
                f"stale pid file {pid_file}: pid {pid} is now {process.info['name']!r}, "
                f"not a process {self._wanted()}"
            )
            return CheckState.CRITICAL, summary, where, None
        return self._verdict(process, where)

    def _verdict(
        self, process: psutil.Process, extra: tuple[tuple[str, str], ...]
    ) -> tuple[CheckState, str, tuple[tuple[str, str], ...], ProcessInfo | None]:
        pid, name = process.info["pid"], process.info["name"] or "?"
        details = (("pid", str(pid)), ("name", name), *extra)
        if process.info["status"] == psutil.STATUS_ZOMBIE:
            summary = f"pid {pid} ({name}) is a zombie: it exited and was not reaped"
            return CheckState.CRITICAL, summary, details, None
        cpu: float | None = None
        rss: int | None = None
        try:
            with process.oneshot():
                cpu = process.cpu_percent(None)
                rss = process.memory_info().rss
        except psutil.NoSuchProcess:
            return (
                CheckState.CRITICAL,
                f"pid {pid} ({name}) exited while being checked",
                details,
                None,
            )
        except psutil.AccessDenied:
            logger.info("process check %s: no access to pid %s figures", self.name, pid)
        started_at = datetime.fromtimestamp(process.info["create_time"] or 0.0, UTC)
        info = ProcessInfo(pid, name, cpu, rss, started_at)
        cpu_text = "?" if cpu is None else f"{cpu:.1f}%"
        rss_text = "?" if rss is None else human_bytes(rss)
        up = human_duration(self._clock() - started_at)
        summary = f"pid {pid} ({name}) up {up}, CPU {cpu_text}, RSS {rss_text}"
        details = (
            *details,
            ("started", started_at.isoformat(timespec="seconds")),
            ("cpu", cpu_text),
            ("rss", rss_text),
        )
        return CheckState.OK, summary, details, info

    def _processes(self) -> Iterable[psutil.Process]:
        return self._process_iter(_PROC_ATTRS)

    def _matches(self, process: psutil.Process) -> bool:
        if self.process_name is not None and process.info["name"] != self.process_name:
            return False
        if self.cmdline_contains is not None:
            return self.cmdline_contains in " ".join(process.info["cmdline"] or ())
        return True

    def _wanted(self) -> str:
        wanted = []
        if self.process_name is not None:
            wanted.append(f"named {self.process_name!r}")
        if self.cmdline_contains is not None:
            wanted.append(f"with {self.cmdline_contains!r} in its command line")
        return " and ".join(wanted) or "from the pid file"


# --- log staleness -------------------------------------------------------------------------


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
        limit = human_duration(self.max_silence)
        if last is None:
            waited = now - self._started
            if waited <= self.max_silence:
                summary = f"no line seen yet (watching for {human_duration(waited)}, limit {limit})"
                return self._result(CheckState.UNKNOWN, summary)
            silence = f"no line at all in {human_duration(waited)} of watching (limit {limit})"
            details: tuple[tuple[str, str], ...] = (("last line", "never"),)
        else:
            quiet = max(now - last, timedelta(0))
            details = (("last line", last.isoformat(timespec="seconds")), ("limit", limit))
            if quiet <= self.max_silence:
                return self._result(
                    CheckState.OK, f"last line {human_duration(quiet)} ago", details
                )
            silence = f"no new line for {human_duration(quiet)} (limit {limit})"
        # Only asked when silent: a fresh line already proves the process works.
        if self._process_alive is not None and not await self._process_alive():
            summary = f"{silence}, but the process is not running: see the process check"
            return self._result(CheckState.UNKNOWN, summary, details)
        alive = " while the process is alive" if self._process_alive is not None else ""
        return self._result(CheckState.WARNING, f"{silence}{alive}", details)

    def _result(
        self, state: CheckState, summary: str, details: tuple[tuple[str, str], ...] = ()
    ) -> CheckResult:
        return CheckResult(self.name, state, summary, self._clock(), details)
