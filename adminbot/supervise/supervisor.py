"""Run the pipeline (`python main.py`) as adminbot's child and notice when it dies.

The child runs in its own session, so a signal meant for adminbot (systemd's
SIGTERM with KillMode=mixed, a Ctrl-C) does not reach it by accident, and
stopping it means stopping its whole process group: no orphaned ffmpeg left
holding files. Its stdout and stderr go, line by line, to a log file (see
`adminbot.supervise.childlog`) that adminbot's own tailer watches, so the child's errors
are classified like those of any other log. A crash (an exit we did not ask for)
is reported to `on_exit`; what to do about it (restart now, later, or ask the
admin) is the integrator's call, helped by `RestartPolicy`.

Over ~400 lines: process groups, output piping and exit reports are one
life cycle of one child; the pieces are private helpers of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import signal
import subprocess
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

import psutil

from adminbot.budget import SlidingWindow
from adminbot.clock import Clock, utcnow
from adminbot.supervise.childlog import LineSplitter, LogWriter
from adminbot.supervise.sdnotify import NOTIFY_VARIABLES

logger = logging.getLogger(__name__)

MAX_LINE_BYTES = 64 * 1024
LAST_LINES = 20
PIPE_GRACE_SECONDS = 1.0  # for the output pipe to close once the group is gone
GROUP_POLL_SECONDS = 0.05
KILL_GRACE_SECONDS = 1.0  # for SIGKILLed processes to actually end
REOPEN_CHECK_SECONDS = 1.0  # how often to notice that log rotation moved our file away

# adminbot's own token, admins and settings: read from its environment (or its .env),
# never meant for the pipeline, whose output lands in a log file.
OWN_VARIABLES = frozenset({"TELEGRAM_TOKEN", "ADMIN_ID", "TELEGRAM_API_BASE_URL"})
OWN_PREFIX = "ADMINBOT_"

OnExit = Callable[["ChildExit"], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class ChildExit:
    """How the child ended. `signal` is set (and `returncode` None) when a signal killed it;
    `expected` is True when we stopped it, False when it crashed or quit on its own."""

    pid: int
    returncode: int | None
    signal: int | None
    last_lines: tuple[str, ...]
    uptime: float
    expected: bool

    @property
    def reason(self) -> str:
        """Short text for an alert: "exit 3" or "signal SIGKILL"."""
        if self.signal is not None:
            return f"signal {_name(self.signal)}"
        return f"exit {self.returncode}"


@dataclass(frozen=True, slots=True)
class ChildStatus:
    """A snapshot for /status; cpu and rss cover the child and its descendants."""

    pid: int | None
    running: bool
    started_at: datetime | None
    restarts: int
    cpu_percent: float | None
    rss: int | None
    argv: tuple[str, ...]


class RestartPolicy:
    """Back-off for automatic restarts, with a budget per time window.

    Each `next_delay()` is one restart attempt: the delays grow (the last one
    repeats) and once `budget` attempts fall inside `window_seconds` it returns
    None, meaning "stop trying, ask the admin". Attempts older than the window
    are forgotten (see `adminbot.budget`), so a pipeline that crashes once a day
    restarts every time.
    """

    def __init__(
        self,
        delays: Sequence[float] = (1, 2, 4),
        budget: int = 3,
        window_seconds: float = 600,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not delays:
            raise ValueError("delays must not be empty")
        self.delays = tuple(float(delay) for delay in delays)
        self._window = SlidingWindow(budget, window_seconds, monotonic)

    @property
    def budget(self) -> int:
        return self._window.limit

    @property
    def window_seconds(self) -> float:
        return self._window.window_seconds

    def next_delay(self) -> float | None:
        """Seconds to wait before the next restart, or None when the budget is spent."""
        attempt = self._window.used()
        if not self._window.allow():
            return None
        return self.delays[min(attempt, len(self.delays) - 1)]

    def reset(self) -> None:
        """Forget past attempts: the admin asked for a restart, or the child ran fine."""
        self._window.reset()


class _ChildProtocol(asyncio.SubprocessProtocol):
    """Receives the child's output and its exit as two separate events.

    The high-level Process.wait() only returns once the output pipe is closed, so a
    worker that inherited the pipe would hide the death of the pipeline behind it;
    this protocol hears the exit itself.
    """

    def __init__(self, on_line: Callable[[bytes, int], None]) -> None:
        loop = asyncio.get_running_loop()
        self.exited: asyncio.Future[None] = loop.create_future()
        self.output_closed: asyncio.Future[None] = loop.create_future()
        self._splitter = LineSplitter(MAX_LINE_BYTES)
        self._on_line = on_line

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        for raw, dropped in self._splitter.feed(data):
            self._on_line(raw, dropped)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        for raw, dropped in self._splitter.close():
            self._on_line(raw, dropped)
        if not self.output_closed.done():
            self.output_closed.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)


@dataclass(eq=False)
class _Run:
    """One life of the child: its process, its log, its last lines."""

    started_at: datetime
    started_monotonic: float
    writer: LogWriter
    last_lines: deque[str] = field(default_factory=lambda: deque(maxlen=LAST_LINES))
    transport: asyncio.SubprocessTransport | None = None
    protocol: _ChildProtocol | None = None
    watcher: asyncio.Task[None] | None = None
    stopping: bool = False
    # Set once the exit is recorded and the group is gone, before on_exit runs.
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def pid(self) -> int:
        assert self.transport is not None
        return self.transport.get_pid()

    @property
    def returncode(self) -> int | None:
        assert self.transport is not None
        return self.transport.get_returncode()

    async def exited(self) -> None:
        assert self.protocol is not None
        await self.protocol.exited


class Supervisor:
    """Starts, watches and stops one child process (the pipeline).

    `argv` is run without a shell. `env`, when given, replaces the inherited
    environment. Either way adminbot's own variables (its bot token, admin ids,
    `ADMINBOT_*`) and the systemd notify variables are removed: the first are not
    the pipeline's, and the child is not the service's main process.
    PYTHONUNBUFFERED=1 is added unless set, so a Python child's prints reach
    the log as they happen instead of in 8 KiB blocks (or never, when killed).
    """

    def __init__(
        self,
        argv: Sequence[str],
        log_path: Path,
        *,
        on_exit: OnExit | None = None,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        stop_timeout: float = 10.0,
        clock: Clock = utcnow,
    ) -> None:
        if not argv:
            raise ValueError("argv must name a program")
        self.argv = tuple(argv)
        self.log_path = log_path
        self.on_exit = on_exit
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        self._env = _child_env(env)
        self._clock = clock
        self._lock = asyncio.Lock()
        self._run: _Run | None = None
        self._starts = 0
        self._usage: dict[int, psutil.Process] = {}
        self.last_exit: ChildExit | None = None

    @property
    def running(self) -> bool:
        """True from start() until the child has exited."""
        return self._run is not None and self._run.returncode is None

    @property
    def pid(self) -> int | None:
        return self._run.pid if self._run is not None and self.running else None

    async def start(self) -> None:
        """Start the child; raises OSError when argv[0] cannot be run, RuntimeError if running."""
        async with self._lock:
            await self._start()

    async def stop(self, sig: int = signal.SIGTERM) -> ChildExit | None:
        """Stop the child and its whole group; None when there was nothing to stop.

        1. Send `sig` to the child's process group.
        2. Wait up to stop_timeout for every process of the group to end.
        3. SIGKILL whatever is left, then write the child's last output to the log.
        on_exit is not called: the returned ChildExit (expected=True) is the report.
        Restarts by policy go through `PipelineChild.restart`, which refuses once
        adminbot is stopping, so a crash racing with shutdown cannot bring it back.
        """
        async with self._lock:
            return await self._stop(sig)

    async def restart(self) -> None:
        """Stop the child if it runs, then start it again (counted in status().restarts)."""
        async with self._lock:
            await self._stop(signal.SIGTERM)
            await self._start()

    def status(self) -> ChildStatus:
        """Where the child stands, with CPU and memory measured by psutil."""
        cpu, rss = self._usage_now() if self.running else (None, None)
        return ChildStatus(
            pid=self.pid,
            running=self.running,
            started_at=self._run.started_at if self._run is not None else None,
            restarts=max(self._starts - 1, 0),
            cpu_percent=cpu,
            rss=rss,
            argv=self.argv,
        )

    # --- starting -----------------------------------------------------------------

    async def _start(self) -> None:
        if self.running:
            raise RuntimeError(f"{self.argv[0]} is already running (pid {self.pid})")
        run = _Run(
            started_at=self._clock(),
            started_monotonic=time.monotonic(),
            writer=LogWriter(self.log_path, reopen_check_seconds=REOPEN_CHECK_SECONDS),
        )
        loop = asyncio.get_running_loop()
        try:
            run.transport, run.protocol = await loop.subprocess_exec(
                lambda: _ChildProtocol(partial(self._emit, run)),
                *self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                # Merged so the file keeps the order the child wrote its lines in.
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=self._env,
                cwd=self.cwd,
            )
        except OSError:
            run.writer.close()
            raise
        self._run = run
        self._starts += 1
        self._usage.clear()
        self._usage_now()  # prime psutil: the first cpu_percent() of a process is always 0
        run.watcher = asyncio.create_task(self._watch(run))
        logger.info("started %s (pid %s), output to %s", self.argv[0], run.pid, self.log_path)

    def _emit(self, run: _Run, raw: bytes, dropped: int) -> None:
        """Write one line of the child's output to the log, as soon as it is complete."""
        text = _decode(raw)
        if dropped:
            text += f" [line truncated: {dropped} more bytes dropped]"
        run.last_lines.append(text)
        try:
            run.writer.write(text)
        except OSError as exc:
            # A full disk must not break reading: an unread pipe would block the child.
            logger.warning("cannot write %s: %s", self.log_path, exc)

    # --- exits --------------------------------------------------------------------

    async def _watch(self, run: _Run) -> None:
        """Wait for the child to end; report it when nobody asked it to."""
        await run.exited()
        if run.stopping:
            return  # stop() reports this exit itself
        try:
            # Workers the crashed leader left behind would fight with a restarted pipeline.
            await self._end_group(run, signal.SIGTERM)
            report = await self._finish(run, expected=False)
        except asyncio.CancelledError:
            _abandon(run)
            raise
        finally:
            run.settled.set()
        logger.warning(
            "%s (pid %s) ended unexpectedly: %s", self.argv[0], report.pid, report.reason
        )
        if self.on_exit is not None:
            await self._call_on_exit(report)

    async def _stop(self, sig: int) -> ChildExit | None:
        run = self._run
        if run is None:
            return None
        if run.returncode is not None:
            # It ended on its own and the watcher reports it; wait only until its group
            # is gone, not for on_exit (which may be the one calling us).
            await run.settled.wait()
            return None
        run.stopping = True
        logger.info("stopping %s (pid %s) with %s", self.argv[0], run.pid, _name(sig))
        try:
            await self._end_group(run, sig)
            report = await self._finish(run, expected=True)
        except asyncio.CancelledError:
            _abandon(run)
            raise
        finally:
            run.settled.set()
        if run.watcher is not None:
            await run.watcher
        return report

    async def _end_group(self, run: _Run, sig: int) -> None:
        """Signal the child's group, wait for it to empty, SIGKILL it after stop_timeout."""
        pgid = run.pid  # start_new_session made the child its group's leader
        if not _signal_group(pgid, sig):
            await run.exited()
            return
        try:
            if await _group_ended(run, pgid, self.stop_timeout):
                return
        except asyncio.CancelledError:
            # The caller gave up waiting (a shutdown deadline): leave no orphan behind.
            _signal_group(pgid, signal.SIGKILL)
            raise
        logger.warning(
            "process group %s still alive %.1f s after %s: killing it",
            pgid,
            self.stop_timeout,
            _name(sig),
        )
        _signal_group(pgid, signal.SIGKILL)
        await run.exited()
        # SIGKILL is delivered asynchronously; return once the group is really gone.
        if not await _group_ended(run, pgid, KILL_GRACE_SECONDS):
            logger.warning("process group %s survived SIGKILL (stuck in the kernel?)", pgid)

    async def _finish(self, run: _Run, *, expected: bool) -> ChildExit:
        """Write the last output, release the pipes and record how the child ended."""
        assert run.transport is not None
        assert run.protocol is not None
        try:
            await asyncio.wait_for(asyncio.shield(run.protocol.output_closed), PIPE_GRACE_SECONDS)
        except TimeoutError:
            # Something that left the session (a daemon) still holds the pipe.
            logger.warning("output of %s still open after it ended; not reading it", self.argv[0])
        run.transport.close()
        # Closing the pipe delivers its last partial line through the protocol; wait for it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(run.protocol.output_closed), PIPE_GRACE_SECONDS)
        run.writer.close()
        code = run.returncode
        report = ChildExit(
            pid=run.pid,
            returncode=code if code is None or code >= 0 else None,
            signal=-code if code is not None and code < 0 else None,
            last_lines=tuple(run.last_lines),
            uptime=time.monotonic() - run.started_monotonic,
            expected=expected,
        )
        self.last_exit = report
        return report

    async def _call_on_exit(self, report: ChildExit) -> None:
        assert self.on_exit is not None
        try:
            result = self.on_exit(report)
            if inspect.isawaitable(result):
                await result
        except Exception:  # the integrator's callback; its failure must not end the watcher
            logger.exception("on_exit callback failed for pid %s", report.pid)

    # --- usage --------------------------------------------------------------------

    def _usage_now(self) -> tuple[float | None, int | None]:
        """CPU percent since the previous call and summed RSS of the child and descendants."""
        if self._run is None:
            return None, None
        pid = self._run.pid
        try:
            leader = self._usage.get(pid) or psutil.Process(pid)
            members = [leader, *leader.children(recursive=True)]
        except psutil.Error:
            return None, None
        # Reuse the psutil objects: cpu_percent() measures since the same object's last call.
        known = {member.pid: self._usage.get(member.pid, member) for member in members}
        self._usage = known
        cpu = 0.0
        rss = 0
        for member in known.values():
            try:
                with member.oneshot():
                    cpu += member.cpu_percent(interval=None)
                    rss += member.memory_info().rss
            except psutil.Error:
                continue  # it ended between listing and reading
        return cpu, rss


def _abandon(run: _Run) -> None:
    """Release a run whose stop was cancelled: close its pipe and its log."""
    if run.transport is not None:
        run.transport.close()
    run.writer.close()


def _decode(raw: bytes) -> str:
    """Text of one output line: invalid UTF-8 replaced, and only what a terminal would
    show when carriage returns redraw it (progress bars), never the whole history."""
    text = raw.decode("utf-8", errors="replace").rstrip("\r")
    return text.rsplit("\r", 1)[-1]


def _child_env(env: Mapping[str, str] | None) -> dict[str, str]:
    """The child's environment: adminbot's own secrets and settings are not the pipeline's."""
    child = {
        name: value
        for name, value in (os.environ if env is None else env).items()
        if name not in OWN_VARIABLES and not name.startswith(OWN_PREFIX)
    }
    for name in NOTIFY_VARIABLES:
        child.pop(name, None)
    child.setdefault("PYTHONUNBUFFERED", "1")
    return child


def _signal_group(pgid: int, sig: int) -> bool:
    """Signal every process of the group; False when the group is already empty."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        logger.warning("no permission to signal process group %s", pgid)
        return False
    return True


async def _group_ended(run: _Run, pgid: int, within: float) -> bool:
    """Poll until the leader has exited and no live process is left in its group."""
    deadline = time.monotonic() + within
    while True:
        if run.returncode is not None and not _group_alive(pgid):
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(GROUP_POLL_SECONDS)


def _group_alive(pgid: int) -> bool:
    """True while a live (not zombie) process is in the group.

    kill(-pgid, 0) is not enough: orphans reparented to a PID 1 that never reaps
    (common in containers) stay zombies in the group forever.
    """
    for pid in psutil.pids():
        try:
            if os.getpgid(pid) != pgid:
                continue
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue  # ended while we looked
    return False


def _name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)
