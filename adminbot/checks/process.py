"""The pipeline's process, found by its command line or its pid file."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

from adminbot.checks.base import (
    CheckReason,
    CheckResult,
    CheckState,
    describe_error,
    human_bytes,
)
from adminbot.clock import Clock, utcnow
from adminbot.facts import Facts, Size, facts

logger = logging.getLogger(__name__)


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
