"""Delivery against the fake Bot API: storms, priorities and answers that are not the API's."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from tests.fake_telegram import FakeTelegram
from tests.harness import (
    ADMIN,
    FAST,
    append,
    delivered_alerts,
    eventually,
    make_config,
    pipeline_log,
    queue_drained,
    running_bot,
)

PERMISOS = (
    "2026-11-29 10:00:01,000 ERROR descargas: PermissionError: [Errno 13] "
    "Permission denied: '/srv/descargas/storm/v{n:05d}.mp4'"
)
DISK_FULL = "2026-11-29 10:00:02,000 ERROR descargas: OSError: [Errno 28] No space left"
STORM_HEAD = "Storm · permisos"


def storm_messages(fake: FakeTelegram) -> list[str]:
    return [m.text for m in fake.messages(ADMIN) if "Storm" in m.text and "permisos" in m.text]


async def test_a_storm_costs_one_message_a_critical_of_another_rule_still_comes_at_once_and_alerts_resume_after_calm(  # noqa: E501 - the name says the whole behaviour
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram, alerts="storm_threshold = 10\n")
    log = pipeline_log(tmp_path)
    periods = replace(FAST, storm_window=2.0)
    async with running_bot(config, periods=periods) as (_, runtime):
        await fake_telegram.await_call("sendMessage", lambda c: "adminbot" in c.params["text"])
        append(log, *(PERMISOS.format(n=n) for n in range(300)))
        await fake_telegram.await_call(
            "sendMessage", lambda c: c.ok and STORM_HEAD in c.params["text"], timeout=10
        )
        written = time.monotonic()
        append(log, DISK_FULL)
        critical = await fake_telegram.await_call(
            "sendMessage", lambda c: c.ok and "disco_lleno" in c.params["text"], timeout=5
        )
        assert critical.time - written < 2.0
        single = delivered_alerts(fake_telegram, "ERROR · permisos")
        assert len(single) + len(storm_messages(fake_telegram)) <= 5
        assert runtime.store.outbox_depth() <= 2
        await eventually(lambda: any("Storm over" in t for t in storm_messages(fake_telegram)), 10)
        [storm] = storm_messages(fake_telegram)
        assert "300 new incidents" in storm
        assert "/srv/descargas/storm/v" in storm
        buttons = fake_telegram.buttons(ADMIN, fake_telegram.messages(ADMIN)[1].message_id)
        assert ("📋 Show the list", "page:0:10:permisos") in buttons
        append(log, PERMISOS.format(n=99_999))
        await fake_telegram.await_call(
            "sendMessage", lambda c: c.ok and "v99999.mp4" in c.params["text"], timeout=5
        )


async def test_an_html_page_answered_with_200_is_retried_and_every_alert_arrives_once(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        await fake_telegram.await_call("sendMessage", lambda c: "adminbot" in c.params["text"])
        fake_telegram.garble("sendMessage", times=None)
        append(log, *(PERMISOS.format(n=n) for n in range(5)))
        await eventually(lambda: fake_telegram.failures >= 2, timeout=5)
        assert delivered_alerts(fake_telegram, "permisos") == []
        fake_telegram.clear_failures()
        await queue_drained(fake_telegram, log)
        texts = [c.params["text"] for c in delivered_alerts(fake_telegram, "permisos")]
        for n in range(5):
            assert sum(f"v{n:05d}.mp4" in t for t in texts) == 1
        # The marker's row is marked sent just after Telegram answered: wait for it.
        await eventually(lambda: runtime.store.outbox_depth() == 0)
        metrics = runtime.metrics.render().decode()
        assert 'adminbot_delivery_failures_total{reason="unreadable"}' in metrics
