"""adminbot watching itself: a stalled tailer, silent jobs and failing delivery are noticed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from adminbot.models import Checkpoint
from adminbot.service.selfwatch import SelfWatch
from adminbot.store.sqlite import Store
from adminbot.tail.tailer import WatchedFile
from tests.clocks import FakeMonotonic


class FakeMonitor:
    """Stands in for the Monitor: only what SelfWatch reads (tailer liveness, file sizes)."""

    def __init__(self) -> None:
        self.alive = True
        self.files: list[WatchedFile] = []

    def tailer_alive(self) -> bool:
        return self.alive

    def watched(self) -> list[WatchedFile]:
        return self.files


@pytest.fixture
def world(tmp_path: Path) -> tuple[SelfWatch, FakeMonitor, Store, FakeMonotonic]:
    store = Store(tmp_path / "s.sqlite3")
    monitor = FakeMonitor()
    clock = FakeMonotonic()
    watch = SelfWatch(monitor, store, stall_seconds=30, jobs_late_seconds=20, monotonic=clock)
    return watch, monitor, store, clock


def grow(monitor: FakeMonitor, store: Store, size: int, offset: int) -> None:
    monitor.files = [WatchedFile("/log/bot.log", size, None, 0, None)]
    store.save_checkpoint(Checkpoint("/log/bot.log", 1, 2, "f", 16, offset, 1), datetime.now(UTC))


def test_a_tailer_that_keeps_up_is_healthy(world: tuple) -> None:
    watch, monitor, store, clock = world
    for step in range(5):
        grow(monitor, store, size=100 * (step + 1), offset=100 * (step + 1))
        clock.advance(20)
        watch.job_fired()
        assert watch.parts()["tailer"][0] is True
    assert watch.changes() == []


def test_a_file_growing_while_the_offset_stands_still_is_a_stalled_tailer(world: tuple) -> None:
    watch, monitor, store, clock = world
    grow(monitor, store, size=500, offset=100)
    assert watch.changes() == []
    clock.advance(31)
    watch.job_fired()
    changes = watch.changes()
    assert [(part, ok) for part, ok, _ in changes] == [("tailer", False)]
    assert "400 bytes" in changes[0][2]
    assert watch.alive is False
    grow(monitor, store, size=500, offset=500)
    assert [(part, ok) for part, ok, _ in watch.changes()] == [("tailer", True)]


def test_a_dead_tailer_thread_is_reported(world: tuple) -> None:
    watch, monitor, _, _ = world
    monitor.alive = False
    assert watch.parts()["tailer"] == (False, "the tailer thread is not running")


def test_jobs_that_stop_firing_are_reported_once(world: tuple) -> None:
    watch, _, _, clock = world
    clock.advance(21)
    assert [(part, ok) for part, ok, _ in watch.changes()] == [("jobs", False)]
    assert watch.changes() == []
    watch.job_fired()
    assert [(part, ok) for part, ok, _ in watch.changes()] == [("jobs", True)]


def test_delivery_health_is_a_part_when_given(world: tuple) -> None:
    watch, _, _, _ = world
    watch.delivery = lambda: (False, "3 failed attempt(s): 502")
    assert watch.parts()["delivery"] == (False, "3 failed attempt(s): 502")
    assert watch.alive is True  # systemd should not restart us because Telegram is down
