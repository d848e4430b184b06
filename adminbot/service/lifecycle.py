"""Start-up, shutdown and periodic work, shared by console mode and Telegram mode.

Telegram mode calls the periodic methods from PTB's job queue; console mode from
`run_periodic`. Order matters on both ends: the tailer starts before the child so
its first lines are read, and the child stops before the summary so it can be told.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from adminbot.actions.executor import prune_quarantine
from adminbot.notify.notices import MuteExpired, SelfWatch
from adminbot.service import sdnotify
from adminbot.service.runtime import Runtime
from adminbot.supervise.supervisor import ChildExit

logger = logging.getLogger(__name__)

TICK_SECONDS = 0.5
HEARTBEAT_SECONDS = 10.0
SELF_WATCH_SECONDS = 5.0
PRUNE_SECONDS = 6 * 3600.0


class Service:
    """Owns the running parts that are not Telegram: tailer, child, HTTP, self-watch."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._self_watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        runtime = self.runtime
        runtime.remedies.loop = asyncio.get_running_loop()
        runtime.monitor.start()
        if runtime.child is not None:
            await runtime.child.start()
        if runtime.http is not None:
            await runtime.http.start()
            logger.info("Health and metrics on http://%s:%s/", runtime.http.host, runtime.http.port)
        self._self_watch = asyncio.create_task(self._watch_self(), name="self-watch")
        sdnotify.ready()

    async def stop(self) -> ChildExit | None:
        """Stop in reverse order; returns how the child ended, for the summary."""
        sdnotify.stopping()
        if self._self_watch is not None:
            self._self_watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._self_watch
        runtime = self.runtime
        ended = await runtime.child.stop() if runtime.child is not None else None
        await asyncio.to_thread(runtime.monitor.stop)
        await runtime.remedies.wait_idle()
        if runtime.http is not None:
            await runtime.http.stop()
        return ended

    async def tick(self) -> None:
        """Every half second: release held-back traceback records, expire mutes."""
        runtime = self.runtime
        runtime.selfwatch.job_fired()
        await asyncio.to_thread(runtime.monitor.flush_stale)
        for target in runtime.book.expire_mutes():
            runtime.outbox.notice(MuteExpired(target))

    async def check(self) -> None:
        """The seed's verificación periódica."""
        await self.runtime.health.tick()

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

    async def _watch_self(self) -> None:
        interval = sdnotify.watchdog_interval()
        period = min(SELF_WATCH_SECONDS, interval) if interval else SELF_WATCH_SECONDS
        watch = self.runtime.selfwatch
        while True:
            await asyncio.sleep(period)
            for part, ok, detail in await asyncio.to_thread(watch.changes):
                self.runtime.outbox.notice(SelfWatch(part, ok, detail))
            if interval and watch.alive:
                sdnotify.watchdog_ping()

    async def run_periodic(self, stop: asyncio.Event) -> None:
        """Console mode's job queue: the same periodic work until `stop` is set."""
        schedule = [
            (TICK_SECONDS, self.tick),
            (self.runtime.config.verificacion_periodica, self.check),
            (HEARTBEAT_SECONDS, self.heartbeat),
            (PRUNE_SECONDS, self.prune),
        ]
        due = [time.monotonic() + min(period, 1.0) for period, _ in schedule]
        while not stop.is_set():
            now = time.monotonic()
            for index, (period, job) in enumerate(schedule):
                if now >= due[index]:
                    due[index] = now + period
                    try:
                        await job()
                    except Exception:  # one failing job must not stop the others
                        logger.exception("Periodic job %s failed", job.__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(0.05, min(due) - time.monotonic()))
