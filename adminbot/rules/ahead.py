"""Classify the tailer's next batch in a worker process while this one stores the last.

In a storm one core does everything (the GIL): reading, classifying and storing a
match took ~43 us, classifying ~16 us of it. The tailer reads a batch ahead and
`prepare`s it; the batch goes to a worker process (`adminbot.rules.worker`), which
classifies it while the sink stores the batch before. When the sink gets to it,
`result` takes the worker's answer into the `Classifier` (counts and the record held
back), as if the classifier had fed it itself.

The classifier here stays the authority: a batch that opens a run carries what it
holds back, and every answer brings back what the worker holds after it. So whenever
an answer is not usable (the store refused a batch and the tailer offers it again, the
rules changed, the worker died or hung, the batch was not prepared) the batches in
flight are forgotten and classified here, from the classifier's own state: nothing is
lost or counted twice. Small batches (a quiet log) are classified here at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import logging
import math
import os
import pickle
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, NamedTuple

from adminbot.models import Line, LineBatch
from adminbot.rules.classifier import Classified, Classifier
from adminbot.rules.ruleset import RuleSet
from adminbot.rules.wire import decode

logger = logging.getLogger(__name__)

MIN_BYTES = 128 * 1024
"""Smaller batches are classified at once here. A batch this big (half a read chunk)
means the tailer is behind: a backlog or a storm. A quiet log read live comes in small
batches, and sending them costs more than classifying them: at 50,000 lines/s with 2%
errors a bar of 256 lines took 56% of a core and 82 ms of lag, against 46% and 6 ms
here; with this bar the worker is not started there."""
REPLY_SECONDS = 60.0
"""A worker that takes longer over a batch (a 256 KiB chunk takes ~0.1 s) is stuck."""
RETRY_SECONDS = 60.0
"""After a worker failed, batches are classified here this long before a new one starts."""
PIPE_BYTES = 1 << 20
"""Room in each pipe for two batches. Needed, not only faster: with a pipe smaller than
a request, this process could wait to send batch N+2 while the worker waits to send the
answer for N+1 that this process reads only after: neither would move."""
STOP_SECONDS = 2.0
SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", -1)  # Linux's; elsewhere the call fails (EINVAL)


class WorkerFailed(Exception):
    """The worker died, hung or answered nonsense."""


class WorkerUnavailable(WorkerFailed):
    """No worker can run here (its pipes cannot be made big enough): never tried again."""


class Worker:
    """A started `adminbot.rules.worker` process and its two pipes."""

    def __init__(self, process: subprocess.Popen[bytes], requests: Connection, replies: Connection):
        self._process = process
        self._requests = requests
        self._replies = replies

    @classmethod
    def start(cls) -> Worker:
        to_worker, requests = os.pipe()
        replies, from_worker = os.pipe()
        command = [sys.executable, "-m", "adminbot.rules.worker", str(to_worker), str(from_worker)]
        command += [str(value) for value in gc.get_threshold()]
        try:
            try:
                for fd in (requests, from_worker):
                    fcntl.fcntl(fd, SETPIPE_SZ, PIPE_BYTES)
            except OSError as exc:  # /proc/sys/fs/pipe-max-size below 1 MiB; not Linux
                raise WorkerUnavailable(f"pipes of {PIPE_BYTES} bytes refused: {exc}") from exc
            process = subprocess.Popen(
                command, pass_fds=(to_worker, from_worker), stdin=subprocess.DEVNULL
            )
        except BaseException:
            for fd in (to_worker, requests, replies, from_worker):
                os.close(fd)
            raise
        os.close(to_worker)
        os.close(from_worker)
        sending = Connection(requests, readable=False)
        return cls(process, sending, Connection(replies, writable=False))

    @property
    def pid(self) -> int:
        return self._process.pid

    def send(self, request: tuple[Any, ...]) -> None:
        try:
            self._requests.send_bytes(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError as exc:
            raise WorkerFailed(f"cannot send: {exc}") from exc

    def receive(self, seconds: float) -> bytes:
        try:
            if not self._replies.poll(seconds):
                raise WorkerFailed(f"no answer in {seconds:g}s")
            return self._replies.recv_bytes()
        except (EOFError, OSError) as exc:
            raise WorkerFailed(f"exited ({self._process.poll()})") from exc

    def stop(self, *, kill: bool = False) -> None:
        """Close the pipes (the worker ends on its own) and reap it; kill it if it lingers
        or at once with `kill` (it hung)."""
        self._requests.close()
        self._replies.close()
        if kill:
            self._process.kill()
        try:
            self._process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(STOP_SECONDS)


class AheadFigures(NamedTuple):
    """What /metrics shows of the worker since start."""

    taken: int  # batches whose classification came from a worker
    failures: int  # workers that died, hung or could not start
    running: bool


@dataclass(slots=True)
class _Ticket:
    """A prepared batch, in the order the tailer will hand batches over."""

    source: str
    batch: LineBatch
    sent: bool
    ruleset: RuleSet


class ClassifyAhead:
    """Batches prepared for `classifier`, classified in a worker process meanwhile."""

    def __init__(
        self,
        classifier: Classifier,
        *,
        min_bytes: int = MIN_BYTES,
        reply_seconds: float = REPLY_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        start: Callable[[], Worker] = Worker.start,
    ) -> None:
        self._classifier = classifier
        self._min_bytes = min_bytes
        self._reply_seconds = reply_seconds
        self._retry_seconds = retry_seconds
        self._monotonic = monotonic
        self._start = start
        self._worker: Worker | None = None
        self._rules_sent: RuleSet | None = None
        self._queue: deque[_Ticket] = deque()
        self._unread = 0  # answers to batches forgotten, still to be read and dropped
        self._retry_at = 0.0
        self._closed = False
        self.taken = 0  # batches whose answer was taken
        self.failures = 0

    @property
    def worker_pid(self) -> int | None:
        """The worker's process id while one runs (it starts with the first big batch)."""
        return self._worker.pid if self._worker is not None else None

    def figures(self) -> AheadFigures:
        return AheadFigures(self.taken, self.failures, self._worker is not None)

    @property
    def busy(self) -> bool:
        """Whether prepared batches are waiting to be handed over."""
        return bool(self._queue)

    def prepare(self, source: str, batch: Sequence[Line]) -> None:
        """The tailer read `batch` and will hand it over after those prepared before."""
        if self._closed or not isinstance(batch, LineBatch):
            return
        earlier = [ticket for ticket in self._queue if ticket.source == source]
        ticket = _Ticket(source, batch, False, self._classifier.ruleset)
        self._queue.append(ticket)
        # The worker goes on from the batch before, or from what the classifier holds
        # now when none is queued; after one not sent it cannot (see `result`).
        if all(t.sent for t in earlier):
            self._send(ticket, sync=not earlier)

    def result(self, source: str, batch: Sequence[Line]) -> Classified | None:
        """The worker's answer for `batch`, taken into the classifier; None when the
        classifier must feed it itself (and every batch prepared is forgotten)."""
        if not self._queue:
            return None
        ticket = self._queue[0]
        if ticket.batch is not batch or ticket.source != source:
            self.forget()
            return None
        if not ticket.sent:
            self._send_from(ticket)
        self._queue.popleft()
        if not ticket.sent:
            return None
        worker = self._worker
        if ticket.ruleset is not self._classifier.ruleset or worker is None:
            self._unread += 1
            self.forget()
            return None
        try:
            data = self._receive(worker)
        except WorkerFailed as exc:
            self._fail(exc)
            return None
        done, held = decode(source, data)
        self._classifier.take(source, done, len(batch), held)
        self.taken += 1
        return done

    def forget(self) -> None:
        """Drop every prepared batch: the tailer offers them again or they are classified
        here (their answers are read and dropped before the next one used)."""
        self._unread += sum(1 for ticket in self._queue if ticket.sent)
        self._queue.clear()

    def close(self) -> None:
        """End the worker for good (the tailer has stopped); batches come unprepared after."""
        self._closed = True
        self._queue.clear()
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def _send(self, ticket: _Ticket, *, sync: bool) -> bool:
        """Send a big batch to the worker (starting it if need be); whether it was sent.
        With `sync` the worker first takes what the classifier holds for its source."""
        batch = ticket.batch
        size = batch.offsets[-1] - batch.offsets[0]
        if size < self._min_bytes or ticket.ruleset is not self._classifier.ruleset:
            return False
        try:
            worker = self._ready()
            if worker is None:
                return False
            if self._rules_sent is not ticket.ruleset:
                worker.send(("rules", ticket.ruleset))
                self._rules_sent = ticket.ruleset
            held = self._classifier.held(ticket.source) if sync else None
            now = self._monotonic()
            worker.send(("feed", ticket.source, batch.texts, batch.first_line_no, now, sync, held))
        except WorkerFailed as exc:
            self._fail(exc)
            return False
        ticket.sent = True
        return True

    def _send_from(self, head: _Ticket) -> None:
        """The classifier is where `head` starts (the batch before it was classified here):
        send it and the big batches of its source queued after it, up to a small one."""
        if not self._send(head, sync=True):
            return
        for ticket in list(self._queue):
            if ticket is head or ticket.source != head.source:
                continue
            if not self._send(ticket, sync=False):
                return

    def _ready(self) -> Worker | None:
        if self._worker is None:
            if self._monotonic() < self._retry_at:
                return None
            try:
                self._worker = self._start()
            except OSError as exc:
                raise WorkerFailed(f"cannot start: {exc}") from exc
            self._rules_sent = None
            self._unread = 0
        return self._worker

    def _receive(self, worker: Worker) -> bytes:
        while self._unread:
            worker.receive(self._reply_seconds)
            self._unread -= 1
        return worker.receive(self._reply_seconds)

    def _fail(self, exc: WorkerFailed) -> None:
        """Classify here from now on; a new worker is tried after `retry_seconds`, unless
        none can run here."""
        self.failures += 1
        never = isinstance(exc, WorkerUnavailable)
        again = "from now on" if never else f"for {self._retry_seconds:g}s"
        logger.error(
            "the classifier worker failed (%s); classifying in this process %s", exc, again
        )
        for ticket in self._queue:
            ticket.sent = False  # their answers went with the worker: classified here
        self._unread = 0
        self._retry_at = math.inf if never else self._monotonic() + self._retry_seconds
        if self._worker is not None:
            worker, self._worker = self._worker, None
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                worker.stop(kill=True)
