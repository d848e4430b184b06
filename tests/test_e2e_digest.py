"""End to end, against the fake Bot API: the daily digest and its chart, and /summary … chart."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from matplotlib.image import imread

from tests.clocks import FakeClock
from tests.fake_telegram import Call, FakeTelegram, UploadedFile
from tests.harness import (
    ADMIN,
    append,
    delivered_alerts,
    eventually,
    make_config,
    pipeline_log,
    queue_drained,
    running_bot,
)

PERMISSION = (
    "2026-11-30 08:59:31,123 ERROR descargas: No se pudo guardar el video: "
    "PermissionError: [Errno 13] Permission denied: '/srv/a.mp4'"
)
DIGEST_AT_NINE = 'timezone = "Europe/Madrid"\n[digest]\nat = "09:00"\n'
BEFORE_NINE = datetime(2026, 11, 30, 7, 59, 30, tzinfo=UTC)  # 08:59:30 in Madrid


def digests(fake: FakeTelegram) -> list[str]:
    return [m.text for m in fake.messages(ADMIN) if "Daily digest" in m.text]


def photo_size(call: Call) -> tuple[int, int]:
    """The width and height of the PNG the bot uploaded, decoded."""
    photo = call.params["photo"]
    assert isinstance(photo, UploadedFile) and photo.data.startswith(b"\x89PNG")
    height, width = imread(io.BytesIO(photo.data), format="png").shape[:2]
    return width, height


async def test_at_the_configured_time_the_digest_and_its_chart_arrive(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    clock = FakeClock(BEFORE_NINE)
    config = make_config(tmp_path, fake_telegram, DIGEST_AT_NINE)
    log = pipeline_log(tmp_path)
    async with running_bot(config, clock=clock) as (_, runtime):
        append(log, PERMISSION)
        await eventually(lambda: delivered_alerts(fake_telegram, "ERROR · permisos"), timeout=10)
        await eventually(lambda: runtime.digests.served() is not None)
        assert digests(fake_telegram) == []  # 08:59 in Madrid: not yet
        clock.now = BEFORE_NINE + timedelta(seconds=31)
        photo = await fake_telegram.await_call("sendPhoto", lambda c: c.ok, timeout=30)
    (text,) = digests(fake_telegram)
    assert "29/11 09:00 → 30/11 09:00" in text
    assert "By type: permisos 1" in text and "Still open: 1" in text
    assert "new incidents per hour" in photo.params["caption"]
    width, height = photo_size(photo)
    assert 600 <= width <= 2000 and 400 <= height <= 2000


async def test_a_digest_missed_while_down_arrives_once_at_start(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    clock = FakeClock(BEFORE_NINE - timedelta(days=3))
    config = make_config(tmp_path, fake_telegram, DIGEST_AT_NINE)
    async with running_bot(config, clock=clock) as (_, runtime):
        await eventually(lambda: runtime.digests.served() is not None)
    clock.now = BEFORE_NINE + timedelta(hours=2)  # three 09:00 passed while it was down
    log = pipeline_log(tmp_path)
    async with running_bot(config, clock=clock):
        await fake_telegram.await_call("sendPhoto", lambda c: c.ok, timeout=30)
        await queue_drained(fake_telegram, log)  # whatever was queued before it has arrived
    assert len(digests(fake_telegram)) == 1
    assert len([c for c in fake_telegram.calls("sendPhoto") if c.ok]) == 1


async def test_summary_24h_chart_answers_the_summary_and_the_chart_as_a_photo(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    async with running_bot(config):
        append(log, PERMISSION)
        await eventually(lambda: delivered_alerts(fake_telegram, "ERROR · permisos"), timeout=10)
        fake_telegram.send_text(ADMIN, "/summary 24h chart")
        photo = await fake_telegram.await_call("sendPhoto", lambda c: c.ok, timeout=30)
    summary = next(m.text for m in fake_telegram.messages(ADMIN) if m.text.startswith("Summary"))
    assert "permisos: 1" in summary
    assert photo.params["chat_id"] == ADMIN
    width, _ = photo_size(photo)
    assert 600 <= width <= 2000


async def test_a_digest_due_while_telegram_is_down_arrives_when_it_is_back(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    clock = FakeClock(BEFORE_NINE)
    config = make_config(tmp_path, fake_telegram, DIGEST_AT_NINE)
    async with running_bot(config, clock=clock) as (_, runtime):
        await eventually(lambda: runtime.digests.served() is not None)
        fake_telegram.down()
        clock.now = BEFORE_NINE + timedelta(seconds=31)
        await eventually(lambda: runtime.digests.served() == BEFORE_NINE + timedelta(seconds=30))
        await eventually(lambda: fake_telegram.failures > 0, timeout=10)
        fake_telegram.up()
        clock.now += timedelta(minutes=1)  # delivery's pause after a failure runs on this clock
        photo = await fake_telegram.await_call("sendPhoto", lambda c: c.ok, timeout=30)
    assert len(digests(fake_telegram)) == 1
    assert photo_size(photo)[0] >= 600
