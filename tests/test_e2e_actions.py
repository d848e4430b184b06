"""End to end for fixes and health checks: real Application, real actions, real files.

Faked only at the outer edges: Telegram (tests/fake_telegram.py), the local Bot API
server (a second fake on 127.0.0.1) and the Docker engine (tests/fake_docker.py on a
unix socket) — no Docker engine runs where these tests run.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from adminbot.checks.disk import DiskCheck
from tests.fake_docker import FakeDockerEngine
from tests.fake_telegram import FakeTelegram, SentMessage
from tests.harness import (
    ADMIN,
    FAST,
    append,
    eventually,
    make_config,
    pipeline_log,
    running_bot,
)

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")

PERMISSION = (
    "2026-11-29 10:00:01,123 ERROR descargas: PermissionError: [Errno 13] "
    "Permission denied: '{path}'"
)
TIMEOUT = "2026-11-29 10:00:03,000 ERROR descargas: Tiempo de espera agotado file_id={file_id}"

FLAKY_DOWNLOAD = """
import pathlib, sys, time
counter = pathlib.Path(sys.argv[1])
attempts = counter.read_text().splitlines() if counter.exists() else []
attempts.append(f"{time.monotonic()} {sys.argv[2]}")
counter.write_text("\\n".join(attempts))
sys.exit(0 if len(attempts) >= 3 else 1)
"""

CHECK_PERIOD = 0.2
CHECK_FAST = replace(FAST, check=CHECK_PERIOD)
"""Health checks every 0.2 s instead of every 30 s: two periods still bound the alert."""


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    folder = tmp_path / "descargas"
    folder.mkdir()
    return folder


def alert_for(fake: FakeTelegram, rule: str) -> SentMessage:
    found = [m for m in fake.messages(ADMIN) if f"· {rule}</b>" in m.raw_text]
    assert found, f"no {rule} alert among {[m.text[:40] for m in fake.messages(ADMIN)]}"
    return found[-1]


@needs_root
async def test_chown_tapped_changes_the_owner_and_the_alert_tells_who_and_what(
    tmp_path: Path, fake_telegram: FakeTelegram, downloads: Path
) -> None:
    video = downloads / "serie" / "v1.mp4"
    video.parent.mkdir()
    video.write_bytes(b"video")
    os.chown(video, 12345, 12345)
    toml = f'[actions]\nallowed_folders = ["{downloads}"]\nowner = "0"\ngroup = "0"\n'
    config = make_config(tmp_path, fake_telegram, toml)
    log = pipeline_log(tmp_path)
    async with running_bot(config):
        append(log, PERMISSION.format(path=video))
        await fake_telegram.await_call("sendMessage", lambda c: "permisos" in c.params["text"])
        alert = alert_for(fake_telegram, "permisos")
        chown = dict(fake_telegram.buttons(ADMIN, alert.message_id))["🔑 Chown"]
        fake_telegram.tap(ADMIN, ADMIN, alert.message_id, chown)
        answer = await fake_telegram.await_call("answerCallbackQuery")
        assert "Running" in answer.params["text"]
        await eventually(lambda: "resolved" in alert_for(fake_telegram, "permisos").text)
        assert video.stat().st_uid == 0
        final = alert_for(fake_telegram, "permisos")
        assert "✅" in final.text
        assert "@user4242" in final.text
        assert "chown" in final.text
        assert fake_telegram.buttons(ADMIN, final.message_id) == []


async def test_timeout_with_auto_policy_retries_with_backoff_then_reports_success(
    tmp_path: Path, fake_telegram: FakeTelegram, downloads: Path
) -> None:
    script = tmp_path / "flaky_download.py"
    script.write_text(FLAKY_DOWNLOAD, encoding="utf-8")
    attempts = tmp_path / "attempts.txt"
    toml = (
        "backoff_delays = [0.2, 0.4, 0.8]\n"
        "[actions]\n"
        f'allowed_folders = ["{downloads}"]\n'
        f'retry_command = ["{sys.executable}", "{script}", "{attempts}", "{{file_id}}"]\n'
    )
    config = make_config(tmp_path, fake_telegram, toml)
    log = pipeline_log(tmp_path)
    async with running_bot(config):
        append(log, TIMEOUT.format(file_id="BAACAgEAAxkBAAI123"))
        await fake_telegram.await_call(
            "sendMessage", lambda c: "· timeout" in c.params["text"], timeout=10
        )
        report = alert_for(fake_telegram, "timeout")
        assert "resolved" in report.text
        assert "automatic" in report.text
        assert "✅" in report.text
    runs = [line.split() for line in attempts.read_text().splitlines()]
    assert [file_id for _, file_id in runs] == ["BAACAgEAAxkBAAI123"] * 3
    gaps = [float(b[0]) - float(a[0]) for a, b in itertools.pairwise(runs)]
    assert gaps[0] >= 0.2
    assert gaps[1] >= 0.4
    sent = [c for c in fake_telegram.calls("sendMessage") if "· timeout" in c.params["text"]]
    assert len(sent) == 1  # one report, no "open" alert before it


@pytest.fixture
def local_bot_api() -> Iterator[FakeTelegram]:
    """The local Telegram Bot API server the pipeline uses, played by a second fake."""
    with FakeTelegram() as server:
        yield server


@pytest.fixture
def docker_engine(tmp_path: Path) -> Iterator[FakeDockerEngine]:
    with FakeDockerEngine(tmp_path / "docker.sock", restart_delay=0.1) as engine:
        engine.add("telegram-bot-api")
        yield engine


async def test_bot_api_server_down_alerts_offers_restart_and_reports_recovery(
    tmp_path: Path,
    fake_telegram: FakeTelegram,
    local_bot_api: FakeTelegram,
    docker_engine: FakeDockerEngine,
) -> None:
    toml = (
        "[actions]\n"
        'container = "telegram-bot-api"\n'
        f'docker_socket = "{tmp_path / "docker.sock"}"\n'
        f'bot_api_url = "{local_bot_api.base_url}"\n'
    )
    config = make_config(tmp_path, fake_telegram, toml)
    async with running_bot(config, periods=CHECK_FAST) as (_, runtime):
        await eventually(lambda: runtime.health.rounds >= 1)
        local_bot_api.stop()
        stopped = time.monotonic()
        call = await fake_telegram.await_call(
            "sendMessage", lambda c: "servidor_caido" in c.params["text"], timeout=5
        )
        assert call.time - stopped < 2 * CHECK_PERIOD + 1
        alert = alert_for(fake_telegram, "servidor_caido")
        assert "CRITICAL" in alert.text
        labels = [text for text, _ in fake_telegram.buttons(ADMIN, alert.message_id)]
        assert "♻️ Restart container" in labels
        local_bot_api.start()
        await fake_telegram.await_call(
            "sendMessage", lambda c: "recovered" in c.params["text"], timeout=5
        )
        await eventually(lambda: "resolved" in alert_for(fake_telegram, "servidor_caido").text)


async def test_restart_container_tapped_restarts_it_and_verifies_the_server(
    tmp_path: Path,
    fake_telegram: FakeTelegram,
    local_bot_api: FakeTelegram,
    docker_engine: FakeDockerEngine,
) -> None:
    toml = (
        "verificacion_periodica = 30\n"
        "[actions]\n"
        'container = "telegram-bot-api"\n'
        f'docker_socket = "{tmp_path / "docker.sock"}"\n'
        f'bot_api_url = "{local_bot_api.base_url}"\n'
    )
    config = make_config(tmp_path, fake_telegram, toml)
    log = pipeline_log(tmp_path)
    async with running_bot(config, periods=replace(FAST, verify=0.0)) as (_, runtime):
        local_bot_api.stop()
        append(
            log,
            "2026-11-29 10:00:04,000 ERROR bot: httpx.ConnectError: [Errno 111] "
            f"Connection refused ({local_bot_api.base_url})",
        )
        await fake_telegram.await_call(
            "sendMessage", lambda c: "servidor_caido" in c.params["text"], timeout=5
        )
        alert = alert_for(fake_telegram, "servidor_caido")
        restart = dict(fake_telegram.buttons(ADMIN, alert.message_id))["♻️ Restart container"]
        local_bot_api.start()
        fake_telegram.tap(ADMIN, ADMIN, alert.message_id, restart)
        await eventually(
            lambda: "resolved" in alert_for(fake_telegram, "servidor_caido").text, timeout=10
        )
        restarts = [r for r in docker_engine.requests if r[0] == "POST" and "restart" in r[1]]
        assert len(restarts) == 1
        assert runtime.store.audit()[-1].kind == "restart_container"


async def test_disk_thresholds_crossed_alert_once_and_recover(
    tmp_path: Path, fake_telegram: FakeTelegram, downloads: Path
) -> None:
    usage = SimpleNamespace(total=100 * 2**30, used=50 * 2**30, free=50 * 2**30, percent=50.0)
    check = DiskCheck(
        f"disk {downloads}",
        downloads,
        warn_percent=85,
        crit_percent=95,
        usage_reader=lambda _: usage,
    )
    config = make_config(tmp_path, fake_telegram)
    async with running_bot(config, checks=[check], periods=CHECK_FAST) as (_, runtime):
        await eventually(lambda: runtime.health.rounds >= 1)
        usage.percent, usage.used, usage.free = 97.0, 97 * 2**30, 3 * 2**30
        flip = await fake_telegram.await_call(
            "sendMessage", lambda c: "critical" in c.params["text"], timeout=5
        )
        assert "97% used" in flip.params["text"]
        rounds = runtime.health.rounds
        await eventually(lambda: runtime.health.rounds >= rounds + 2, timeout=5)
        flips = [c for c in fake_telegram.calls("sendMessage") if "critical" in c.params["text"]]
        assert len(flips) == 1  # on the change only, not on every tick
        usage.percent, usage.used, usage.free = 40.0, 40 * 2**30, 60 * 2**30
        await fake_telegram.await_call(
            "sendMessage", lambda c: "recovered" in c.params["text"], timeout=5
        )


async def test_a_bot_api_answering_502_is_alerted_and_not_called_recovered_until_it_answers(
    tmp_path: Path, fake_telegram: FakeTelegram, local_bot_api: FakeTelegram
) -> None:
    """The outage of the issue: getMe answered 502 for 25 s, was never alerted, and then
    "recovered" was announced while it still failed. One honest probe decides now."""
    toml = f'[actions]\nbot_api_url = "{local_bot_api.base_url}"\n'
    config = make_config(tmp_path, fake_telegram, toml)
    log = pipeline_log(tmp_path)
    periods = replace(CHECK_FAST, verify=0.1)
    async with running_bot(config, periods=periods) as (_, runtime):
        await eventually(lambda: runtime.health.rounds >= 1)
        local_bot_api.fail("getMe", status=502, times=None)  # other paths still answer
        append(
            log,
            "2026-11-29 10:00:04,000 ERROR bot: telegram.error.NetworkError: Bad Gateway "
            f"({local_bot_api.base_url})",
        )
        await fake_telegram.await_call(
            "sendMessage", lambda c: "servidor_caido" in c.params["text"], timeout=5
        )
        rounds = runtime.health.rounds
        await eventually(lambda: runtime.health.rounds >= rounds + 3, timeout=5)
        texts = [c.params["text"] for c in fake_telegram.calls("sendMessage")]
        assert not any("recovered" in text for text in texts)
        [incident] = runtime.store.incidents(rule="servidor_caido")
        assert incident.is_open
        local_bot_api.clear_failures()
        await fake_telegram.await_call(
            "sendMessage", lambda c: "recovered" in c.params["text"], timeout=5
        )
        await eventually(lambda: not runtime.store.incidents(rule="servidor_caido")[0].is_open)
