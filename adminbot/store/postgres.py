"""The store on PostgreSQL, for several hosts sharing one database.

`PgStore` is a `Store` whose connection is a `PgConnection` (pgsql.py): every query
method, `transaction()` (nesting joins the outer one, `after_commit` callbacks run
after COMMIT) and the compare-and-set claims run unchanged, from the one text of each
query in sqlite.py. What is about SQLite's file (damage recovery, the positions copy,
PRAGMAs, VACUUM) is overridden here.

Adding a store method: write it once in sqlite.py in portable SQL (`?` placeholders,
`ON CONFLICT`, ISO-text timestamps, qualified columns in `DO UPDATE`) and it works
here; `tests/test_store.py` runs on both backends. Only SQL that cannot be portable
gets an override below, under the aggregate it belongs to.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, cast

import psycopg

from adminbot.clock import Clock, utcnow
from adminbot.store import retention
from adminbot.store.damage import Recovery
from adminbot.store.dburl import redact_url
from adminbot.store.errors import StoreUnreachable
from adminbot.store.pgschema import HOST_LOCK_CLASS, migrate, schema_version
from adminbot.store.pgsql import CONNECT_TIMEOUT, PgConnection
from adminbot.store.rows import stored_time
from adminbot.store.sqlite import Store

logger = logging.getLogger(__name__)

OUTBOX_CHANNEL = "adminbot_outbox"
"""The NOTIFY channel that says a message was queued."""


def _try_lock(conn: psycopg.Connection[Any], host: str) -> bool:
    sql = "SELECT pg_try_advisory_lock(%s, hashtext(%s))"
    row = conn.execute(sql, (HOST_LOCK_CLASS, host)).fetchone()
    return bool(row and row[0])


class PgStore(Store):
    """The shared store: the same methods as `Store`, on one PostgreSQL connection."""

    def __init__(
        self, url: str, *, host: str, clock: Clock = utcnow, migrate_schema: bool = True
    ) -> None:
        # Store.__init__ opens a SQLite file; this store sets the same fields for PostgreSQL.
        self.path = redact_url(url)
        self.host = host
        self._clock = clock
        self._lock = threading.RLock()
        self._after_commit: list[Callable[[], None]] = []
        self._writing = False
        self._url = url
        self._host_lock: psycopg.Connection[Any] | None = None
        if migrate_schema:
            migrate(url)
        self._pg = PgConnection(url)
        # The adapter offers the part of sqlite3.Connection the shared queries use.
        self._db = cast(sqlite3.Connection, self._pg)
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._pg.close()
                if self._host_lock is not None:
                    self._host_lock.close()
                self._closed = True

    # -- hosts -------------------------------------------------------------------------

    def store_now(self, now: datetime) -> datetime:
        """The server's clock: every host's heartbeat is judged on this one clock."""
        row = self._one("SELECT now() AS at")
        return now if row is None else cast(datetime, row["at"])

    def claim_host(self, wait: float = 0.0) -> bool:
        """Hold an advisory lock on this host's name for the process's lifetime.

        The lock lives on a connection of its own: the server drops it when that
        session ends (the process exits or is killed), so a restarted agent takes it
        again, while a second copy running beside the first is refused. `wait`: how
        long to keep trying, for the session of a process that just died to end."""
        held = self._host_lock
        if held is not None and not (held.closed or held.broken):
            return True
        if held is not None:
            held.close()  # the server restarted: the lock went with the session
            self._host_lock = None
        deadline = time.monotonic() + wait
        try:
            conn = psycopg.connect(self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
            while not _try_lock(conn, self.host):
                if time.monotonic() >= deadline:
                    conn.close()
                    return False
                time.sleep(0.2)
        except psycopg.OperationalError as exc:
            raise StoreUnreachable(str(exc)) from exc
        self._host_lock = conn
        return True

    def take_recoveries(self) -> list[Recovery]:
        """PostgreSQL keeps its own files whole; there is no damaged file to replace."""
        return []

    def _save_positions(self) -> None:
        """The positions copy guards a local file; the server's WAL guards this store."""

    def _rollback(self) -> None:
        try:
            if self._pg.in_transaction:
                self._pg.execute("ROLLBACK")
        except (psycopg.Error, sqlite3.Error) as exc:
            logger.debug("Rollback after a failed transaction: %s", exc)

    def _recover(self, exc: BaseException) -> None:
        """PostgreSQL has no damaged file to swap: a lost server is waited for instead."""

    @property
    def schema_version(self) -> int:
        with self._lock:
            return schema_version(self._pg.raw)

    # -- checkpoints / meta ------------------------------------------------------------

    def writable(self, now: datetime) -> bool:
        """Whether a write commits now (a server that is down or read-only says no)."""
        try:
            self.set_meta("alive_at", stored_time(now))
        except (psycopg.Error, sqlite3.Error) as exc:
            logger.warning("The store is not writable: %s", exc)
            return False
        return True

    # -- outbox ------------------------------------------------------------------------

    def enqueue(
        self,
        kind: str,
        payload: Mapping[str, Any],
        now: datetime,
        *,
        chat_id: int | None = None,
        incident_id: int | None = None,
        not_before: datetime | None = None,
        coalesce: bool = False,
        priority: int = 2,
        storm_id: int | None = None,
    ) -> int | None:
        """Queue as on SQLite, and wake the front on whatever host it runs (PostgreSQL
        delivers the NOTIFY at COMMIT, so the front never looks before the row is there)."""
        with self.transaction():
            queued = super().enqueue(
                kind,
                payload,
                now,
                chat_id=chat_id,
                incident_id=incident_id,
                not_before=not_before,
                coalesce=coalesce,
                priority=priority,
                storm_id=storm_id,
            )
            self._run(f"NOTIFY {OUTBOX_CHANNEL}")
        return queued

    # -- retention ---------------------------------------------------------------------

    def prune(self, before: datetime) -> retention.Pruned:
        """Forget what is closed and old; autovacuum gives the space back on its own."""
        return retention.prune(self, before, vacuum=False)

    def size_bytes(self) -> int:
        """The database's size on the server, for /status and /metrics."""
        row = self._one("SELECT pg_database_size(current_database()) AS n")
        return int(row["n"]) if row else 0


class OutboxListener:
    """Wakes this host's front as soon as any host queues a message, on a connection and
    a thread of its own. NOTIFY has no replay (one sent while nobody listens is gone),
    so the front still looks at the outbox every second; this only makes it sooner."""

    def __init__(self, url: str, wake: Callable[[], None], *, retry: float = 5.0) -> None:
        self._url = url
        self._wake = wake
        self._retry = retry
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="outbox-listener", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop within a second (the wait between checks of the stop flag)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        self.listening.clear()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(
                    self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT
                ) as conn:
                    conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
                    self.listening.set()
                    while not self._stopping.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self._wake()
            except psycopg.Error as exc:
                self.listening.clear()
                logger.warning("Not listening for queued messages (%s); polling only", exc)
                self._stopping.wait(self._retry)
