"""HealthServer over real sockets on 127.0.0.1: urllib and raw streams as clients."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import Message

import pytest
from prometheus_client.parser import text_string_to_metric_families

from adminbot.service.httpapi import HealthServer
from adminbot.service.metrics import Metrics


@dataclass
class World:
    """What the integrator would own: health parts and the numbers behind the gauges."""

    parts: dict[str, tuple[bool, str]] = field(default_factory=dict)
    outbox: int = 0
    incidents: dict[tuple[str, str], int] = field(default_factory=dict)
    checks: dict[str, str] = field(default_factory=dict)


@dataclass
class Running:
    server: HealthServer
    world: World
    metrics: Metrics

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    world = World(parts={"tailer": (True, "2 files followed"), "store": (True, "writable")})
    metrics = Metrics(
        incidents=lambda: world.incidents,
        outbox_depth=lambda: world.outbox,
        check_states=lambda: world.checks,
    )
    server = HealthServer(
        "127.0.0.1", 0, lambda: world.parts, metrics, read_timeout=0.5, max_request_bytes=4096
    )
    await server.start()
    try:
        yield Running(server, world, metrics)
    finally:
        await server.stop()


def _fetch(url: str) -> tuple[int, Message, bytes]:
    """A real HTTP client; HTTP errors are answers too. Header names are case-insensitive."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


async def _raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are and read the answer until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split(" ")[1]), headers, body


async def test_port_zero_listens_on_a_free_port(running: Running) -> None:
    assert running.server.port > 0


async def test_healthz_is_200_with_every_part_when_all_are_ok(running: Running) -> None:
    status, headers, body = await asyncio.to_thread(_fetch, f"{running.base}/healthz")

    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {
        "status": "ok",
        "parts": {
            "tailer": {"ok": True, "detail": "2 files followed"},
            "store": {"ok": True, "detail": "writable"},
        },
        "failing": [],
    }


async def test_healthz_is_503_naming_the_failing_part_until_it_recovers(
    running: Running,
) -> None:
    running.world.parts["telegram"] = (False, "getMe timed out 3 times")

    status, _, body = await asyncio.to_thread(_fetch, f"{running.base}/healthz")

    assert status == 503
    answer = json.loads(body)
    assert answer["status"] == "failing"
    assert answer["failing"] == ["telegram"]
    assert answer["parts"]["telegram"] == {"ok": False, "detail": "getMe timed out 3 times"}

    running.world.parts["telegram"] = (True, "getMe ok")
    status, _, body = await asyncio.to_thread(_fetch, f"{running.base}/healthz")

    assert status == 200
    assert json.loads(body)["status"] == "ok"


async def test_healthz_is_503_when_the_health_callable_itself_fails() -> None:
    def broken() -> dict[str, tuple[bool, str]]:
        raise RuntimeError("store closed")

    server = HealthServer("127.0.0.1", 0, broken, None)
    await server.start()
    try:
        status, _, body = await asyncio.to_thread(_fetch, f"http://127.0.0.1:{server.port}/healthz")
    finally:
        await server.stop()

    assert status == 503
    assert json.loads(body)["failing"] == ["health"]


async def test_metrics_parse_and_show_what_was_counted(running: Running) -> None:
    metrics = running.metrics
    metrics.lines_read("/var/log/pipeline.log", 5)
    metrics.lines_read("/var/log/pipeline.log", 7)
    metrics.lines_read("/var/log/botapi.log", 1)
    metrics.rule_matched("telegram_timeout")
    metrics.rule_matched("telegram_timeout")
    metrics.rule_matched("disk_full")
    metrics.action("chown", "ok")
    metrics.action("restart_container", "failed")
    metrics.action("restart_container", "failed")
    metrics.delivered(0.4)
    running.world.outbox = 4
    running.world.incidents = {("disk_full", "open"): 1, ("telegram_timeout", "resolved"): 3}
    running.world.checks = {"disk": "warning", "botapi": "critical", "container": "ok"}

    status, headers, body = await asyncio.to_thread(_fetch, f"{running.base}/metrics")

    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode("utf-8"))
        for sample in family.samples
    }
    assert samples[("adminbot_lines_read_total", (("file", "/var/log/pipeline.log"),))] == 12.0
    assert samples[("adminbot_lines_read_total", (("file", "/var/log/botapi.log"),))] == 1.0
    assert samples[("adminbot_rule_matches_total", (("rule", "telegram_timeout"),))] == 2.0
    assert samples[("adminbot_rule_matches_total", (("rule", "disk_full"),))] == 1.0
    assert samples[("adminbot_actions_total", (("kind", "chown"), ("result", "ok")))] == 1.0
    failed = (("kind", "restart_container"), ("result", "failed"))
    assert samples[("adminbot_actions_total", failed)] == 2.0
    assert samples[("adminbot_alert_delivery_seconds_count", ())] == 1.0
    assert samples[("adminbot_outbox_depth", ())] == 4.0
    assert samples[("adminbot_incidents", (("rule", "disk_full"), ("state", "open")))] == 1.0
    resolved = (("rule", "telegram_timeout"), ("state", "resolved"))
    assert samples[("adminbot_incidents", resolved)] == 3.0
    assert samples[("adminbot_check_state", (("check", "disk"),))] == 1.0
    assert samples[("adminbot_check_state", (("check", "botapi"),))] == 2.0
    assert samples[("adminbot_check_state", (("check", "container"),))] == 0.0


async def test_scrape_time_gauges_follow_the_state_between_scrapes(running: Running) -> None:
    running.world.outbox = 2
    first = await asyncio.to_thread(_fetch, f"{running.base}/metrics")
    running.world.outbox = 0
    second = await asyncio.to_thread(_fetch, f"{running.base}/metrics")

    assert b"adminbot_outbox_depth 2.0" in first[2]
    assert b"adminbot_outbox_depth 0.0" in second[2]


async def test_metrics_is_404_when_no_metrics_were_given() -> None:
    server = HealthServer("127.0.0.1", 0, dict, None)
    await server.start()
    try:
        status, _, _ = await asyncio.to_thread(_fetch, f"http://127.0.0.1:{server.port}/metrics")
    finally:
        await server.stop()

    assert status == 404


async def test_unknown_path_is_404(running: Running) -> None:
    status, _, _ = await asyncio.to_thread(_fetch, f"{running.base}/admin")

    assert status == 404


async def test_post_is_405_and_says_what_is_allowed(running: Running) -> None:
    request = b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\na=1"

    status, headers, _ = await _raw(running.server.port, request)

    assert status == 405
    assert headers["allow"] == "GET, HEAD"


async def test_head_sends_the_headers_without_the_body(running: Running) -> None:
    status, headers, body = await _raw(
        running.server.port, b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    )

    assert status == 200
    assert int(headers["content-length"]) > 0
    assert body == b""


async def test_query_string_is_ignored(running: Running) -> None:
    status, _, _ = await asyncio.to_thread(_fetch, f"{running.base}/healthz?verbose=1")

    assert status == 200


async def test_a_stalled_client_does_not_block_another(running: Running) -> None:
    stalled_reader, stalled_writer = await asyncio.open_connection("127.0.0.1", running.server.port)
    stalled_writer.write(b"GET /heal")
    await stalled_writer.drain()
    started = time.monotonic()

    status, _, _ = await asyncio.to_thread(_fetch, f"{running.base}/healthz")

    assert status == 200
    assert time.monotonic() - started < 0.4  # served before the stalled one timed out
    answer = await asyncio.wait_for(stalled_reader.read(), 3)
    assert answer.startswith(b"HTTP/1.1 408 ")
    stalled_writer.close()
    await stalled_writer.wait_closed()


async def test_an_oversized_request_is_refused(running: Running) -> None:
    request = b"GET /healthz HTTP/1.1\r\nX-Junk: " + b"a" * 10_000 + b"\r\n\r\n"

    status, _, _ = await _raw(running.server.port, request)

    assert status == 431


async def test_garbage_is_a_bad_request(running: Running) -> None:
    status, _, _ = await _raw(running.server.port, b"HELLO\r\n\r\n")

    assert status == 400


async def test_stop_does_not_wait_for_a_stalled_client() -> None:
    server = HealthServer("127.0.0.1", 0, dict, None, read_timeout=30)
    await server.start()
    _, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /")
    await writer.drain()
    await asyncio.sleep(0.05)
    started = time.monotonic()

    await server.stop()

    assert time.monotonic() - started < 2
    writer.close()
