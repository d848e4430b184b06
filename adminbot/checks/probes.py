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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import psutil

from adminbot.checks.base import (
    CheckError,
    CheckReason,
    CheckResult,
    CheckState,
    describe_error,
    human_bytes,
    shorten,
)
from adminbot.clock import Clock, utcnow
from adminbot.facts import NO_FACTS, Facts, Size, facts
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
            path=str(self.path), percent=float(usage.percent), free=Size(usage.free), limit=limit
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
                return self._result(
                    CheckState.CRITICAL, CheckReason.CONTAINER_MISSING, facts(container=c)
                )
            logger.warning("container check %s: cannot ask Docker about %s: %s", self.name, c, text)
            return self._result(
                CheckState.UNKNOWN, CheckReason.DOCKER_UNREACHABLE, facts(container=c, error=text)
            )
        if state is None:
            missing = facts(container=c)
            return self._result(CheckState.CRITICAL, CheckReason.CONTAINER_MISSING, missing)
        status = (state.status or "").lower()
        health = (state.health or "").lower()
        health = "" if health == "none" else health
        details = [("container", c), ("status", status), ("health", health or "no health check")]
        started_at = getattr(state, "started_at", None)  # a datetime, or Docker's ISO text
        if isinstance(started_at, datetime):
            details.append(("started", started_at.isoformat(timespec="seconds")))
        elif isinstance(started_at, str) and started_at:
            details.append(("started", started_at))
        verdict, reason = _container_verdict(status, state.running, health)
        exit_code = getattr(state, "exit_code", None)
        if verdict is not CheckState.CRITICAL or not isinstance(exit_code, int):
            exit_code = None
        found = facts(container=c, status=status or "none", health=health, exit_code=exit_code)
        return self._result(verdict, reason, found, tuple(details))

    def _result(
        self,
        state: CheckState,
        reason: CheckReason,
        found: Facts = NO_FACTS,
        details: tuple[tuple[str, str], ...] = (),
    ) -> CheckResult:
        return CheckResult(self.name, state, reason, self._clock(), found, details)


def _container_verdict(status: str, running: bool, health: str) -> tuple[CheckState, CheckReason]:
    """Running is OK; unhealthy, paused or restarting WARNING; stopped or never started CRITICAL."""
    if status == "missing":  # how adminbot.actions.docker reports a 404 from the engine
        return CheckState.CRITICAL, CheckReason.CONTAINER_MISSING
    if status == "restarting":
        return CheckState.WARNING, CheckReason.CONTAINER_RESTARTING
    if status == "paused":
        return CheckState.WARNING, CheckReason.CONTAINER_PAUSED
    if status == "running" or (running and not status):
        if health == "unhealthy":
            return CheckState.WARNING, CheckReason.CONTAINER_UNHEALTHY
        if health:
            return CheckState.OK, CheckReason.CONTAINER_RUNNING_HEALTH
        return CheckState.OK, CheckReason.CONTAINER_RUNNING
    if status in ("exited", "dead", "removing"):
        return CheckState.CRITICAL, CheckReason.CONTAINER_STOPPED
    if status == "created":
        return CheckState.CRITICAL, CheckReason.CONTAINER_CREATED
    return CheckState.UNKNOWN, CheckReason.CONTAINER_ODD


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


@dataclass(frozen=True, slots=True)
class _Lookup:
    """What one look at the process table found."""

    state: CheckState
    reason: CheckReason
    facts: Facts = field(default_factory=facts)
    details: tuple[tuple[str, str], ...] = ()
    info: ProcessInfo | None = None


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
        found = await asyncio.to_thread(self._lookup)
        return CheckResult(
            self.name, found.state, found.reason, self._clock(), found.facts, found.details
        )

    async def find(self) -> ProcessInfo | None:
        """Return the live process (not a zombie), or None."""
        found = await asyncio.to_thread(self._lookup)
        return found.info

    async def alive(self) -> bool:
        """Whether the process runs; fits StalenessCheck's `process_alive`."""
        return await self.find() is not None

    def _lookup(self) -> _Lookup:
        if self.pid_file is not None:
            return self._lookup_by_pid_file(self.pid_file)
        # The monitor itself never counts: a bot started with "main.py" on its own
        # command line would otherwise find itself and report OK forever.
        me = os.getpid()
        found = [p for p in self._processes() if p.info["pid"] != me and self._matches(p)]
        if not found:
            return _Lookup(CheckState.CRITICAL, self._missing(), self._wanted())
        live = [p for p in found if p.info["status"] != psutil.STATUS_ZOMBIE]
        # The oldest is the main process when it has spawned workers.
        chosen = min(live or found, key=lambda p: p.info["create_time"] or 0.0)
        return self._verdict(chosen, (("matches", str(len(found))),))

    def _lookup_by_pid_file(self, pid_file: Path) -> _Lookup:
        where = (("pid file", str(pid_file)),)
        named = facts(pid_file=str(pid_file))
        try:
            text = pid_file.read_text(encoding="utf-8", errors="replace").strip()
        except FileNotFoundError:
            return _Lookup(CheckState.CRITICAL, CheckReason.PID_FILE_MISSING, named, where)
        except OSError as exc:
            reason = exc.strerror or describe_error(exc)
            unreadable = facts(pid_file=str(pid_file), error=reason)
            return _Lookup(CheckState.UNKNOWN, CheckReason.PID_FILE_UNREADABLE, unreadable, where)
        if not text.isdigit() or int(text) == 0:
            garbled = facts(pid_file=str(pid_file), text=text[:20])
            return _Lookup(CheckState.UNKNOWN, CheckReason.PID_FILE_GARBLED, garbled, where)
        pid = int(text)
        process = next((p for p in self._processes() if p.info["pid"] == pid), None)
        if process is None:
            stale = facts(pid_file=str(pid_file), pid=pid)
            return _Lookup(CheckState.CRITICAL, CheckReason.PID_STALE, stale, where)
        if not self._matches(process):
            reused = facts(pid_file=str(pid_file), pid=pid, name=str(process.info["name"]))
            return _Lookup(CheckState.CRITICAL, CheckReason.PID_REUSED, reused, where)
        return self._verdict(process, where)

    def _verdict(self, process: psutil.Process, extra: tuple[tuple[str, str], ...]) -> _Lookup:
        pid, name = process.info["pid"], process.info["name"] or "?"
        details = (("pid", str(pid)), ("name", name), *extra)
        who = facts(pid=pid, name=name)
        if process.info["status"] == psutil.STATUS_ZOMBIE:
            return _Lookup(CheckState.CRITICAL, CheckReason.PROCESS_ZOMBIE, who, details)
        cpu: float | None = None
        rss: int | None = None
        try:
            with process.oneshot():
                cpu = process.cpu_percent(None)
                rss = process.memory_info().rss
        except psutil.NoSuchProcess:
            return _Lookup(CheckState.CRITICAL, CheckReason.PROCESS_VANISHED, who, details)
        except psutil.AccessDenied:
            logger.info("process check %s: no access to pid %s figures", self.name, pid)
        started_at = datetime.fromtimestamp(process.info["create_time"] or 0.0, UTC)
        info = ProcessInfo(pid, name, cpu, rss, started_at)
        cpu_text = "?" if cpu is None else f"{cpu:.1f}%"
        rss_text = "?" if rss is None else human_bytes(rss)
        up = facts(
            pid=pid,
            name=name,
            uptime=max(self._clock() - started_at, timedelta(0)),
            cpu=None if cpu is None else float(cpu),
            rss=None if rss is None else Size(rss),
        )
        details = (
            *details,
            ("started", started_at.isoformat(timespec="seconds")),
            ("cpu", cpu_text),
            ("rss", rss_text),
        )
        return _Lookup(CheckState.OK, CheckReason.PROCESS_UP, up, details, info)

    def _processes(self) -> Iterable[psutil.Process]:
        return self._process_iter(_PROC_ATTRS)

    def _matches(self, process: psutil.Process) -> bool:
        if self.process_name is not None and process.info["name"] != self.process_name:
            return False
        if self.cmdline_contains is not None:
            return self.cmdline_contains in " ".join(process.info["cmdline"] or ())
        return True

    def _missing(self) -> CheckReason:
        if self.process_name is not None and self.cmdline_contains is not None:
            return CheckReason.PROCESS_MISSING_BOTH
        if self.process_name is not None:
            return CheckReason.PROCESS_MISSING_NAMED
        return CheckReason.PROCESS_MISSING_CMDLINE

    def _wanted(self) -> Facts:
        return facts(process=self.process_name, cmdline=self.cmdline_contains)


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
