"""End to end: a download folder filling up is forecast in Telegram, once, and resolved.

The real service with the fake Bot API; the disk check reads a usage that follows a
fake clock the test moves two minutes per check round, so an hour passes in seconds.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from adminbot.checks.disk import DiskCheck
from adminbot.models import IncidentState
from adminbot.service.runtime import Runtime
from tests.clocks import FakeClock
from tests.fake_telegram import FakeTelegram
from tests.harness import FAST, eventually, make_config, running_bot

GiB = 2**30
PREDICT_FAST = replace(FAST, check=0.05)


class FillingDisk:
    """100 GiB with 78 GiB used, growing at `rate` bytes an hour of the fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.start = clock.now
        self.base = 78 * GiB
        self.rate = 6 * GiB

    def flatten(self) -> None:
        self.base, self.rate, self.start = self.used(), 0, self.clock.now

    def used(self) -> int:
        hours = (self.clock.now - self.start) / timedelta(hours=1)
        return int(self.base + self.rate * hours)

    def read(self, _path: str) -> SimpleNamespace:
        used = self.used()
        return SimpleNamespace(
            total=100 * GiB, used=used, free=100 * GiB - used, percent=used / GiB
        )


async def step(runtime: Runtime, clock: FakeClock, minutes: float = 2) -> None:
    """Move the clock, then wait for a whole check round at the new time."""
    clock.advance(minutes * 60)
    rounds = runtime.health.rounds
    await eventually(lambda: runtime.health.rounds >= rounds + 2, timeout=5)


async def test_a_growing_disk_is_forecast_once_and_a_flat_one_resolves_it(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    folder = tmp_path / "descargas"
    folder.mkdir()
    clock = FakeClock()
    disk = FillingDisk(clock)
    check = DiskCheck(f"disk {folder}", folder, usage_reader=disk.read, clock=clock)
    config = make_config(tmp_path, fake_telegram)
    async with running_bot(config, checks=[check], periods=PREDICT_FAST, clock=clock) as (
        _,
        runtime,
    ):
        for _ in range(8):
            await step(runtime, clock)
        alert = await fake_telegram.await_call(
            "sendMessage", lambda c: "disco_previsto" in c.params["text"], timeout=5
        )
        # about 15 GiB below 95 % at 6 GiB/h; the exact minutes depend on the rounds run
        shown = re.search(
            r"at this rate (.+) is full in ~2 h \d+ min \(filling 6.0 GB/h\)", alert.params["text"]
        )
        assert shown is not None
        assert str(folder) in shown.group(1)
        for _ in range(3):
            await step(runtime, clock)
        sent = [
            c for c in fake_telegram.calls("sendMessage") if "disco_previsto" in c.params["text"]
        ]
        assert len(sent) == 1
        disk.flatten()
        await step(runtime, clock, minutes=61)
        for _ in range(6):
            await step(runtime, clock)
        [incident] = runtime.store.incidents(rule="disco_previsto")
        assert incident.state is IncidentState.RESOLVED
        await fake_telegram.await_call(
            "editMessageText",
            lambda c: "disco_previsto" in c.params["text"] and "resolved" in c.params["text"],
            timeout=5,
        )
