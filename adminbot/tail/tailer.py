"""Tail the pipeline's log files: follow globs through rotation and hand new lines to a sink.

First stage of the pipeline (sources → rules → incidents → …). watchdog events
are only hints that wake one worker thread (see `adminbot.tail.watch`); a slow
backstop pass catches what the events missed (inotify overflow, watch limits,
network volumes). Only the worker reads files and calls the sink, so the sink
never runs concurrently with itself and can store lines and checkpoint in one
transaction. Reading one file is `adminbot.tail.follow`'s job.
"""

from __future__ import annotations

import logging
import math
import resource
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from adminbot.clock import Clock, utcnow
from adminbot.models import Checkpoint
from adminbot.tail.follow import rotated_key
from adminbot.tail.tracking import Prepare, ProblemCallback, Settings, Sink, TrackedPath
from adminbot.tail.watch import FolderWatches, HintBoard, Pattern, absolute

__all__ = ["ProblemCallback", "Sink", "Tailer", "WatchedFile"]

logger = logging.getLogger(__name__)

JOIN_SECONDS = 2.0
FIRST_PASS_SECONDS = 5.0


def default_max_open() -> int:
    """Half the soft limit on open files for logs; the rest is for sockets, the store, pipes."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1 << 16
    return max(8, soft // 2)


@dataclass(frozen=True, slots=True)
class WatchedFile:
    """What the status view shows about one watched path (or a missing pattern folder)."""

    path: str
    size: int
    last_line_at: datetime | None
    lines_read: int
    problem: str | None


class Tailer:
    """Follow every file matching `patterns` and deliver each complete line once to `sink`.

    `sink(path, lines, checkpoint)` must store the lines' effects and the
    checkpoint together; if it raises, the same lines are offered again.
    `rotate_grace_seconds` keeps a renamed-away file open that long after it
    last grew, for writers that reopen their log late or never (logrotate
    `create` with a logger that keeps its file); the new file is read meanwhile.
    `prepare(path, lines)` hears of each batch one batch before the sink gets it.
    """

    def __init__(
        self,
        patterns: Sequence[str],
        sink: Sink,
        checkpoints: Mapping[str, Checkpoint],
        *,
        resume_since: datetime | None = None,
        from_beginning: bool = False,
        polling: bool = False,
        poll_interval: float = 1.0,
        backstop_seconds: float = 2.0,
        max_line_bytes: int = 65536,
        on_problem: ProblemCallback | None = None,
        clock: Clock = utcnow,
        rotate_grace_seconds: float = 0.0,
        max_open_files: int | None = None,
        prepare: Prepare | None = None,
    ) -> None:
        if backstop_seconds <= 0 or max_line_bytes < 1:
            raise ValueError("backstop_seconds and max_line_bytes must be positive")
        if resume_since is not None and resume_since.tzinfo is None:
            raise ValueError("resume_since must be timezone-aware (file mtimes are compared)")
        self._patterns = [Pattern.parse(p) for p in patterns]
        self._checkpoints = dict(checkpoints)
        self._polling = polling
        self._poll_interval = poll_interval
        self._backstop = backstop_seconds
        self._on_problem = on_problem
        self._settings = Settings(
            sink=sink,
            report=self._report,
            clock=clock,
            max_line_bytes=max_line_bytes,
            rotate_grace=rotate_grace_seconds,
            from_beginning=from_beginning,
            first_start=not checkpoints,
            resume_since=resume_since,
            prepare=prepare,
        )
        self._tracked: dict[str, TrackedPath] = {}  # by absolute path
        # Paths with a file open, least recently read first; beyond the cap the idle
        # ones are parked (closed, reopened on change): one descriptor per log would
        # use up the table that sockets and the store need too.
        self._open: OrderedDict[str, TrackedPath] = OrderedDict()
        self._max_open = max_open_files if max_open_files is not None else default_max_open()
        self._problems: dict[str, str] = {}
        self._read_errors: set[str] = set()  # paths whose problem is a failed read
        self._lock = threading.Lock()  # _tracked's shape and _problems, for status()
        self._pass_lock = threading.Lock()  # one pass at a time (worker or poll())
        self._started = False  # the first pass, which applies the start-up rules, ran
        self._again = False  # a file stopped at tracking.MAX_CHUNKS_PER_PASS: more to read
        self._deadline = math.inf  # when a draining file's grace period ends (monotonic)
        self._board = HintBoard(self._patterns)
        self._watches: FolderWatches | None = None
        self._worker: threading.Thread | None = None
        self._stopping = threading.Event()
        self._first_pass = threading.Event()

    # -- public API --------------------------------------------------------

    def start(self, first_pass_seconds: float = FIRST_PASS_SECONDS) -> None:
        """Start the watchdog observer and the worker thread, and wait (bounded) for its
        first pass: once started, every existing file has its position, so a line
        appended after start() returns is read, not skipped with what the file held."""
        if self._worker is not None:
            raise RuntimeError("Tailer already started")
        self._watches = FolderWatches(
            self._board, polling=self._polling, poll_interval=self._poll_interval
        )
        self._watches.start()
        self._worker = threading.Thread(target=self._run, name="adminbot-tailer", daemon=True)
        self._worker.start()
        if not self._first_pass.wait(first_pass_seconds):
            logger.warning("the tailer's first pass takes longer than %ss", first_pass_seconds)

    @property
    def running(self) -> bool:
        """Whether the worker thread is alive (the self-watch asks)."""
        return self._worker is not None and self._worker.is_alive()

    def stop(self) -> None:
        """Stop watching, let the worker do a final pass, and close every file."""
        self._stopping.set()
        self._board.wake()
        if self._worker is not None:
            self._worker.join(JOIN_SECONDS)
            if self._worker.is_alive():
                logger.warning("tailer worker did not stop within %ss", JOIN_SECONDS)
        if self._watches is not None:
            self._watches.stop(JOIN_SECONDS)
        with self._pass_lock:
            for t in self._tracked.values():
                t.close()
        self._watches = None
        self._worker = None

    def poll(self) -> int:
        """Do one full pass now, in the caller's thread; return the number of lines delivered."""
        with self._pass_lock:
            delivered = self._pass(full=True)
            while self._again:
                delivered += self._pass(full=False)
        return delivered

    def wake(self) -> None:
        """Ask the worker to re-glob and look at its files soon (thread-safe)."""
        self._board.request_rescan()

    def status(self) -> list[WatchedFile]:
        """Describe every watched path, and every pattern folder with a problem."""
        with self._lock:
            rows = []
            for t in self._tracked.values():
                rows.append(
                    WatchedFile(
                        path=t.path,
                        size=t.size,
                        last_line_at=t.last_line_at,
                        lines_read=t.lines_read,
                        problem=self._problems.get(t.path),
                    )
                )
            listed = {row.path for row in rows}
            rows.extend(
                WatchedFile(path=key, size=0, last_line_at=None, lines_read=0, problem=message)
                for key, message in self._problems.items()
                if key not in listed
            )
        return rows

    # -- worker ------------------------------------------------------------

    def _run(self) -> None:
        """Wait for a hint, a grace deadline or the backstop, then do a pass; no busy loop."""
        next_full = 0.0  # the first pass is a full one
        while True:
            self._board.wait(min(next_full, self._deadline) - time.monotonic())
            if self._stopping.is_set():
                break
            full = time.monotonic() >= next_full
            self._guarded_pass(full=full)
            self._first_pass.set()
            if full:
                next_full = time.monotonic() + self._backstop
        self._guarded_pass(full=True)  # final drain: lines written up to stop() are kept

    def _guarded_pass(self, *, full: bool) -> None:
        """Run a pass; an unexpected error is logged and the next wake-up tries again."""
        with self._pass_lock:
            try:
                self._pass(full=full)
            except Exception:
                logger.exception("tailer pass failed; trying again on the next wake-up")

    def _pass(self, *, full: bool) -> int:
        """Service the files that may have news (all of them on a full pass).

        1. Take the hints gathered by the observer thread.
        2. On a full pass or a hint about new files: check the folders, glob again.
        3. Read every file that is dirty, newly found, or draining after a rotation.
        """
        hints = self._board.take()
        self._again = False
        self._deadline = math.inf
        dirty = set(hints.dirty)
        if full or hints.rescan or hints.folders_changed or not self._started:
            self._check_folders()
            dirty |= self._discover(initial=not self._started)
        self._started = True
        delivered = 0
        for t in list(self._tracked.values()):
            if not (full or t.abspath in dirty or t.draining):
                continue
            try:
                out = t.service(full=full)
            except OSError as exc:  # EIO, a network volume gone stale: try again next pass
                self._read_errors.add(t.path)
                self._report(t.path, f"cannot read: {exc.strerror or exc}")
                continue
            if t.path in self._read_errors:
                self._read_errors.discard(t.path)
                self._report(t.path, None)
            delivered += out.delivered
            self._keep_open_bounded(t, busy=out.more)
            self._deadline = min(self._deadline, out.deadline)
            if out.more:
                self._again = True  # come back after the other files had their turn
                self._board.mark(t.abspath)
            if out.gone:
                self._forget(t)
        return delivered

    def _keep_open_bounded(self, t: TrackedPath, *, busy: bool) -> None:
        """Note `t` as just read; park the least recently read idle files beyond the cap."""
        if t.open_files:
            self._open[t.abspath] = t
            self._open.move_to_end(t.abspath)
        else:
            self._open.pop(t.abspath, None)
        for _ in range(len(self._open)):
            if len(self._open) <= self._max_open:
                return
            key, oldest = next(iter(self._open.items()))
            if (oldest is t and busy) or not oldest.park():
                self._open.move_to_end(key)  # draining or more to read: it stays open
            else:
                del self._open[key]

    # -- folders and globs -------------------------------------------------

    def _check_folders(self) -> None:
        """Report a missing pattern folder once; keep a watchdog watch on each existing one."""
        for pattern in self._patterns:
            try:
                st = Path(pattern.base).stat()
            except OSError:
                st = None
            if st is None or not stat.S_ISDIR(st.st_mode):
                if self._watches is not None:
                    self._watches.drop(pattern.base, recursive=pattern.recursive)
                self._report(pattern.base, "folder does not exist (checked again periodically)")
                continue
            problem = None
            if self._watches is not None:
                ident = (st.st_dev, st.st_ino)
                problem = self._watches.ensure(
                    pattern.base, recursive=pattern.recursive, ident=ident
                )
            self._report(pattern.base, problem)

    def _discover(self, *, initial: bool) -> set[str]:
        """Glob the patterns and track new paths; return their absolute paths."""
        found = [
            (path, pattern.literal)
            for pattern in self._patterns
            if Path(pattern.base).is_dir()  # a missing folder is reported by _check_folders
            for path in pattern.paths()
        ]
        new: set[str] = set()
        with self._lock:
            for path, literal in found:
                abspath = absolute(path)
                known = self._tracked.get(abspath)
                if known is not None:
                    known.literal = known.literal or literal
                    continue
                self._tracked[abspath] = TrackedPath(
                    path,
                    self._settings,
                    literal=literal,
                    existed_at_start=initial and Path(path).exists(),
                    checkpoint=self._checkpoints.pop(path, None),
                    rotated=self._checkpoints.pop(rotated_key(path), None),
                )
                new.add(abspath)
                logger.info("watching %s", path)
            self._board.set_tracked(frozenset(self._tracked))
        return new

    def _forget(self, t: TrackedPath) -> None:
        """Stop tracking a globbed file that is gone: old logs being deleted is normal."""
        logger.info("%s is gone; no longer watching it", t.path)
        t.close()
        self._open.pop(t.abspath, None)
        self._report(t.path, None)
        with self._lock:
            self._tracked.pop(t.abspath, None)
            self._board.set_tracked(frozenset(self._tracked))

    # -- problems ----------------------------------------------------------

    def _report(self, key: str, message: str | None) -> None:
        """Tell on_problem about a problem once when it starts, and once when it clears."""
        with self._lock:
            old = self._problems.get(key)
            if (old is None) == (message is None):
                if message is not None:
                    self._problems[key] = message  # still the same trouble; keep the newest text
                return
            if message is None:
                del self._problems[key]
            else:
                self._problems[key] = message
        if self._on_problem is None:  # else the callback tells, so it is said once
            if message is None:
                logger.info("%s: recovered", key)
            else:
                logger.warning("%s: %s", key, message)
            return
        try:
            self._on_problem(key, message)
        except Exception:
            logger.exception("on_problem callback failed for %s", key)
