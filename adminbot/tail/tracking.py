"""One watched path followed through rotation: which file it names, where to start, the sink.

The tailer (`adminbot.tail.tailer`) owns the threads and the globs; a `TrackedPath`
owns what happens to one name: finishing a renamed-away file before the new
one, starting again after truncation, placing a file by its checkpoint or the
start-up rules, and committing a position only when the sink stored it.
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from adminbot.clock import Clock
from adminbot.models import Checkpoint, Line
from adminbot.tail.follow import (
    Follower,
    NotRegularFile,
    end_position,
    find_rotated,
    identify,
    open_regular,
    prefix_matches,
    rotated_key,
)
from adminbot.tail.watch import absolute

logger = logging.getLogger(__name__)

Sink = Callable[[str, Sequence[Line], Checkpoint], None]
Prepare = Callable[[str, Sequence[Line]], None]
"""Told of a batch read ahead, before the sink gets the batch before it: work on it
may start meanwhile (see `adminbot.rules.ahead`). The sink still gets every batch."""
ProblemCallback = Callable[[str, str | None], None]

# 64 chunks of 256 KiB: one busy file cannot keep the worker from the others (or from stop()).
MAX_CHUNKS_PER_PASS = 64


@dataclass(frozen=True, slots=True)
class Settings:
    """What every tracked path shares: where lines go and the tailer's start-up rules."""

    sink: Sink
    report: ProblemCallback  # the tailer's once-per-change problem reporter
    clock: Clock
    max_line_bytes: int
    rotate_grace: float
    from_beginning: bool
    first_start: bool  # no checkpoints at all: existing files are read from their end
    resume_since: datetime | None
    prepare: Prepare | None = None


@dataclass(slots=True)
class Outcome:
    """What one look at a path found, for the tailer to act on."""

    delivered: int = 0
    more: bool = False  # stopped at MAX_CHUNKS_PER_PASS: come back soon
    deadline: float = math.inf  # monotonic time a draining file's grace period ends
    gone: bool = False  # a globbed file disappeared: stop tracking it
    refused: bool = False  # the sink raised: keep everything as it is and retry later


class TrackedPath:
    """The state of one watched name; only the pass holding the tailer's pass lock touches it."""

    def __init__(
        self,
        path: str,
        settings: Settings,
        *,
        literal: bool,
        existed_at_start: bool,
        checkpoint: Checkpoint | None,
        rotated: Checkpoint | None = None,
    ) -> None:
        self.path = path
        self.abspath = absolute(path)
        self.literal = literal  # named without wildcards: a missing file is a problem
        self.lines_read = 0
        self.last_line_at: datetime | None = None
        self._settings = settings
        self._existed_at_start = existed_at_start
        self._checkpoint = checkpoint  # from the store; used once, at the first open
        self._rotated = rotated  # the store's position in a renamed-away predecessor, if any
        self._current: Follower | None = None  # the file the name points to
        self._draining: Follower | None = None  # the file it pointed to before a rotation
        self._quiet_since = 0.0
        self._drained_size = -1
        self._unsaved = False  # current's position not yet handed to the sink
        self._drain_unsaved = False  # draining's position not yet saved under its own key
        self._refused = False  # the sink's store refused the last batch (told once)
        self._chunks_left = 0  # reads left in this look at the file (`_deliver`)
        self._at_end = False  # the last read of `_deliver` found the end of the file
        # Closed while idle: (device, inode, offset read up to, mtime) to notice news by.
        self._parked: tuple[int, int, int, int] | None = None

    @property
    def size(self) -> int:
        follower = self._current or self._draining
        if follower is None:
            return self._parked[2] if self._parked is not None else 0
        return follower.size

    @property
    def draining(self) -> bool:
        return self._draining is not None

    @property
    def open_files(self) -> int:
        return (self._current is not None) + (self._draining is not None)

    def park(self) -> bool:
        """Close the idle current file to free its descriptor; `service` reopens it on change.

        Its committed position becomes the checkpoint it is placed by again (a
        rotation or truncation meanwhile is handled as at start-up). A file still
        draining or not yet saved is not parked.
        """
        current = self._current
        if current is None or self._draining is not None or self._unsaved:
            return False
        st = current.stat()
        self._checkpoint = current.checkpoint()
        # The size read up to, not the size now: bytes appended before parking are news.
        self._parked = (st.st_dev, st.st_ino, self._checkpoint.offset, st.st_mtime_ns)
        current.close()
        self._current = None
        return True

    def _unchanged_while_parked(self) -> bool:
        try:
            st = Path(self.path).stat()
        except OSError:
            return False  # let `_open` judge and report it
        return self._parked == (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def close(self) -> None:
        for follower in (self._current, self._draining):
            if follower is not None:
                follower.close()
        self._current = self._draining = None

    def service(self, *, full: bool) -> Outcome:
        """Bring the path up to date, following it through rotation.

        1. Read on in the file the name used to point to (after a rename or
           delete) while its writer still appends; let it go once it has been
           quiet for the grace period (`close_inactive`).
        2. If nothing is open, open what the name points to now (placed by the
           checkpoint or the start-up rules; a rotated predecessor is read too).
        3. Read the current file to its end, then check the name still points
           to it; if not, it becomes the draining file and we go round again.

        Both files are read in the same pass, each with its own checkpoint, so
        the new file's lines are not held back for the whole grace period.
        `full` is false on a pass woken by an event: a missing name may then be
        mid-rotation, so it is only judged on a full pass.
        """
        out = Outcome()
        if self._parked is not None:
            if self._unchanged_while_parked():
                return out
            self._parked = None
        for _ in range(4):
            if self._draining is not None:
                self._drain(out)
                if out.refused:
                    return out
            if self._current is None:
                if not self._open(out, full=full):
                    return out
                continue
            self._deliver(self._current, out)
            if out.more or out.refused or self._still_named(self._current):
                return out
            logger.info("%s now names another file; reading the old one on", self.path)
            if self._draining is not None:
                logger.info("%s rotated again; letting the older file go", self.path)
                self._draining.close()
            self._start_draining(self._current)
            self._current = None
        return out

    def _start_draining(self, follower: Follower) -> None:
        follower.key = rotated_key(self.path)
        self._draining, self._drain_unsaved = follower, True
        self._quiet_since, self._drained_size = time.monotonic(), -1

    def _drain(self, out: Outcome) -> None:
        """Read a rotated-away file; let it go once it has been quiet for the grace period."""
        old = self._draining
        assert old is not None
        if self._drain_unsaved:
            if not self._hand_over(old, [], old.checkpoint(), out):
                return
            self._drain_unsaved = False
        self._deliver(old, out)
        now = time.monotonic()
        if old.size != self._drained_size:
            self._drained_size, self._quiet_since = old.size, now
        grace = self._settings.rotate_grace
        if out.refused:
            return  # its unstored lines are still to be offered; never let it go before
        if out.more or now - self._quiet_since < grace:
            out.deadline = min(out.deadline, self._quiet_since + grace)
            return
        old.close()
        self._draining = None

    def _still_named(self, follower: Follower) -> bool:
        """Tell whether the path still names the open file; unsure (EACCES) counts as yes."""
        try:
            st = Path(self.path).stat()
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError as exc:
            logger.debug("cannot stat %s (%s); reading the open file on", self.path, exc)
            return True
        return follower.identity.same_file(st)

    def _open(self, out: Outcome, *, full: bool) -> bool:
        """Open what the path names now; report a missing or unreadable file once."""
        report = self._settings.report
        try:
            fd, st = open_regular(self.path)
        except (FileNotFoundError, NotADirectoryError):
            if full and self.literal:
                report(self.path, "file is missing (deleted, or not created yet)")
            elif full:
                out.gone = True
            return False
        except NotRegularFile:
            report(self.path, "not a regular file")
            return False
        except OSError as exc:
            report(self.path, f"cannot open: {exc.strerror or exc}")
            return False
        resumed = self._checkpoint
        try:
            self._current, rotated = self._place(fd, st)
        except OSError:
            os.close(fd)
            raise
        self._existed_at_start = False  # whatever the name points to next is a new file
        self._unsaved = self._current.checkpoint() != resumed
        if rotated is not None:
            if self._draining is not None:
                self._draining.close()
            self._start_draining(rotated)
        report(self.path, None)
        return True

    def _place(self, fd: int, st: os.stat_result) -> tuple[Follower, Follower | None]:
        """Decide where to start reading a newly opened file (the start-up rules).

        Returns its follower and, if the file was rotated while we were stopped,
        a follower for the rotated predecessor, to be finished first.
        """
        rules = self._settings
        ident = identify(fd, st)
        cp, self._checkpoint = self._checkpoint, None
        rotated, self._rotated = self._rotated, None

        def at(offset: int, line_no: int) -> Follower:
            limit = rules.max_line_bytes
            return Follower(
                self.path, fd, ident, offset=offset, line_no=line_no, max_line_bytes=limit
            )

        if cp is not None:
            if (cp.device, cp.inode) != (st.st_dev, st.st_ino):
                return at(0, 0), find_rotated(self.path, cp, rules.max_line_bytes)
            if cp.offset <= st.st_size and prefix_matches(fd, cp.fingerprint, cp.fingerprint_len):
                return at(cp.offset, cp.line_no), self._predecessor(rotated)
            logger.info("%s was truncated while we were stopped; reading it from 0", self.path)
            return at(0, 0), None
        if not self._existed_at_start or rules.from_beginning:
            return at(0, 0), None
        since = None if rules.first_start else rules.resume_since
        if since is not None and datetime.fromtimestamp(st.st_mtime, UTC) >= since:
            return at(0, 0), None  # written while we were stopped
        return at(*end_position(fd)), None

    def _predecessor(self, rotated: Checkpoint | None) -> Follower | None:
        """The renamed-away file we were still reading when we stopped, to read it on."""
        if rotated is None:
            return None
        return find_rotated(self.path, rotated, self._settings.max_line_bytes)

    def _deliver(self, follower: Follower, out: Outcome) -> None:
        """Read a file to its end (or the per-pass cap), one sink call per chunk."""
        if follower.was_rewritten():
            logger.warning("%s was truncated or rewritten; reading it again from 0", self.path)
            follower.restart()
            self._unsaved = self._unsaved or follower is self._current
        if self._unsaved and follower is self._current:
            if not self._hand_over(follower, [], follower.checkpoint(), out):
                return
            self._unsaved = False
        self._chunks_left = MAX_CHUNKS_PER_PASS
        self._at_end = False
        ahead = self._read(follower)
        while ahead is not None:
            lines, checkpoint = ahead
            # The next chunk is read (and prepared) before this one is handed over; if the
            # sink refuses this one, the follower rolls back past both.
            try:
                ahead = self._read(follower)
            except OSError:
                self._give(follower, lines, checkpoint, out)  # read already: not lost
                raise
            if not self._give(follower, lines, checkpoint, out):
                return
        out.more = not self._at_end  # stopped at the pass's chunks, not at the end

    def _give(
        self, follower: Follower, lines: Sequence[Line], checkpoint: Checkpoint, out: Outcome
    ) -> bool:
        """Hand a batch over and count it; whether the sink took it."""
        if not self._hand_over(follower, lines, checkpoint, out):
            return False
        out.delivered += len(lines)
        self.lines_read += len(lines)
        self.last_line_at = self._settings.clock()
        return True

    def _read(self, follower: Follower) -> tuple[Sequence[Line], Checkpoint] | None:
        """The next chunk with lines in it, told to `prepare`; None at the end of the file
        or of the pass's chunks (a chunk that ends no line counts too: a line of hundreds
        of megabytes must not keep the tailer from its other files, or from stopping)."""
        while self._chunks_left > 0:
            self._chunks_left -= 1
            batch = follower.read_batch()
            if batch is None:
                self._at_end = True
                return None
            if batch[0]:
                self._prepare(batch[0])
                return batch
        return None

    def _prepare(self, lines: Sequence[Line]) -> None:
        prepare = self._settings.prepare
        if prepare is None:
            return
        try:
            prepare(self.path, lines)
        except Exception:  # only a head start: the sink gets the lines all the same
            logger.exception("preparing a batch of %s failed", self.path)

    def _hand_over(
        self, follower: Follower, lines: Sequence[Line], checkpoint: Checkpoint, out: Outcome
    ) -> bool:
        """Call the sink; commit the position only if it stored the batch."""
        try:
            self._settings.sink(self.path, lines, checkpoint)
        except sqlite3.OperationalError as exc:
            # The store cannot write now (a full disk, PostgreSQL down): told once, not on
            # every retry; the lines wait at the checkpoint.
            log = logger.debug if self._refused else logger.warning
            log("cannot store %s (%s); its lines wait and are read again", self.path, exc)
            self._refused = True
            follower.rollback()
            out.refused = True
            return False
        except Exception:
            # The sink is the store: whatever failed there, these lines must not be lost.
            logger.exception(
                "sink failed for %s; the same %d lines will be offered again", self.path, len(lines)
            )
            follower.rollback()
            out.refused = True
            return False
        if self._refused:
            logger.info("%s is stored again", self.path)
            self._refused = False
        follower.commit(checkpoint)
        return True
