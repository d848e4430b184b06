"""The running program: built by one function, started and stopped in one order.

`build_service` is the composition root: it builds the core (`build_runtime`), the
router, the front (Telegram or console, given as a factory), self-watch and the HTTP
endpoint, each complete through its constructor. `Service` starts them in dependency
order and stops them in reverse: the tailer starts before the child so its first
lines are read, and the child stops before the front so the summary can tell how it
ended. One schedule runs the periodic work in both modes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from adminbot.actions.executor import prune_quarantine
from adminbot.checks.fds import raise_open_files_limit
from adminbot.config import Config
from adminbot.errors import StartupError
from adminbot.notify.channels import (
    ChannelSender,
    ChannelText,
    Render,
    Transport,
    apprise_send,
)
from adminbot.notify.console import ConsoleAlerts
from adminbot.notify.notices import MaintenanceOver, MuteExpired, StoreRecovered
from adminbot.notify.notices import SelfWatch as SelfWatchNotice
from adminbot.service.httpapi import HealthServer, Pages
from adminbot.service.router import Router, unrouted
from adminbot.service.runtime import (
    Edges,
    Runtime,
    build_runtime,
    incident_counters,
    incident_sinks,
)
from adminbot.service.selfwatch import Part, SelfWatch
from adminbot.service.uptime import UptimePing
from adminbot.store.errors import StoreUnreachable
from adminbot.supervise import sdnotify
from adminbot.supervise.supervisor import ChildExit

logger = logging.getLogger(__name__)


class Front(Protocol):
    """Where the admin is told and answers from: Telegram, or the terminal."""

    def health(self) -> Part | None:
        """How delivery to the admin is going, for /healthz; None when it cannot fail."""

    def on_duty(self) -> bool:
        """Whether this process now does what one process does for every host sharing
        the store (reminders, other hosts' silence, expiring their queued fixes)."""

    async def start(self) -> None:
        """Begin talking to the admin; must not wait for a remote service to answer."""

    async def stop(self, ended: ChildExit | None) -> None:
        """Send the session summary (saying how the child ended) and stop."""


FrontFactory = Callable[[Runtime], Front]


@dataclass(frozen=True)
class Job:
    """One piece of periodic work and how often it runs."""

    name: str
    period: float
    work: Callable[[], Awaitable[None]]
    first: float


def build_service(
    config: Config,
    front: FrontFactory,
    edges: Edges | None = None,
    *,
    child_argv: Sequence[str] = (),
    console: ConsoleAlerts | None = None,
    render: Render | None = None,
    transport: Transport = apprise_send,
    pages: Callable[[Runtime], Pages] | None = None,
) -> Service:
    """Build the whole running program; call it on the event loop that will run it.

    `render` words the alerts of `[[channels]]` (handlers/ provides it: the core has no
    words); it is needed only when channels are configured. `pages` builds the
    dashboard over the runtime (adminbot.web provides it, a front like the bot); it is
    needed only when `[web]` is enabled."""
    if config.channels and render is None:  # before anything holds the data dir
        raise ValueError("[[channels]] are configured but no renderer was given")
    if config.web.enabled and pages is None:
        raise ValueError("[web] is enabled but no pages were given")
    raise_open_files_limit()  # before the tailer sizes its pool of open logs
    runtime, queue = build_runtime(config, edges or Edges(), child_argv=child_argv, console=console)
    router = Router(
        queue,
        incident_sinks(runtime),
        incident_counters(runtime),
        settle=(runtime.remedies.flush, runtime.console.settle),
    )
    try:
        built = front(runtime)
    except StartupError:  # a front that cannot work: leave the store and data dir free
        runtime.store.close()
        if runtime.lock is not None:
            runtime.lock.release()
        raise
    config = runtime.config
    selfwatch = SelfWatch(
        runtime.monitor,
        runtime.store,
        stall_seconds=max(30.0, 5 * config.watch.backstop_seconds),
        delivery=built.health,
        reachable=store_part(runtime) if config.database_url is not None else None,
    )
    sender = ChannelSender(
        runtime.channels,
        runtime.outbox,
        render or _no_words,
        telegram=built.health if config.telegram_enabled else lambda: None,
        transport=transport,
        backoff=runtime.periods.delivery_backoff,
    )
    http = None
    if config.http.enabled or config.web.enabled:
        parts = lambda: selfwatch.parts() | runtime.channels.parts()  # noqa: E731 - a tiny adapter
        web = pages(runtime) if pages is not None and config.web.enabled else None
        http = HealthServer(config.http.host, config.http.port, parts, runtime.metrics, web=web)
    uptime = None
    if config.heartbeat.url:
        store = runtime.store
        healthy = lambda: selfwatch.alive and store.writable(runtime.clock())  # noqa: E731 - a tiny adapter
        uptime = UptimePing(config.heartbeat.url, healthy)
    return Service(runtime, router, built, selfwatch, http, uptime, sender)


def store_part(runtime: Runtime) -> Callable[[], Part]:
    """/healthz's `store` part for a shared database: failing while it takes no write."""

    def part() -> Part:
        if runtime.store.writable(runtime.clock()):
            return True, f"{runtime.store.path} takes writes"
        return False, f"{runtime.store.path} is unreachable; tailing waits at its checkpoints"

    return part


def _no_words(_item: object) -> ChannelText:
    raise AssertionError("no channel is configured, so nothing is rendered")


class Service:
    """Owns the running parts and their order: tailer, router, child, HTTP, front, jobs."""

    def __init__(
        self,
        runtime: Runtime,
        router: Router,
        front: Front,
        selfwatch: SelfWatch,
        http: HealthServer | None,
        uptime: UptimePing | None = None,
        sender: ChannelSender | None = None,
    ) -> None:
        self.runtime = runtime
        self.sender = sender
        self.router = router
        self.front = front
        self.selfwatch = selfwatch
        self.http = http
        self.uptime = uptime
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def jobs(self) -> list[Job]:
        periods = self.runtime.periods
        check = periods.check or self.runtime.config.verificacion_periodica
        jobs = [
            Job("tick", periods.tick, self.tick, periods.tick),
            Job("check", check, self.check, min(1.0, check)),
            Job("heartbeat", periods.heartbeat, self.heartbeat, periods.heartbeat),
            Job("prune", periods.prune, self.prune, min(60.0, periods.prune)),
            Job("retention", periods.prune, self.retention, min(60.0, periods.prune)),
            Job("uptime", check, self.ping, min(1.0, check)),
            Job("remind", check, self.remind, check),
            Job("host", check, self.beat_host, check),
            Job("work", periods.work_poll, self.poll_work, periods.work_poll),
        ]
        if self.runtime.digests.enabled:
            jobs.append(Job("digest", periods.tick, self.digest, 0.0))
        return jobs

    async def start(self) -> None:
        """Start every part in order; if one cannot start, stop the ones already started."""
        try:
            await self._start_parts()
        except BaseException:
            await self.stop()  # the parts that started stop again; the error is what is left
            raise

    async def _start_parts(self) -> None:
        runtime = self.runtime
        for event in unrouted(runtime.store, runtime.book):
            self.router.queue.put([event])
        self.router.start()
        await asyncio.to_thread(runtime.monitor.start)
        await asyncio.to_thread(runtime.agent.beat)  # the other hosts see this one at once
        self._tasks = [
            asyncio.create_task(self._run_jobs(), name="periodic-jobs"),
            asyncio.create_task(self._watch_self(), name="self-watch"),
        ]
        sdnotify.ready()  # tailing works: a Type=notify start must not wait on Telegram
        if runtime.child is not None:
            try:
                await runtime.child.start()
            except OSError as exc:
                command = runtime.child.supervisor.argv[0]
                raise StartupError(
                    f"cannot run the pipeline command {command!r}: {_why(exc)}"
                ) from None
        if self.http is not None:
            try:
                await self.http.start()
            except OSError as exc:
                where = f"{self.http.host}:{self.http.port}"
                raise StartupError(f"[http] port: cannot listen on {where}: {_why(exc)}") from None
            logger.info("Health and metrics on http://%s:%s/", self.http.host, self.http.port)
            if runtime.web_links is not None:
                where = runtime.web_links.base_url
                logger.info("Dashboard on %s: /dashboard in the chat sends a login link", where)
        await self.front.start()
        if self.sender is not None:
            self.sender.start()

    async def stop(self) -> ChildExit | None:
        """Stop in reverse order; returns how the child ended."""
        sdnotify.stopping()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        runtime = self.runtime
        ended = await runtime.child.stop() if runtime.child is not None else None
        await _unless_store_down("flush the last records", asyncio.to_thread(runtime.monitor.stop))
        await self.router.stop()
        await runtime.remedies.wait_idle()
        if self.sender is not None:
            await self.sender.stop()
        if self.http is not None:
            await self.http.stop()
        await _unless_store_down("say goodbye", self.front.stop(ended))
        runtime.store.close()
        if runtime.lock is not None:
            runtime.lock.release()
        return ended

    async def run(self, stop: asyncio.Event) -> ChildExit | None:
        """Start, run until `stop` is set, then stop."""
        await self.start()
        try:
            await stop.wait()
        finally:
            ended = await self.stop()
        return ended

    async def tick(self) -> None:
        """Release held-back traceback records, expire mutes, tell of a replaced store, and
        sum up the maintenance windows that ended."""
        runtime = self.runtime
        self.selfwatch.job_fired()
        for recovery in runtime.store.take_recoveries():
            runtime.outbox.notice(StoreRecovered.of(recovery))
        await asyncio.to_thread(runtime.monitor.flush_stale)
        for target in runtime.book.expire_mutes():
            runtime.outbox.notice(MuteExpired(target))
        for over in await asyncio.to_thread(runtime.noise.maintenance.close_due):
            runtime.outbox.notice(MaintenanceOver.of(over))

    async def check(self) -> None:
        """The seed's verificación periódica."""
        await self.runtime.health.tick()

    async def remind(self) -> None:
        """Re-announce critical incidents nobody has taken (every host's: one process does)."""
        if self.front.on_duty():
            await asyncio.to_thread(self.runtime.reminders.remind)

    async def beat_host(self) -> None:
        """This host's row in the hosts table; with front duties, the other hosts' silence."""
        await asyncio.to_thread(self.runtime.agent.beat)
        if self.runtime.silence is not None and self.front.on_duty():
            await asyncio.to_thread(self.runtime.silence.round)
            await asyncio.to_thread(self.runtime.remote.expire)

    async def poll_work(self) -> None:
        """Run the fixes the front queued for this host (none with one host's store)."""
        runtime = self.runtime
        if runtime.config.database_url is not None:
            await runtime.remote.poll(runtime.remedies.run)

    async def digest(self) -> None:
        """Queue the daily digest when its time has passed (once, also after downtime)."""
        await asyncio.to_thread(self.runtime.digests.run)

    async def heartbeat(self) -> None:
        await asyncio.to_thread(self.runtime.monitor.heartbeat)

    async def prune(self) -> None:
        """Quarantined files are kept a while for inspection, then dropped."""
        config = self.runtime.config
        removed = await asyncio.to_thread(
            prune_quarantine,
            config.quarantine_dir,
            config.actions.quarantine_max_age_days,
            time.time(),
        )
        if removed:
            logger.info("Pruned %s quarantined file(s)", len(removed))

    async def retention(self) -> None:
        """The store forgets closed incidents, audit rows and sent messages after keep_days."""
        runtime = self.runtime
        keep_days = runtime.config.store.keep_days
        if keep_days <= 0:
            return
        cutoff = runtime.clock() - timedelta(days=keep_days)
        pruned = await asyncio.to_thread(runtime.store.prune, cutoff)
        await asyncio.to_thread(runtime.noise.prune, cutoff)
        if pruned:
            logger.info("Store retention (%g days): removed %s", keep_days, pruned)

    async def ping(self) -> None:
        """Tell the outside uptime monitor we are alive, if one is configured."""
        if self.uptime is not None:
            await self.uptime.tick()

    async def _run_jobs(self) -> None:
        """One schedule for both modes; a job still running is not started again."""
        jobs = self.jobs
        now = time.monotonic()
        due = [now + job.first for job in jobs]
        running: dict[str, asyncio.Task[None]] = {}
        try:
            while True:
                now = time.monotonic()
                for index, job in enumerate(jobs):
                    busy = job.name in running and not running[job.name].done()
                    if now >= due[index] and not busy:
                        due[index] = now + job.period
                        running[job.name] = asyncio.create_task(_logged(job), name=job.name)
                await asyncio.sleep(max(0.01, min(due) - time.monotonic()))
        finally:
            for task in running.values():
                task.cancel()
            await asyncio.gather(*running.values(), return_exceptions=True)

    async def _watch_self(self) -> None:
        """On its own task, not on the schedule it watches."""
        interval = sdnotify.watchdog_interval()
        period = self.runtime.periods.self_watch
        period = min(period, interval) if interval else period
        watch = self.selfwatch
        while True:
            await asyncio.sleep(period)
            for part, ok, detail in await asyncio.to_thread(watch.changes):
                try:
                    self.runtime.outbox.notice(SelfWatchNotice(part, ok, detail))
                except StoreUnreachable:  # the store itself is the part that fails
                    logger.warning("Self-check %s not told: the store is unreachable", part)
            if interval and watch.alive:
                sdnotify.watchdog_ping()


def _why(exc: OSError) -> str:
    """The system's words for an error, without the details asyncio wraps around them."""
    return os.strerror(exc.errno) if exc.errno else str(exc)


async def _logged(job: Job) -> None:
    try:
        await job.work()
    except StoreUnreachable as exc:  # said once per job run, without a traceback
        logger.warning("Periodic job %s waits for the store: %s", job.name, exc)
    except Exception:  # one failing job must not stop the others
        logger.exception("Periodic job %s failed", job.name)


async def _unless_store_down(what: str, step: Awaitable[None]) -> None:
    """A shutdown step that needs the store: with the database unreachable it is skipped
    (its lines stay after the last checkpoint and are read again), the rest still runs."""
    try:
        await step
    except StoreUnreachable as exc:
        logger.warning("Stopping without being able to %s: %s", what, exc)
