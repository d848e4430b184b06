"""Telegram unreachable at start-up delays alerts and never stops adminbot; a rejected
token stops it with one line that does not show the token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from adminbot.errors import ConfigError
from adminbot.service.lifecycle import build_service
from adminbot.service.runtime import Edges
from adminbot.store.sqlite import Store
from handlers.app import TelegramFront
from tests.fake_telegram import FakeTelegram
from tests.harness import ADMIN, FAST, append, eventually, make_config, pipeline_log

DISK_FULL = "2026-11-29 10:00:02,000 ERROR descargas: OSError: [Errno 28] No space left on device"
WRONG_TOKEN = "999999:AAwrongwrongwrongwrongwrongwrongwrong"


async def test_adminbot_starts_tails_and_queues_while_telegram_is_down_then_delivers(
    tmp_path: Path, fake_telegram: FakeTelegram, unused_tcp_port: int
) -> None:
    toml = f"[http]\nenabled = true\nport = {unused_tcp_port}\n"
    config = make_config(tmp_path, fake_telegram, toml)
    log = pipeline_log(tmp_path)
    fake_telegram.down()
    service = build_service(config, lambda r: TelegramFront(r, poll_timeout=1), Edges(periods=FAST))
    await service.start()
    try:
        front = service.front
        assert isinstance(front, TelegramFront)
        assert front.unreachable_since is not None
        append(log, DISK_FULL)
        await eventually(lambda: service.runtime.store.count_incidents() == 1)
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"http://127.0.0.1:{unused_tcp_port}/healthz")
        assert answer.status_code == 503
        assert "Telegram unreachable since" in answer.text
        assert fake_telegram.calls("sendMessage") == []
        fake_telegram.up()
        call = await fake_telegram.await_call(
            "sendMessage", lambda c: c.ok and "disco_lleno" in c.params["text"], timeout=30
        )  # the front retries with a doubling pause: a slow machine may wait several seconds
        assert call.params["chat_id"] == ADMIN
        await eventually(lambda: front.unreachable_since is None)
    finally:
        await service.stop()


async def test_a_rejected_token_is_a_configuration_error_without_the_token(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram, TELEGRAM_TOKEN=WRONG_TOKEN)
    pipeline_log(tmp_path)
    service = build_service(config, lambda r: TelegramFront(r, poll_timeout=1), Edges(periods=FAST))
    try:
        await service.start()
    except ConfigError as exc:
        assert exc.key == "TELEGRAM_TOKEN"
        assert WRONG_TOKEN not in str(exc)
    else:  # pragma: no cover - the assertion below explains
        await service.stop()
        raise AssertionError("a rejected token must stop the start")
    store = Store(config.store_path)
    assert store.outbox_depth() == 0  # no summary queued for a session that never ran
    store.close()


def test_adminbot_run_with_a_rejected_token_says_one_line_and_exits_2(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    (tmp_path / "pipeline").mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ADMINBOT", "TELEGRAM"))},
        "TELEGRAM_TOKEN": WRONG_TOKEN,
        "ADMIN_ID": str(ADMIN),
        "TELEGRAM_API_BASE_URL": fake_telegram.base_url,
        "ADMINBOT_WATCH": str(tmp_path / "pipeline" / "*.log"),
        "ADMINBOT_DATA_DIR": str(tmp_path / "data"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "adminbot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "TELEGRAM_TOKEN" in done.stderr and "rejected" in done.stderr
    written = [done.stdout, done.stderr]
    written += [p.read_text(errors="replace") for p in (tmp_path / "data").glob("*.log")]
    assert not any(WRONG_TOKEN in text for text in written)
    assert not any(WRONG_TOKEN.split(":")[1] in text for text in written)
