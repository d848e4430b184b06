"""Run the real adminbot Application against the fake Bot API, as the e2e tests need it."""

from __future__ import annotations

import asyncio
import glob
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from adminbot.checks.base import Check
from adminbot.clock import Clock, utcnow
from adminbot.config import Config, load_config
from adminbot.service.lifecycle import build_service
from adminbot.service.runtime import Edges, Periods, Runtime
from adminbot.web.build import dashboard
from handlers.app import TelegramFront
from handlers.context import AdminApplication
from tests.fake_telegram import Call, FakeTelegram

ADMIN = 4242
FAST = Periods(delivery_backoff=0.05, drain=1.0)
"""Production's behaviour at test speed: short back-off after a failed send, short drain."""
STRANGER = 6666


def make_config(
    tmp_path: Path, fake: FakeTelegram, toml: str = "", *, alerts: str = "", **env: str
) -> Config:
    """A config watching tmp_path/pipeline/*.log and talking to the fake server;
    `alerts` holds extra lines of its [alerts] table."""
    (tmp_path / "pipeline").mkdir(exist_ok=True)
    (tmp_path / "adminbot.toml").write_text(
        toml
        + "\n[watch]\nbackstop_seconds = 0.5\n[alerts]\nedit_throttle_seconds = 0.5\n"
        + alerts,
        encoding="utf-8",
    )
    values = {
        "TELEGRAM_TOKEN": fake.token,
        "ADMIN_ID": str(ADMIN),
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "ADMINBOT_WATCH": str(tmp_path / "pipeline" / "*.log"),
        "ADMINBOT_DATA_DIR": str(tmp_path / "data"),
        **env,
    }
    return load_config(values, cwd=tmp_path)


def pipeline_log(tmp_path: Path) -> Path:
    """The pipeline's bot.log, created empty before the bot starts so that the tailer
    already follows it when the test appends (a first start skips what a file holds)."""
    log = tmp_path / "pipeline" / "bot.log"
    log.parent.mkdir(exist_ok=True)
    log.touch()
    return log


def delivered_alerts(fake: FakeTelegram, headline: str) -> list[Call]:
    """The sendMessage calls Telegram accepted whose text holds `headline`, such as
    "CRITICAL · disco_lleno"; attempts it refused do not count."""
    return [c for c in fake.calls("sendMessage") if c.ok and headline in c.params["text"]]


async def queue_drained(fake: FakeTelegram, log: Path) -> None:
    """Wait on a positive event instead of sleeping: a fresh marker incident is appended
    and its alert awaited; the outbox delivers in order, so everything queued before it,
    including any duplicate, has reached the fake by then."""
    marker = f"/srv/marker/{time.monotonic_ns()}.mp4"
    append(
        log,
        f"2026-11-29 23:59:59,000 ERROR marker: PermissionError: [Errno 13] "
        f"Permission denied: '{marker}'",
    )
    await fake.await_call("sendMessage", lambda c: c.ok and marker in c.params["text"], timeout=10)


def append(path: Path, *lines: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line + "\n")


@asynccontextmanager
async def running_bot(
    config: Config,
    *,
    checks: Sequence[Check] | None = None,
    child_argv: Sequence[str] = (),
    periods: Periods | None = None,
    clock: Clock = utcnow,
) -> AsyncIterator[tuple[AdminApplication, Runtime]]:
    """Build and start adminbot exactly as `adminbot run` does, with the Telegram front.

    Yields once the front has started (setMyCommands sent, the "started" notice queued)
    and the tailer follows every watched file that exists.
    """
    edges = Edges(checks=checks, periods=periods or FAST, clock=clock)
    service = build_service(
        config,
        lambda runtime: TelegramFront(runtime, poll_timeout=1),
        edges,
        child_argv=child_argv,
        pages=dashboard if config.web.enabled else None,
    )
    await service.start()
    front = service.front
    assert isinstance(front, TelegramFront)
    try:
        await _tailer_settled(service.runtime)
        yield front.application, service.runtime
    finally:
        await service.stop()


async def _tailer_settled(runtime: Runtime) -> None:
    """Wait for the tailer's first pass: on a first start it skips what files already
    hold, so a line appended before that pass would be skipped with them."""
    existing = {p for pattern in runtime.config.watch.patterns for p in glob.glob(pattern)}
    await eventually(lambda: existing <= {w.path for w in runtime.monitor.watched()})


async def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:  # noqa: ASYNC109 - a test helper with its own deadline
    """Poll `check` until it returns something truthy (or raise its last assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)
