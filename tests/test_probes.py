"""Health probes: thresholds, real HTTP against a tiny server, real child processes."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from adminbot.checks.base import CheckError, CheckReason, CheckResult, CheckState, run_checks
from adminbot.checks.botapi import BotApiCheck
from adminbot.checks.container import ContainerCheck
from adminbot.checks.disk import DiskCheck
from adminbot.checks.process import ProcessCheck
from adminbot.checks.staleness import StalenessCheck

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TOKEN = "123456789:AAFakeTokenUsedOnlyInTests_abcdefgh"
GB = 1024**3


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


# --- disk ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    total: int
    used: int
    free: int
    percent: float


def reader_returning(usage: Usage) -> Any:
    def read(path: str) -> Usage:
        assert path == "/srv/descargas"
        return usage

    return read


def usage_at(percent: float, total: int = 100 * GB) -> Usage:
    used = int(total * percent / 100)
    return Usage(total=total, used=used, free=total - used, percent=percent)


def disk(usage: Usage, **limits: Any) -> DiskCheck:
    return DiskCheck(
        "downloads disk",
        Path("/srv/descargas"),
        usage_reader=reader_returning(usage),
        clock=FakeClock(),
        **limits,
    )


async def test_disk_below_every_limit_is_ok_and_says_how_full() -> None:
    result = await disk(usage_at(50)).run()

    assert result.state is CheckState.OK
    assert result.summary == "/srv/descargas 50% used, 50.0 GB free"
    assert result.checked_at == T0
    assert ("size", "100.0 GB") in result.details


async def test_disk_over_warn_percent_warns_and_names_the_limit() -> None:
    usage = Usage(total=91 * GB, used=int(82.8 * GB), free=int(8.2 * GB), percent=91)

    result = await disk(usage).run()

    assert result.state is CheckState.WARNING
    assert result.summary == "/srv/descargas 91% used, 8.2 GB free (warning at 85%)"


async def test_disk_reaching_crit_percent_is_critical() -> None:
    result = await disk(usage_at(95)).run()

    assert result.state is CheckState.CRITICAL
    assert "critical at 95%" in result.summary


async def test_disk_with_little_free_space_is_critical_even_at_a_low_percent() -> None:
    big_but_nearly_full = usage_at(50, total=8 * GB)  # 4 GB free

    result = await disk(big_but_nearly_full, warn_free_bytes=20 * GB, crit_free_bytes=5 * GB).run()

    assert result.state is CheckState.CRITICAL
    assert result.summary.endswith("(critical below 5.0 GB)")


async def test_disk_free_bytes_warning_applies_alone() -> None:
    result = await disk(
        usage_at(50), warn_percent=None, crit_percent=None, warn_free_bytes=60 * GB
    ).run()

    assert result.state is CheckState.WARNING
    assert "warning below 60.0 GB" in result.summary


async def test_disk_worse_of_percent_and_free_bytes_wins() -> None:
    percent_warns_bytes_crit = await disk(usage_at(90), crit_free_bytes=15 * GB).run()
    percent_crits_bytes_warn = await disk(usage_at(96), warn_free_bytes=5 * GB).run()

    assert percent_warns_bytes_crit.state is CheckState.CRITICAL
    assert percent_crits_bytes_warn.state is CheckState.CRITICAL


async def test_disk_missing_path_is_unknown_with_a_clear_reason(tmp_path: Path) -> None:
    missing = tmp_path / "not-mounted"

    result = await DiskCheck("downloads disk", missing).run()

    assert result.state is CheckState.UNKNOWN
    assert result.summary == f"{missing} does not exist (not mounted, or wrong path?)"


async def test_disk_real_reader_reports_an_existing_folder(tmp_path: Path) -> None:
    result = await DiskCheck("tmp", tmp_path, warn_percent=None, crit_percent=None).run()

    assert result.state is CheckState.OK
    assert result.summary.startswith(f"{tmp_path} ")


def test_disk_refuses_a_warning_limit_beyond_the_critical_one() -> None:
    with pytest.raises(ValueError, match="above crit"):
        DiskCheck("d", Path("/"), warn_percent=96, crit_percent=95)
    with pytest.raises(ValueError, match="below crit"):
        DiskCheck("d", Path("/"), warn_free_bytes=1, crit_free_bytes=2)


async def test_disk_hung_read_times_out_and_is_not_started_twice() -> None:
    release = threading.Event()
    calls = []

    def hung_reader(path: str) -> Usage:
        calls.append(path)
        release.wait(5)
        return usage_at(10)

    check = DiskCheck("nfs", Path("/srv/descargas"), usage_reader=hung_reader)
    try:
        [first] = await run_checks([check], timeout=0.1)
        second = await check.run()
    finally:
        release.set()

    assert first.state is CheckState.UNKNOWN
    assert first.summary == "no result within 0.1s"
    assert second.state is CheckState.UNKNOWN
    assert "previous usage read has not returned" in second.summary
    assert len(calls) == 1
    assert (await eventually_ok(check)).state is CheckState.OK


async def eventually_ok(check: DiskCheck) -> CheckResult:
    deadline = time.monotonic() + 2
    while True:
        result = await check.run()
        if result.state is CheckState.OK or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.01)


# --- Bot API server --------------------------------------------------------------------------


class TinyBotApi:
    """A stand-in for the local Bot API server: answers every request with the reply set."""

    def __init__(self) -> None:
        self.status = 200
        self.body: dict[str, Any] = {"ok": True, "result": {"id": 1, "username": "pipeline_bot"}}
        self.hang = False
        self.raw: bytes | None = None  # a body that is not the Bot API's JSON
        self.paths: list[str] = []
        self._release = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.paths.append(head.split(b" ")[1].decode())
            if self.hang:
                await self._release.wait()
                return
            body = self.raw if self.raw is not None else json.dumps(self.body).encode()
            writer.write(
                f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def bot_api() -> AsyncIterator[TinyBotApi]:
    server = TinyBotApi()
    await server.start()
    yield server
    await server.stop()


def assert_token_hidden(result: CheckResult) -> None:
    shown = result.summary + repr(result.details)
    assert TOKEN not in shown
    assert TOKEN.split(":")[1] not in shown


async def test_bot_api_ok_then_502_then_refused_once_the_server_stops(
    bot_api: TinyBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="adminbot")
    check = BotApiCheck("bot api", bot_api.base_url, TOKEN, timeout=2)
    where = f"127.0.0.1:{bot_api.port}"

    answering = await check.run()
    bot_api.status, bot_api.body = 502, {"error": "bad gateway"}
    bad_gateway = await check.run()
    await bot_api.stop()
    refused = await check.run()

    assert bot_api.paths[0] == f"/bot{TOKEN}/getMe"
    assert answering.state is CheckState.OK
    assert answering.summary == f"Bot API server {where} OK, bot @pipeline_bot"
    assert bad_gateway.state is CheckState.CRITICAL
    assert bad_gateway.summary == f"Bot API server {where} answered HTTP 502"
    assert refused.state is CheckState.CRITICAL
    assert refused.summary.startswith(f"Bot API server {where} unreachable: ")
    for result in (answering, bad_gateway, refused):
        assert_token_hidden(result)
    assert TOKEN not in caplog.text


async def test_bot_api_rejecting_the_token_is_a_warning_that_says_so(bot_api: TinyBotApi) -> None:
    bot_api.status = 401
    bot_api.body = {"ok": False, "error_code": 401, "description": "Unauthorized"}

    result = await BotApiCheck("bot api", bot_api.base_url, TOKEN).run()

    assert result.state is CheckState.WARNING
    assert "is up but rejects the bot token (401 Unauthorized)" in result.summary
    assert_token_hidden(result)


async def test_bot_api_silent_server_is_critical_after_the_timeout(bot_api: TinyBotApi) -> None:
    bot_api.hang = True

    started = time.monotonic()
    result = await BotApiCheck("bot api", bot_api.base_url, TOKEN, timeout=0.2).run()

    assert time.monotonic() - started < 2
    assert result.state is CheckState.CRITICAL
    assert result.summary.endswith("gave no answer within 0.2s")


async def test_bot_api_unexpected_reply_is_a_warning_quoting_the_server(
    bot_api: TinyBotApi,
) -> None:
    bot_api.status = 404
    bot_api.body = {"ok": False, "error_code": 404, "description": f"Not Found: {TOKEN}"}

    result = await BotApiCheck("bot api", bot_api.base_url, TOKEN).run()

    assert result.state is CheckState.WARNING
    assert result.summary.endswith("answered HTTP 404: Not Found: <token>")
    assert_token_hidden(result)


async def test_bot_api_without_a_token_only_checks_that_the_server_answers(
    bot_api: TinyBotApi,
) -> None:
    bot_api.status = 404

    result = await BotApiCheck("bot api", bot_api.base_url, None).run()

    assert bot_api.paths == ["/bot/getMe"]
    assert result.state is CheckState.OK
    assert "no token configured: getMe not checked" in result.summary


@pytest.mark.parametrize("token", [TOKEN, None])
@pytest.mark.parametrize("status", [200, 404])
async def test_a_body_that_is_not_the_bot_apis_json_means_down(
    bot_api: TinyBotApi, token: str | None, status: int
) -> None:
    bot_api.status, bot_api.raw = status, b"<html><body>proxy error</body></html>"
    check = BotApiCheck("bot api", bot_api.base_url, token)

    result = await check.run()

    assert result.state is CheckState.CRITICAL
    assert result.reason is CheckReason.API_NOT_BOT_API
    assert await check.is_up() is False


async def test_without_a_token_the_servers_json_refusal_means_up(bot_api: TinyBotApi) -> None:
    bot_api.status = 404
    bot_api.body = {"ok": False, "error_code": 404, "description": "Not Found"}
    check = BotApiCheck("bot api", bot_api.base_url, None)

    assert await check.is_up() is True
    assert bot_api.paths == ["/bot/getMe"]  # no token of anyone's is sent


async def test_is_up_is_false_on_5xx_and_when_nothing_listens(bot_api: TinyBotApi) -> None:
    check = BotApiCheck("bot api", bot_api.base_url, None, timeout=1)
    bot_api.status, bot_api.body = 502, {"ok": False}
    assert await check.is_up() is False
    await bot_api.stop()
    assert await check.is_up() is False


def client_raising(exc_type: type[Exception]) -> Any:
    """A client whose transport fails with an error quoting the URL, token included."""

    def fail(request: httpx.Request) -> httpx.Response:
        if issubclass(exc_type, httpx.RequestError):
            raise exc_type(f"cannot reach {request.url}", request=request)
        raise exc_type(f"unexpected failure at {request.url}")

    return lambda: httpx.AsyncClient(transport=httpx.MockTransport(fail))


async def test_bot_api_redacts_the_token_from_connection_errors() -> None:
    check = BotApiCheck(
        "bot api",
        "http://127.0.0.1:8081/bot",
        TOKEN,
        client_factory=client_raising(httpx.ConnectError),
    )

    result = await check.run()

    assert result.state is CheckState.CRITICAL
    assert "cannot reach http://127.0.0.1:8081/bot<token>/getMe" in result.summary
    assert_token_hidden(result)


async def test_bot_api_unexpected_error_reaches_run_checks_without_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="adminbot")
    check = BotApiCheck(
        "bot api", "http://127.0.0.1:8081/bot", TOKEN, client_factory=client_raising(RuntimeError)
    )

    with pytest.raises(CheckError, match="<token>"):
        await check.run()
    [result] = await run_checks([check])

    assert result.state is CheckState.UNKNOWN
    assert_token_hidden(result)
    assert "check failed: RuntimeError: unexpected failure" in result.summary
    assert TOKEN not in caplog.text


# --- Docker container ------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeContainerState:
    name: str
    status: str
    running: bool
    started_at: datetime | str | None = None
    health: str | None = None


class FakeDockerError(Exception):
    """Shaped like adminbot.actions.docker.DockerError: a message and a `permanent` flag."""

    def __init__(self, message: str, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class FakeDockerEngine:
    """Stands in for the Docker engine, which does not run on the test machine."""

    def __init__(self, *states: FakeContainerState, error: Exception | None = None) -> None:
        self.containers = {state.name: state for state in states}
        self.error = error

    async def inspect(self, name: str) -> FakeContainerState:
        if self.error is not None:
            raise self.error
        if name not in self.containers:
            raise FakeDockerError(f"No such container: {name}", permanent=True)
        return self.containers[name]


@pytest.mark.parametrize(
    ("status", "running", "health", "state", "summary"),
    [
        ("running", True, "healthy", CheckState.OK, "container bot-api is running (healthy)"),
        ("running", True, None, CheckState.OK, "container bot-api is running"),
        ("running", True, "unhealthy", CheckState.WARNING, "is running but unhealthy"),
        ("restarting", True, None, CheckState.WARNING, "is restarting (crash loop?)"),
        ("exited", False, None, CheckState.CRITICAL, "container bot-api is exited"),
        ("created", False, None, CheckState.CRITICAL, "was created but never started"),
    ],
)
async def test_container_state_maps_to_check_state(
    status: str, running: bool, health: str | None, state: CheckState, summary: str
) -> None:
    engine = FakeDockerEngine(FakeContainerState("bot-api", status, running, T0, health))

    result = await ContainerCheck("container", engine, "bot-api", clock=FakeClock()).run()

    assert result.state is state
    assert summary in result.summary
    assert ("status", status) in result.details


async def test_missing_container_is_critical_whether_reported_or_raised() -> None:
    reported = FakeDockerEngine(FakeContainerState("bot-api", "missing", running=False))
    raising = FakeDockerEngine()

    results = [await ContainerCheck("container", e, "bot-api").run() for e in (reported, raising)]

    assert [r.state for r in results] == [CheckState.CRITICAL, CheckState.CRITICAL]
    assert {r.summary for r in results} == {"container bot-api does not exist"}


async def test_container_start_time_from_docker_text_is_shown() -> None:
    started = "2024-05-01T11:58:02.123456789Z"
    engine = FakeDockerEngine(FakeContainerState("bot-api", "running", True, started))

    result = await ContainerCheck("container", engine, "bot-api").run()

    assert ("started", started) in result.details


async def test_unreachable_docker_engine_is_unknown_not_critical() -> None:
    down = FakeDockerError(
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock", False
    )
    engines = [
        FakeDockerEngine(error=down),
        FakeDockerEngine(error=ConnectionRefusedError(111, "x")),
    ]

    results = [await ContainerCheck("container", e, "bot-api").run() for e in engines]

    assert [r.state for r in results] == [CheckState.UNKNOWN, CheckState.UNKNOWN]
    assert results[0].summary.startswith("cannot ask Docker about bot-api: Cannot connect")


async def test_container_check_lets_its_own_bugs_reach_run_checks() -> None:
    buggy = FakeDockerEngine(error=KeyError("State"))

    [result] = await run_checks([ContainerCheck("container", buggy, "bot-api")])

    assert result.state is CheckState.UNKNOWN
    assert result.summary == "check failed: 'State'"


# --- process ---------------------------------------------------------------------------------


@pytest.fixture
def sleeper() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A child `sleep` with a duration unique to this run, so its command line is too."""
    marker = str(random.randint(10**8, 10**9))
    child = subprocess.Popen(["sleep", marker])
    yield child, marker
    child.kill()
    child.wait()


async def test_process_found_by_pid_file_reports_pid_cpu_and_rss(tmp_path: Path) -> None:
    pid_file = tmp_path / "bot.pid"
    pid_file.write_text(f"{os.getpid()}\n")
    check = ProcessCheck("pipeline", pid_file=pid_file)

    result = await check.run()
    info = await check.find()

    assert result.state is CheckState.OK
    assert result.summary.startswith(f"pid {os.getpid()} (")
    assert "CPU " in result.summary
    assert "RSS " in result.summary
    assert info is not None
    assert info.pid == os.getpid()
    assert info.rss is not None
    assert info.rss > 0
    assert info.started_at < datetime.now(UTC)


async def test_process_found_by_command_line_then_critical_once_killed(
    sleeper: tuple[subprocess.Popen[bytes], str],
) -> None:
    child, marker = sleeper
    check = ProcessCheck("pipeline", cmdline_contains=f"sleep {marker}")

    alive = await check.run()
    child.kill()
    child.wait()
    gone = await check.run()

    assert alive.state is CheckState.OK
    assert alive.summary.startswith(f"pid {child.pid} (sleep) up ")
    assert gone.state is CheckState.CRITICAL
    assert gone.summary == f"no process with 'sleep {marker}' in its command line is running"
    assert not await check.alive()


async def test_stale_pid_file_is_critical_and_says_so(
    tmp_path: Path, sleeper: tuple[subprocess.Popen[bytes], str]
) -> None:
    child, _ = sleeper
    child.kill()
    child.wait()
    pid_file = tmp_path / "bot.pid"
    pid_file.write_text(str(child.pid))

    result = await ProcessCheck("pipeline", pid_file=pid_file).run()

    assert result.state is CheckState.CRITICAL
    assert result.summary == f"stale pid file {pid_file}: pid {child.pid} is not running"


async def test_pid_file_naming_another_program_is_stale(tmp_path: Path) -> None:
    pid_file = tmp_path / "bot.pid"
    pid_file.write_text(str(os.getpid()))

    check = ProcessCheck("pipeline", pid_file=pid_file, cmdline_contains="main.py --no-such")
    result = await check.run()

    assert result.state is CheckState.CRITICAL
    assert result.summary.startswith(f"stale pid file {pid_file}: pid {os.getpid()} is now ")


async def test_zombie_process_is_critical(
    tmp_path: Path, sleeper: tuple[subprocess.Popen[bytes], str]
) -> None:
    child, _ = sleeper
    os.kill(child.pid, signal.SIGKILL)  # not reaped: it stays a zombie until child.wait()
    deadline = time.monotonic() + 2
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    pid_file = tmp_path / "bot.pid"
    pid_file.write_text(str(child.pid))
    check = ProcessCheck("pipeline", pid_file=pid_file)

    result = await check.run()

    assert result.state is CheckState.CRITICAL
    assert result.summary == f"pid {child.pid} (sleep) is a zombie: it exited and was not reaped"
    assert await check.find() is None


async def test_missing_or_garbled_pid_file(tmp_path: Path) -> None:
    missing = await ProcessCheck("p", pid_file=tmp_path / "none.pid").run()
    garbled_file = tmp_path / "garbled.pid"
    garbled_file.write_text("hello")
    garbled = await ProcessCheck("p", pid_file=garbled_file).run()

    assert missing.state is CheckState.CRITICAL
    assert "is missing" in missing.summary
    assert garbled.state is CheckState.UNKNOWN
    assert "not a pid" in garbled.summary


class FakeProcess:
    def __init__(self, pid: int, cmdline: list[str]) -> None:
        self.info = {"pid": pid, "name": "python3", "cmdline": cmdline, "status": "running"}
        self.info["create_time"] = 0.0


async def test_the_monitor_never_counts_as_the_watched_process() -> None:
    def only_me(attrs: list[str]) -> list[FakeProcess]:
        return [FakeProcess(os.getpid(), ["python3", "-m", "adminbot", "--watch", "main.py"])]

    result = await ProcessCheck(
        "p",
        cmdline_contains="main.py",
        process_iter=only_me,  # type: ignore[arg-type]  # only `info` is read: the monitor's own pid is skipped
    ).run()

    assert result.state is CheckState.CRITICAL


def test_process_check_needs_a_way_to_find_the_process() -> None:
    with pytest.raises(ValueError, match="process_name, cmdline_contains or pid_file"):
        ProcessCheck("p")


# --- log staleness ---------------------------------------------------------------------------


def staleness(clock: FakeClock, last: datetime | None, alive: bool | None = True) -> StalenessCheck:
    async def process_alive() -> bool:
        return bool(alive)

    return StalenessCheck(
        "pipeline log",
        lambda: last,
        timedelta(minutes=10),
        process_alive=None if alive is None else process_alive,
        clock=clock,
    )


async def test_recent_log_line_is_ok() -> None:
    clock = FakeClock()
    check = staleness(clock, last=T0 - timedelta(minutes=3))

    result = await check.run()

    assert result.state is CheckState.OK
    assert result.reason is CheckReason.LOG_FRESH
    assert result.facts["quiet"] == timedelta(minutes=3)
    assert result.summary == "last line 0:03:00 ago"


async def test_silent_log_while_process_alive_warns() -> None:
    clock = FakeClock()
    check = staleness(clock, last=T0 - timedelta(minutes=12))

    result = await check.run()

    assert result.state is CheckState.WARNING
    assert result.reason is CheckReason.LOG_SILENT_ALIVE
    assert result.facts == {"quiet": timedelta(minutes=12), "limit": timedelta(minutes=10)}
    assert result.summary == "no new line for 0:12:00 (limit 0:10:00) while the process is alive"


async def test_silent_log_of_a_dead_process_is_left_to_the_process_check() -> None:
    clock = FakeClock()
    check = staleness(clock, last=T0 - timedelta(minutes=30), alive=False)

    result = await check.run()

    assert result.state is CheckState.UNKNOWN
    assert "the process is not running: see the process check" in result.summary


async def test_never_seen_line_is_unknown_until_max_silence_since_start() -> None:
    clock = FakeClock()
    check = staleness(clock, last=None)

    clock.advance(minutes=9)
    early = await check.run()
    clock.advance(minutes=2)
    late = await check.run()

    assert early.state is CheckState.UNKNOWN
    assert early.summary.startswith("no line seen yet")
    assert late.state is CheckState.WARNING
    assert late.reason is CheckReason.LOG_NEVER_ALIVE
    assert late.facts["waited"] == timedelta(minutes=11)
    assert late.summary.startswith("no line at all in 0:11:00 of watching")


async def test_silence_without_a_process_probe_still_warns() -> None:
    result = await staleness(FakeClock(), last=T0 - timedelta(hours=1), alive=None).run()

    assert result.state is CheckState.WARNING
    assert result.reason is CheckReason.LOG_SILENT
    assert result.facts == {"quiet": timedelta(hours=1), "limit": timedelta(minutes=10)}
    assert result.summary == "no new line for 1:00:00 (limit 0:10:00)"
