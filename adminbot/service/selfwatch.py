"""adminbot watching itself: is the tailer keeping up, do the jobs fire, does delivery work?

Runs on its own asyncio task, not on the job queue it watches. Its parts feed
/healthz, its flips are told to the admin and logged, and systemd's watchdog is
only fed while the tailer and the jobs are alive (so a wedged adminbot is restarted).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from adminbot.store.api import StoreApi
from adminbot.store.errors import StoreUnreachable
from adminbot.tail.tailer import WatchedFile

logger = logging.getLogger(__name__)

Part = tuple[bool, str]


class Watched(Protocol):
    """What SelfWatch reads of the monitor (the `Monitor` in production)."""

    def tailer_alive(self) -> bool: ...

    def watched(self) -> Sequence[WatchedFile]: ...


@dataclass
class _Progress:
    offset: int
    since: float


class SelfWatch:
    """Evaluates adminbot's own health parts and reports when one of them changes."""

    def __init__(
        self,
        monitor: Watched,
        store: StoreApi,
        *,
        stall_seconds: float = 30.0,
        jobs_late_seconds: float = 30.0,
        delivery: Callable[[], Part | None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        reachable: Callable[[], Part] | None = None,
    ) -> None:
        self.monitor = monitor
        self.store = store
        self.stall_seconds = stall_seconds
        self.jobs_late_seconds = jobs_late_seconds
        self.delivery = delivery
        self.monotonic = monotonic
        self.reachable = reachable
        self._offsets: dict[str, int] = {}
        self.last_job_at = monotonic()
        self._progress: dict[str, _Progress] = {}
        self._reported: dict[str, bool] = {}

    def job_fired(self) -> None:
        """Called by the periodic job: proof that the job queue is alive."""
        self.last_job_at = self.monotonic()

    def parts(self) -> dict[str, Part]:
        parts = {"tailer": self._tailer(), "jobs": self._jobs()}
        if self.reachable is not None:
            parts["store"] = self.reachable()
        delivery = self.delivery() if self.delivery is not None else None
        if delivery is not None:
            parts["delivery"] = delivery
        return parts

    def changes(self) -> list[tuple[str, bool, str]]:
        """Parts whose health changed since the last call (the first call reports failures only)."""
        changed = []
        for name, (ok, detail) in self.parts().items():
            before = self._reported.get(name, True)
            self._reported[name] = ok
            if ok != before:
                changed.append((name, ok, detail))
                log = logger.info if ok else logger.error
                log("Self-check %s: %s", name, detail)
        return changed

    @property
    def alive(self) -> bool:
        """Whether systemd's watchdog should be fed: the tailer and the jobs work."""
        parts = self.parts()
        return parts["tailer"][0] and parts["jobs"][0]

    def _tailer(self) -> Part:
        if not self.monitor.tailer_alive():
            return False, "the tailer thread is not running"
        now = self.monotonic()
        # unreachable: the store part says so; the tailer waits at its last known positions
        with contextlib.suppress(StoreUnreachable):
            self._offsets = {p: cp.offset for p, cp in self.store.load_checkpoints().items()}
        offsets = self._offsets
        for watched in self.monitor.watched():
            offset = offsets.get(watched.path, 0)
            progress = self._progress.get(watched.path)
            if progress is None or progress.offset != offset or watched.size <= offset:
                self._progress[watched.path] = _Progress(offset, now)
                continue
            if now - progress.since > self.stall_seconds:
                behind = watched.size - offset
                return False, f"{watched.path} grew by {behind} bytes that were not read"
        return True, f"{len(offsets)} file(s) followed"

    def _jobs(self) -> Part:
        late = self.monotonic() - self.last_job_at
        if late > self.jobs_late_seconds:
            return False, f"the periodic job has not run for {late:.0f}s"
        return True, "periodic jobs on time"


def summary(parts: Mapping[str, Part]) -> str:
    return ", ".join(f"{name} {'ok' if ok else 'FAILING'}" for name, (ok, _) in parts.items())
