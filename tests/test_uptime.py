"""The heartbeat: an outside uptime monitor is pinged while adminbot is healthy, and
not when its tailer is dead; a failing monitor is logged once per streak, never fatal."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from adminbot.service.runtime import Periods
from adminbot.service.uptime import UptimePing
from tests.fake_telegram import FakeTelegram
from tests.harness import FAST, eventually, make_config, running_bot


class PingServer:
    """A push endpoint on 127.0.0.1 that counts GETs and can be told to fail."""

    def __init__(self) -> None:
        self.pings = 0
        self.status = 200
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.pings += 1
                self.send_response(server.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *_args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/ping/3f1c-secret-uuid"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def monitor() -> Iterator[PingServer]:
    server = PingServer()
    yield server
    server.close()


async def test_a_healthy_adminbot_pings_and_an_unhealthy_one_does_not(
    monitor: PingServer,
) -> None:
    healthy = [True]
    ping = UptimePing(monitor.url, lambda: healthy[0], timeout=2)
    assert await ping.tick() and await ping.tick()
    healthy[0] = False
    assert not await ping.tick()
    assert monitor.pings == 2


async def test_a_failing_monitor_is_logged_once_per_streak_and_never_raises(
    monitor: PingServer, caplog: pytest.LogCaptureFixture
) -> None:
    ping = UptimePing(monitor.url, lambda: True, timeout=2)
    monitor.status = 500
    with caplog.at_level(logging.INFO, logger="adminbot.service.uptime"):
        for _ in range(3):
            assert not await ping.tick()
        monitor.status = 200
        assert await ping.tick()
        monitor.status = 503
        assert not await ping.tick()
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 2
    assert "secret-uuid" not in caplog.text  # the push URL's path is its secret


async def test_an_unreachable_monitor_is_not_fatal() -> None:
    ping = UptimePing("http://127.0.0.1:9/ping", lambda: True, timeout=0.5)
    assert await ping.tick() is False


async def test_adminbot_pings_every_check_period_and_stops_when_its_tailer_dies(
    tmp_path: Path, fake_telegram: FakeTelegram, monitor: PingServer
) -> None:
    config = make_config(tmp_path, fake_telegram, f'[heartbeat]\nurl = "{monitor.url}"\n')
    periods = Periods(delivery_backoff=FAST.delivery_backoff, drain=FAST.drain, check=0.1)
    async with running_bot(config, checks=[], periods=periods) as (_, runtime):
        await eventually(lambda: monitor.pings >= 3)
        runtime.monitor.tailer.stop()  # the tailer thread dies
        await eventually(lambda: not runtime.monitor.tailer_alive())
        stopped_at = monitor.pings
        await asyncio.sleep(0.6)  # six check periods: proving an absence takes waiting
    assert monitor.pings <= stopped_at + 1  # at most one ping already in flight
