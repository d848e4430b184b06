"""This host's agent: its row in the `hosts` table, refreshed every check period.

The row says the agent is alive (the front raises "host silent" when it stops) and
carries what /status shows of this host: version, watched files, checks' states.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from adminbot import __version__
from adminbot.clock import Clock, utcnow
from adminbot.errors import StartupError
from adminbot.store.api import StoreApi
from adminbot.store.hosts import HostBeat, HostFile, HostStore
from adminbot.tail.tailer import WatchedFile

logger = logging.getLogger(__name__)


CLAIM_WAIT = 5.0
"""Seconds a starting agent waits for the session of a copy that just died to end."""


def claim_host_name(store: StoreApi, wait: float = CLAIM_WAIT) -> None:
    """Refuse to start a second copy of this host's agent on the same store."""
    if not store.claim_host(wait=wait):
        store.close()
        raise StartupError(
            f"another adminbot already runs as host {store.host!r} on {store.path}; "
            "stop it, or give this one its own ADMINBOT_HOST"
        )


class Agent:
    """Writes this host's heartbeat row: who runs, since when, what it watches."""

    def __init__(
        self,
        store: StoreApi,
        hosts: HostStore,
        *,
        watched: Callable[[], Sequence[WatchedFile]],
        checks: Callable[[], Mapping[str, str]],
        started_at: datetime,
        clock: Clock = utcnow,
    ) -> None:
        self.store = store
        self.hosts = hosts
        self.watched = watched
        self.checks = checks
        self.clock = clock
        self.instance = uuid.uuid4().hex
        self.started_at = started_at

    def beat(self) -> datetime:
        """Upsert this host's row; returns the heartbeat's time on the store's clock."""
        if not self.store.claim_host():  # a server restart ended the session that held it
            logger.error("Host name %s is held by another process", self.store.host)
        files = tuple(
            HostFile(f.path, f.size, f.lines_read, f.last_line_at, f.problem)
            for f in self.watched()
        )
        beat = HostBeat(
            name=self.store.host,
            instance=self.instance,
            pid=os.getpid(),
            version=__version__,
            started_at=self.started_at,
            files=files,
            checks=tuple(sorted(self.checks().items())),
        )
        return self.hosts.beat(beat, self.clock())
