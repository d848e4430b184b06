"""End to end: an error no rule knows, against the fake Bot API, as the admin sees it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.fake_telegram import FakeTelegram
from tests.harness import (
    ADMIN,
    append,
    delivered_alerts,
    eventually,
    make_config,
    pipeline_log,
    running_bot,
)

NO_WARMUP = "[kinds]\nwarmup = 0\n"


def too_big(n: int) -> str:
    return (
        f"2026-11-29 10:00:{n % 60:02d},{n % 1000:03d} ERROR descargas.worker: Download of "
        f"BAACAgEAAxkBAAI{n:05d}abcdefghijkl failed: File is too big ({n} MB)"
    )


async def test_a_burst_of_one_unknown_error_is_one_new_kind_alert_whose_count_is_edited(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram, NO_WARMUP)
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        for start in range(0, 300, 50):
            append(log, *(too_big(n) for n in range(start, start + 50)))
            await asyncio.sleep(0.05)
        await eventually(lambda: runtime.store.incidents(rule="nuevo_tipo")[0].count == 300)
        await eventually(lambda: "300×" in fake_telegram.last_message(ADMIN).text, timeout=5)
        assert len(delivered_alerts(fake_telegram, "nuevo_tipo")) == 1
        assert fake_telegram.calls("editMessageText")  # the count grew in the same message
        alert = fake_telegram.last_message(ADMIN).text
        assert "ERROR · nuevo_tipo" in alert  # 300 in a minute: a warning no longer
        assert "template: Download of <FILE_ID> failed: File is too big (<SIZE>)" in alert
        assert "File is too big (299 MB)" in alert  # the real line, not the template

        mark = fake_telegram.mark()
        fake_telegram.send_text(ADMIN, "/kinds")
        await fake_telegram.await_call(
            "sendMessage", lambda c: "Kinds of error" in c.params["text"], since=mark
        )
        listing = fake_telegram.last_message(ADMIN).text
        assert "Kinds of error no rule knows · 1 in all" in listing
        assert "Download of <FILE_ID> failed: File is too big (<SIZE>)" in listing
        assert "×300" in listing and "new" in listing


async def test_during_the_warm_up_an_unknown_error_is_learnt_and_not_alerted(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)  # a new host: the default warm-up
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        append(log, *(too_big(n) for n in range(3)))
        await eventually(lambda: runtime.kinds.total() == 1)
        mark = fake_telegram.mark()
        fake_telegram.send_text(ADMIN, "/kinds")
        reply = await fake_telegram.await_call(
            "sendMessage", lambda c: "Kinds of error" in c.params["text"], since=mark
        )  # the /kinds page, not the "adminbot is up" notice that may follow the mark
        assert "learnt, no alert" in reply.params["text"]
    assert delivered_alerts(fake_telegram, "nuevo_tipo") == []
