"""The SQLite store's connection: one file in WAL mode, its lock, its transactions.

One connection, shared by the tailer thread and the event loop behind a lock; every
statement is short, so the lock is never held for long. At open, and whenever SQLite
calls the file malformed, a damaged store is moved aside and a fresh one starts from
the saved tail positions (`storefile`). The tables' own queries are in the modules
of `Store`'s parts (`sqlincidents`, `sqloutbox`, `sqlite`).
"""

from __future__ import annotations

import logging
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from adminbot.clock import Clock, utcnow
from adminbot.store.damage import Recovery, is_damage
from adminbot.store.sqlschema import MIGRATIONS
from adminbot.store.storefile import StoreFile

logger = logging.getLogger(__name__)


class SqlStore:
    """The connection every part of the store speaks SQL through."""

    def __init__(
        self,
        path: Path | str,
        *,
        clock: Clock = utcnow,
        positions_every: float = 5.0,
        host: str | None = None,
    ) -> None:
        self.path = str(path)
        self.host = host or socket.gethostname()
        self._file = StoreFile(self.path, MIGRATIONS, clock, positions_every=positions_every)
        self._lock = threading.RLock()
        self._after_commit: list[Callable[[], None]] = []
        self._writing = False  # inside transaction(): its handler recovers, not _guard
        self._db = self._file.open()
        self._closed = False
        self._adopt()

    def _adopt(self) -> None:
        """Claim for this host what an older schema left without one (see `Store`)."""

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._file.save_positions(self._db, force=True)
            self._db.close()
            self._closed = True

    def take_recoveries(self) -> list[Recovery]:
        """The store recoveries not yet told to the admin, oldest first."""
        with self._lock:
            return self._file.take_recoveries()

    def _recover(self, exc: BaseException) -> None:
        """SQLite called the open store damaged: swap in a fresh one (the caller re-raises)."""
        if not isinstance(exc, sqlite3.DatabaseError) or not is_damage(exc):
            return
        with self._lock:
            try:
                self._db = self._file.replace(self._db, exc)
            except (OSError, sqlite3.Error):
                logger.exception("Could not replace the damaged store %s", self.path)

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Outside a transaction, a damaged-file error swaps in a fresh store, then re-raises."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if not self._writing:
                self._recover(exc)
            raise

    def _save_positions(self) -> None:
        with self._lock:
            if not self._closed:
                self._file.save_positions(self._db)

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes atomically; nested use joins the outer transaction."""
        with self._lock:
            if self._db.in_transaction:
                yield
                return
            try:
                self._writing = True
                self._db.execute("BEGIN IMMEDIATE")
                yield
                self._db.execute("COMMIT")
            except BaseException as exc:
                self._rollback()
                self._after_commit.clear()
                self._recover(exc)
                raise
            finally:
                self._writing = False
            callbacks, self._after_commit = self._after_commit, []
        self._save_positions()
        for callback in callbacks:
            callback()

    def _rollback(self) -> None:
        """Undo what failed; SQLite may have rolled back already (disk full, I/O error)."""
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            logger.debug("Rollback after a failed transaction: %s", exc)

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the store's lock, for the store package's other modules."""
        with self._lock:
            yield self._db

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the current transaction commits (now, if there is none).

        Waking the outbox sender before the commit would make it wait on our lock."""
        with self._lock:
            if self._db.in_transaction:
                if callback not in self._after_commit:
                    self._after_commit.append(callback)
                return
        callback()

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock, self._guard():
            return self._db.execute(sql, args).fetchall()

    def _one(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Row | None:
        with self._lock, self._guard():
            row: sqlite3.Row | None = self._db.execute(sql, args).fetchone()
            return row

    def _run(self, sql: str, args: Sequence[Any] = ()) -> int:
        with self._lock, self._guard():
            return self._db.execute(sql, args).rowcount

    def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self._lock, self._guard():
                self._db.executemany(sql, rows)
