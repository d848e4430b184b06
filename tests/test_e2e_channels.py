"""Alerts on other channels through Apprise, against a JSON receiver on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from adminbot.config import Config
from adminbot.service.lifecycle import Service, build_service
from adminbot.service.runtime import Edges
from handlers.app import TelegramFront
from handlers.channel_views import renderer, status_lines
from handlers.i18n import Catalog
from tests.clocks import FakeClock
from tests.fake_telegram import FakeTelegram
from tests.harness import FAST, append, eventually, make_config, pipeline_log, queue_drained

DISK_FULL = "2026-11-29 10:00:02,000 ERROR descargas: OSError: [Errno 28] No space left on device"
SLOW = "2026-11-29 10:00:03,000 WARNING descargas: SLOW transfer of BAACAgE123"
DENIED = (
    "2026-11-29 10:00:04,000 ERROR descargas: PermissionError: [Errno 13] "
    "Permission denied: '/srv/descargas/a.mp4'"
)
SECRET = "s3cretPassw0rd"
WARNING_RULE = '[[rules]]\nname = "lento"\npattern = "SLOW transfer"\nseverity = "warning"\n'


class Receiver:
    """An HTTP server taking Apprise's json:// posts; answers `status` (500 to refuse)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        self.refusals = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(size))
                status = receiver.status
                if status == 200:
                    receiver.bodies.append(body)
                else:
                    receiver.refusals += 1
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self) -> str:
        return f"json://user:{SECRET}@127.0.0.1:{self.port}/hook"

    def texts(self) -> list[str]:
        return [f"{b.get('title', '')}\n{b.get('message', '')}" for b in self.bodies]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


def channel_config(tmp_path: Path, fake: FakeTelegram, receiver: Receiver, extra: str) -> Config:
    toml = f'[[channels]]\nurl = "{receiver.url()}"\n{extra}\n' + WARNING_RULE
    return make_config(tmp_path, fake, toml)


@asynccontextmanager
async def running(config: Config, clock: FakeClock | None = None) -> AsyncIterator[Service]:
    edges = Edges(periods=FAST) if clock is None else Edges(periods=FAST, clock=clock)
    service = build_service(
        config,
        lambda runtime: TelegramFront(runtime, poll_timeout=1),
        edges,
        render=renderer(config.language),
    )
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


async def test_critical_alert_arrives_once_with_its_facts_and_a_warning_below_min_severity_does_not(
    tmp_path: Path,
    fake_telegram: FakeTelegram,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = channel_config(tmp_path, fake_telegram, receiver, 'min_severity = "critical"')
    log = pipeline_log(tmp_path)
    async with running(config) as service:
        append(log, SLOW, DISK_FULL)
        await eventually(lambda: receiver.bodies, timeout=10)
        await queue_drained(fake_telegram, log)
        text = receiver.texts()[0]
        assert "CRITICAL" in text and "disco_lleno" in text
        assert str(log) in text and "No space left on device" in text
        assert "Act in Telegram" in text
        assert len(receiver.bodies) == 1  # the warning and the marker stay off this channel
        status = status_lines(service.runtime.channels.status() or _none(), Catalog("en"))
        parts = service.runtime.channels.parts()
        metrics = service.runtime.metrics.render().decode()
    shown = [*status, json.dumps(parts), metrics, caplog.text, *receiver.texts()]
    shown += [c.params.get("text", "") for c in fake_telegram.calls("sendMessage")]
    assert not [text for text in shown if SECRET in text]
    assert "ok, 0 queued" in status[0]


def _none() -> Any:
    raise AssertionError("channels are configured")


async def test_a_refusing_receiver_delays_the_alert_without_losing_or_repeating_it(
    tmp_path: Path, fake_telegram: FakeTelegram, receiver: Receiver
) -> None:
    config = channel_config(tmp_path, fake_telegram, receiver, "")
    log = pipeline_log(tmp_path)
    receiver.status = 500
    async with running(config) as service:
        append(log, DISK_FULL)
        await eventually(lambda: receiver.refusals >= 2, timeout=10)
        state = service.runtime.channels.status()
        assert state is not None and state.channels[0].failing_since is not None
        receiver.status = 200
        await eventually(lambda: receiver.bodies, timeout=10)
        append(log, DENIED)
        await eventually(lambda: len(receiver.bodies) >= 2, timeout=10)
    assert ["disco_lleno" in t for t in receiver.texts()] == [True, False]


async def test_queued_alerts_survive_a_restart_and_arrive_once(
    tmp_path: Path, fake_telegram: FakeTelegram, receiver: Receiver
) -> None:
    config = channel_config(tmp_path, fake_telegram, receiver, "")
    log = pipeline_log(tmp_path)
    receiver.status = 500
    async with running(config) as service:
        append(log, DISK_FULL, DENIED)
        await eventually(lambda: receiver.refusals >= 1, timeout=10)
        await eventually(lambda: (service.runtime.channels.status() or _none()).channels[0].queued)
    receiver.status = 200
    async with running(config):
        await eventually(lambda: len(receiver.bodies) >= 2, timeout=10)
        await queue_drained(fake_telegram, log)
        await eventually(lambda: len(receiver.bodies) >= 3, timeout=10)
        await queue_drained_nowhere()
    assert len(receiver.bodies) == 3  # two alerts and the marker, each once
    assert "disco_lleno" in receiver.texts()[0]


async def test_a_fallback_channel_hears_only_once_telegram_has_failed_for_fallback_after(
    tmp_path: Path, fake_telegram: FakeTelegram, receiver: Receiver
) -> None:
    extra = 'when = "telegram_down"\nfallback_after = "2m"'
    config = channel_config(tmp_path, fake_telegram, receiver, extra)
    log = pipeline_log(tmp_path)
    clock = FakeClock()
    async with running(config, clock) as service:
        front = service.front
        assert isinstance(front, TelegramFront)
        append(log, DISK_FULL)
        await fake_telegram.await_call("sendMessage", lambda c: "disco_lleno" in c.params["text"])
        clock.advance(30)  # Telegram took it: the fallback never sends it
        await eventually(
            lambda: (service.runtime.channels.status() or _none()).channels[0].queued == 0
        )
        fake_telegram.down()
        append(log, DENIED)
        await eventually(lambda: not (front.health() or (True, ""))[0], timeout=10)
        await eventually(lambda: service.sender and service.sender.telegram_failing_since)
        clock.advance(60)
        await queue_drained_nowhere()
        assert receiver.bodies == []  # failing for one minute only
        clock.advance(61)
        await eventually(lambda: receiver.bodies, timeout=10)
        fake_telegram.up()
        clock.advance(600)  # Telegram's own retry waits on the same clock
        await fake_telegram.await_call(
            "sendMessage", lambda c: c.ok and "permisos" in c.params["text"], timeout=15
        )
        await queue_drained(fake_telegram, log)
    assert len(receiver.bodies) == 1 and "permisos" in receiver.texts()[0]


async def queue_drained_nowhere() -> None:
    """Give the sender a few passes (it runs every half second)."""
    import asyncio

    await asyncio.sleep(1.2)


async def test_a_channel_refusing_for_good_is_told_to_the_admin_once_and_not_retried(
    tmp_path: Path, fake_telegram: FakeTelegram, receiver: Receiver
) -> None:
    config = channel_config(tmp_path, fake_telegram, receiver, "")
    log = pipeline_log(tmp_path)
    receiver.status = 404
    async with running(config) as service:
        append(log, DISK_FULL, DENIED)
        await fake_telegram.await_call(
            "sendMessage", lambda c: c.ok and "failed for good" in c.params["text"], timeout=10
        )
        await queue_drained(fake_telegram, log)
        state = (service.runtime.channels.status() or _none()).channels[0]
    told = [c for c in fake_telegram.calls("sendMessage") if "failed for good" in c.params["text"]]
    assert len(told) == 1 and SECRET not in told[0].params["text"]
    assert receiver.refusals == 1 and state.dead is not None
