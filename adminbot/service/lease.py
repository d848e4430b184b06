"""Who is the front: the one process that polls Telegram and sends, chosen through the store.

On several hosts (PostgreSQL) every instance with a token runs a `FrontLease`: it
takes the `front` lease when it is free or lapsed and renews it every `renew_every`
seconds; the lease lasts `ttl` seconds on the database's clock. The holder also keeps
a local deadline, counted from just *before* each successful renewal on its own
monotonic clock, so it always believes its lease ends no later than the database
does: a front that froze (SIGSTOP, a paused VM) sees on waking that its time is up
and sends nothing, even before the loop tells it, and its outbox writes are fenced
by epoch in the database besides. A standby tries every `renew_every` seconds, so a
dead front is replaced within `ttl + renew_every` seconds of its last renewal.

On one host (SQLite) the data dir lock already makes this the only process:
`SoleLease` is held from the start, with no loop and no fence (today's outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

from adminbot.config import Config
from adminbot.store.api import StoreApi
from adminbot.store.fence import Fence
from adminbot.store.leases import LeaseStore

logger = logging.getLogger(__name__)

TTL = 15.0
"""How long a lease lasts unrenewed: a frozen front is replaced within TTL + RENEW_EVERY."""
RENEW_EVERY = 5.0

_T = TypeVar("_T")
Gained = Callable[[Fence | None], Awaitable[None]]
Lost = Callable[[], Awaitable[None]]


class Lease(Protocol):
    """The front role as one instance sees it."""

    def fence(self) -> Fence | None:
        """The fence to write the outbox under; None on one host (no fencing needed)."""

    @property
    def held(self) -> bool:
        """Whether this instance may poll and send right now."""

    def remaining(self) -> float:
        """Seconds this instance may still act as the front without renewing (inf: always)."""

    async def start(self) -> None: ...

    async def stop(self, after: float = 0.0) -> None:
        """Stop renewing; hand the role over `after` seconds from now."""


def instance_id(host: str) -> str:
    """Who holds a lease: the host, the process and a random part (a restart is another)."""
    return f"{host}:{os.getpid()}:{secrets.token_hex(3)}"


class SoleLease:
    """One host: the front role is this process's from start to stop."""

    def __init__(self, on_gained: Gained) -> None:
        self._on_gained = on_gained

    def fence(self) -> Fence | None:
        return None

    @property
    def held(self) -> bool:
        return True

    def remaining(self) -> float:
        return math.inf

    async def start(self) -> None:
        await self._on_gained(None)

    async def stop(self, after: float = 0.0) -> None:
        """Nothing to hand over: the next start on this host is the front again."""


class FrontLease:
    """Takes and renews the front lease; calls `on_gained` / `on_lost` as the role moves."""

    def __init__(
        self,
        take: Callable[[Fence | None], Fence | None],
        give_up: Callable[[Fence, float], bool],
        *,
        on_gained: Gained,
        on_lost: Lost,
        ttl: float = TTL,
        renew_every: float = RENEW_EVERY,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < renew_every < ttl:
            raise ValueError("the lease must be renewed more often than it lasts")
        self._take = take
        self._give_up = give_up
        self._on_gained = on_gained
        self._on_lost = on_lost
        self.ttl = ttl
        self.renew_every = renew_every
        self._monotonic = monotonic
        self._fence: Fence | None = None
        self._deadline = -math.inf
        self._task: asyncio.Task[None] | None = None
        # Its own thread: a renewal must not queue behind the checks' and tailer's work.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="front-lease")
        self.gained = 0
        self.lost = 0

    @property
    def held(self) -> bool:
        return self._fence is not None and self._monotonic() < self._deadline

    def fence(self) -> Fence | None:
        """The current fence while the local deadline has not passed; None otherwise."""
        return self._fence if self.held else None

    def remaining(self) -> float:
        return max(0.0, self._deadline - self._monotonic()) if self._fence is not None else 0.0

    async def start(self) -> None:
        """Try once now (a free role is taken at once), then keep at it in the background."""
        await self.step()
        self._task = asyncio.create_task(self._run(), name="front-lease")

    async def stop(self, after: float = 0.0) -> None:
        """Stop renewing and end the term `after` seconds from now (when a long poll still
        open at Telegram ends), so a standby takes over without waiting out the lease."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        fence, self._fence = self._fence, None
        if fence is not None and self._monotonic() < self._deadline:
            try:
                await self._off_loop(lambda: self._give_up(fence, after))
            except Exception as exc:  # the driver's error (sqlite3 or psycopg); it lapses anyway
                logger.warning("Could not hand the front role over: %s", exc)
        self._thread.shutdown(wait=False)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.renew_every)
            try:
                await self.step()
            except Exception:  # a failing callback must not end the renewals for the run
                logger.exception("The front lease round failed; trying again")

    async def step(self) -> None:
        """One round: 1. a deadline passed while we were away loses the role; 2. take or
        renew; 3. tell what changed."""
        started = self._monotonic()
        if self._fence is not None and started >= self._deadline:
            await self._lose("the lease ran out before it could be renewed")
        try:
            held = self._fence
            fence = await self._off_loop(lambda: self._take(held))
        except Exception as exc:  # the driver's error (sqlite3 or psycopg): unknown, not lost
            logger.warning("Could not renew the front lease: %s", exc)
            return
        if fence is None:
            if self._fence is not None:
                await self._lose("another instance holds the lease")
            return
        if self._fence is not None and fence != self._fence:
            await self._lose("the lease lapsed before it was renewed")
        self._deadline = started + self.ttl
        if self._fence is None:
            self._fence = fence
            self.gained += 1
            logger.warning("This instance is now the front (term %s)", fence.epoch)
            try:
                await self._on_gained(fence)
            except Exception:  # a front that cannot start must not sit on the role
                logger.exception("Could not start as the front; handing the role back")
                await self._lose("starting as the front failed")
                await self._off_loop(lambda: self._give_up(fence, 0.0))

    async def _off_loop(self, call: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    async def _lose(self, why: str) -> None:
        fence, self._fence = self._fence, None
        self.lost += 1
        epoch = fence.epoch if fence is not None else None
        logger.warning("This instance is no longer the front (term %s): %s", epoch, why)
        await self._on_lost()


def front_lease(store: StoreApi, config: Config, *, on_gained: Gained, on_lost: Lost) -> Lease:
    """The lease loop on a shared store; on one host's own store, the role outright."""
    if config.database_url is None:
        return SoleLease(on_gained)
    leases = LeaseStore(store)
    holder = instance_id(config.host_name)
    ttl = config.front_lease_seconds
    return FrontLease(
        lambda held: leases.take(holder, ttl, held),
        leases.give_up,
        on_gained=on_gained,
        on_lost=on_lost,
        ttl=ttl,
        renew_every=ttl / 3,
    )
