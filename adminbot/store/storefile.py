"""The store's file: opened checked, replaced when damaged, its positions copied beside it.

The store's own SQL for its file lives here (pragmas, schema migrations, the sound
check, seeding a fresh store); the queries about incidents, the outbox and the rest
stay in `sqlite.py`. `Store` holds one `StoreFile` and swaps its connection for the
one `replace` returns when SQLite calls the open file damaged.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path

from adminbot.clock import Clock
from adminbot.errors import StoreError
from adminbot.models import Checkpoint
from adminbot.store.damage import (
    DamageReason,
    Recovery,
    ResumeFrom,
    is_damage,
    is_sqlite_file,
    move_aside,
)
from adminbot.store.files import create_private, private_dir
from adminbot.store.positions import Positions, positions_path, read_positions, write_positions
from adminbot.store.rows import key_hash

logger = logging.getLogger(__name__)


class StoreFile:
    """Opens the SQLite file, moves a damaged one aside and keeps the positions copy."""

    def __init__(
        self,
        path: str,
        migrations: Sequence[str],
        clock: Clock,
        *,
        positions_every: float = 5.0,
    ) -> None:
        self.path = path
        self._migrations = tuple(migrations)
        self._clock = clock
        self._file = None if path == ":memory:" else Path(path)
        self._positions = None if self._file is None else positions_path(self._file)
        self._every = positions_every
        self._due = 0.0
        self._failing = False
        self._write_lock = threading.Lock()
        self._recoveries: list[Recovery] = []

    def connect(self) -> sqlite3.Connection:
        """A connection in WAL mode with the schema up to date; a new file is made 0600
        (SQLite gives the -wal and -shm files the database file's mode)."""
        if self._file is not None:
            create_private(self._file)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            # PostgreSQL's db_now() is the server's clock; one host's store uses its own.
            db.create_function("db_now", 0, lambda: self._clock().timestamp())
            db.create_function("key_hash", 1, key_hash, deterministic=True)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=5000")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(self._migrations[version:], start=version + 1):
                logger.info("Migrating the store to schema version %s", number)
                db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
        except BaseException:
            db.close()
            raise
        return db

    def open(self) -> sqlite3.Connection:
        """Open the store; a damaged one is moved aside and a fresh one resumes its positions.

        An empty or missing file is damage only if a previous run left positions
        beside it: that copy is written only by a store that committed checkpoints,
        so it says exactly "a store with history was here" (adminbot's own log
        exists before the store opens on a first run; the event log only after a match).
        """
        if self._file is None:
            return self.connect()
        private_dir(self._file.parent)
        saved = self._saved()
        reason: DamageReason | None = None
        detail = ""
        try:
            exists = self._file.exists()
            if exists and not is_sqlite_file(self._file):
                raise StoreError(
                    self.path,
                    "is not an SQLite database (is data_dir right?); move the file away "
                    "and adminbot starts a new store",
                )
            if exists and self._file.stat().st_size == 0 and saved is not None:
                reason, detail = DamageReason.EMPTY, "the file was emptied"
            elif not exists and saved is not None:
                reason, detail = DamageReason.MISSING, "the file was deleted"
            else:
                db = self.connect()
                problem = _quick_check(db)
                if problem is None:
                    return db
                db.close()
                reason, detail = DamageReason.CHECK_FAILED, problem
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise StoreError(self.path, f"cannot open: {exc}") from exc
            reason, detail = DamageReason.CHECK_FAILED, str(exc)
        except OSError as exc:
            raise StoreError(self.path, f"cannot read: {exc.strerror or exc}") from exc
        resume = ResumeFrom.POSITIONS if saved is not None else ResumeFrom.UNKNOWN
        return self._fresh(reason, detail, saved, resume)

    def replace(self, db: sqlite3.Connection, exc: sqlite3.DatabaseError) -> sqlite3.Connection:
        """SQLite called the open file damaged: close it, move it aside, open a fresh one."""
        if self._file is None:
            return db
        try:
            db.close()
        except sqlite3.Error as closing:
            logger.debug("Closing the damaged store: %s", closing)
        return self._fresh(DamageReason.MALFORMED, str(exc), self._saved(), ResumeFrom.CURRENT)

    def take_recoveries(self) -> list[Recovery]:
        taken, self._recoveries = self._recoveries, []
        return taken

    def _saved(self) -> Positions | None:
        return read_positions(self._positions) if self._positions is not None else None

    def _fresh(
        self, reason: DamageReason, detail: str, saved: Positions | None, resume: ResumeFrom
    ) -> sqlite3.Connection:
        """Move the damaged file aside, open a new store, put the saved positions in it."""
        assert self._file is not None
        now = self._clock()
        moved = move_aside(self._file, now) if self._file.exists() else None
        db = self.connect()
        if saved is not None:
            _seed(db, saved)
        recovery = Recovery(
            reason=reason,
            detail=detail[:300],
            at=now,
            moved_to=None if moved is None else str(moved),
            resume=resume,
            positions_at=None if saved is None else saved.saved_at,
            files=0 if saved is None else len(saved.checkpoints),
        )
        self._recoveries.append(recovery)
        logger.error(
            "The store %s was damaged (%s: %s); %s; a fresh store started; tailing resumes %s",
            self.path,
            reason.value,
            recovery.detail,
            f"the damaged file is kept as {moved}" if moved else "no file was left to keep",
            resume_words(recovery),
        )
        return db

    def save_positions(self, db: sqlite3.Connection, *, force: bool = False) -> None:
        """Copy the committed checkpoints and meta beside the store, at most every few seconds.

        Call it holding the store's lock, outside a transaction (only committed state)."""
        if self._positions is None or db.in_transaction:
            return
        if not force and time.monotonic() < self._due:
            return
        self._due = time.monotonic() + self._every
        try:
            snapshot = _snapshot(db, self._clock)
        except sqlite3.Error as exc:
            logger.warning("Cannot read the tail positions to save them: %s", exc)
            return
        with self._write_lock:
            try:
                write_positions(self._positions, snapshot)
            except OSError as exc:
                if not self._failing:
                    logger.warning("Cannot save the tail positions in %s: %s", self._positions, exc)
                self._failing = True
                return
            self._failing = False


def _quick_check(db: sqlite3.Connection) -> str | None:
    """None if SQLite finds the file sound, else its first complaints."""
    found = [str(row[0]) for row in db.execute("PRAGMA quick_check(5)").fetchall()]
    return None if found == ["ok"] else "; ".join(found)


def _snapshot(db: sqlite3.Connection, clock: Clock) -> Positions:
    meta = db.execute("SELECT key, value FROM meta").fetchall()
    rows = db.execute(
        "SELECT path, device, inode, fingerprint, fingerprint_len, offset, line_no FROM checkpoints"
    ).fetchall()
    return Positions(
        saved_at=clock(),
        checkpoints=tuple(Checkpoint(*tuple(row)) for row in rows),
        meta={str(row[0]): str(row[1]) for row in meta},
    )


def _seed(db: sqlite3.Connection, saved: Positions) -> None:
    """Put the saved positions and meta into a fresh store, so tailing resumes from them."""
    at = saved.saved_at.astimezone(UTC).isoformat(timespec="microseconds")
    with db:
        db.execute("BEGIN")
        db.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(saved.meta.items())
        )
        db.executemany(
            "INSERT OR REPLACE INTO checkpoints (path, device, inode, fingerprint, "
            "fingerprint_len, offset, line_no, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    c.path,
                    c.device,
                    c.inode,
                    c.fingerprint,
                    c.fingerprint_len,
                    c.offset,
                    c.line_no,
                    at,
                )
                for c in saved.checkpoints
            ],
        )


def resume_words(recovery: Recovery) -> str:
    """For the console line; the admin's words are rendered by the views."""
    match recovery.resume:
        case ResumeFrom.POSITIONS:
            return (
                f"from the positions of {recovery.files} file(s) saved at {recovery.positions_at}"
            )
        case ResumeFrom.CURRENT:
            return "where it stands, so no line is skipped"
    return "from the end of each log: no positions were saved"
