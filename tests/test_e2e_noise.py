"""End to end, against the fake Bot API: few messages, to the right person, at the right moment."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adminbot.notify.outbox import HELD_META
from adminbot.store.sqlite import host_key
from tests.clocks import FakeClock
from tests.fake_telegram import FakeTelegram
from tests.harness import (
    ADMIN,
    FAST,
    append,
    delivered_alerts,
    eventually,
    make_config,
    pipeline_log,
    running_bot,
)

PERMISSION = (
    "2026-11-29 10:00:01,123 ERROR descargas: No se pudo guardar el video: "
    "PermissionError: [Errno 13] Permission denied: '{path}'"
)
DISK_FULL = "2026-11-29 10:00:02,000 ERROR descargas: OSError: [Errno 28] No space left on device"


def shown(fake: FakeTelegram, chat: int, message_id: int) -> str:
    """The text of one bot message as the user sees it now."""
    return next(m.text for m in fake.messages(chat) if m.message_id == message_id)


def window_around(moment: datetime) -> str:
    """Quiet hours from an hour before `moment` to an hour after, in UTC."""
    start, end = moment - timedelta(hours=1), moment + timedelta(hours=1)
    return f"{start:%H:%M}-{end:%H:%M}"


async def test_in_quiet_hours_an_error_arrives_silently_and_a_critical_alert_rings(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    quiet = f'quiet_hours = "{window_around(datetime.now(UTC))}"\n'
    config = make_config(tmp_path, fake_telegram, alerts=quiet)
    log = pipeline_log(tmp_path)
    async with running_bot(config):
        append(log, PERMISSION.format(path="/srv/a.mp4"), DISK_FULL)
        await eventually(
            lambda: delivered_alerts(fake_telegram, "CRITICAL · disco_lleno"), timeout=10
        )
        await eventually(lambda: delivered_alerts(fake_telegram, "ERROR · permisos"), timeout=10)
    (error,) = delivered_alerts(fake_telegram, "ERROR · permisos")
    (critical,) = delivered_alerts(fake_telegram, "CRITICAL · disco_lleno")
    assert error.params.get("disable_notification") is True
    assert not critical.params.get("disable_notification")


async def test_digest_mode_sends_the_night_as_one_message_when_quiet_hours_end(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    clock = FakeClock(datetime(2026, 11, 29, 23, 30, tzinfo=UTC))
    alerts = 'quiet_hours = "23:00-07:00"\nquiet_mode = "digest"\n'
    config = make_config(tmp_path, fake_telegram, alerts=alerts)
    log = pipeline_log(tmp_path)
    async with running_bot(config, clock=clock) as (_, runtime):
        append(log, PERMISSION.format(path="/srv/a.mp4"), PERMISSION.format(path="/srv/b.mp4"))
        await eventually(lambda: runtime.store.count_incidents() == 2, timeout=10)
        # both held before the clock leaves the night: events are routed after their commit
        held = host_key(HELD_META, runtime.store.host)  # each host holds its own
        await eventually(lambda: (runtime.store.get_meta(held) or "").count(",") == 1)
        clock.now = datetime(2026, 11, 30, 7, 1, tzinfo=UTC)
        digest = await eventually(
            lambda: [m for m in fake_telegram.messages(ADMIN) if "Quiet hours are over" in m.text],
            timeout=10,
        )
    assert len(digest) == 1
    assert digest[0].text.count("permisos") == 2
    assert delivered_alerts(fake_telegram, "ERROR · permisos") == []


async def test_ack_shows_who_is_on_it_on_the_alert_and_in_errors(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    fake_telegram.add_user(ADMIN, first_name="Ana")
    async with running_bot(config) as (_, runtime):
        append(log, PERMISSION.format(path="/srv/a.mp4"))
        (call,) = await eventually(lambda: delivered_alerts(fake_telegram, "ERROR · permisos"))
        alert = call.response["result"]["message_id"]
        (ack,) = [d for label, d in fake_telegram.buttons(ADMIN, alert) if "on it" in label]
        fake_telegram.tap(ADMIN, ADMIN, alert, ack)
        await eventually(lambda: "Ana is on it" in shown(fake_telegram, ADMIN, alert), timeout=10)
        (incident,) = runtime.store.incidents()
        assert incident.state.value == "acknowledged"
        assert "on it" not in " ".join(b for b, _ in fake_telegram.buttons(ADMIN, alert))
        fake_telegram.send_text(ADMIN, "/errors")
        await eventually(lambda: "👤 Ana" in fake_telegram.last_message(ADMIN).text, timeout=10)


async def test_a_viewer_gets_alerts_but_their_tap_on_a_fix_is_refused(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    viewer = 5151
    config = make_config(tmp_path, fake_telegram, f"[access]\nviewers = [{viewer}]\n")
    log = pipeline_log(tmp_path)
    fake_telegram.add_user(viewer, first_name="Vera")
    async with running_bot(config) as (_, runtime):
        append(log, PERMISSION.format(path="/srv/a.mp4"))
        await eventually(
            lambda: [m for m in fake_telegram.messages(viewer) if "permisos" in m.text], timeout=10
        )
        alert = next(m for m in fake_telegram.messages(viewer) if "permisos" in m.text).message_id
        (ack,) = [d for label, d in fake_telegram.buttons(viewer, alert) if "on it" in label]
        query = fake_telegram.tap(viewer, viewer, alert, ack)
        answer = await fake_telegram.await_call(
            "answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query
        )
        assert "Viewers cannot run fixes" in answer.params["text"]
        (incident,) = runtime.store.incidents()
        assert incident.state.value == "open"


async def test_a_critical_alert_nobody_takes_is_reminded_as_a_reply(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    clock = FakeClock(datetime(2026, 11, 29, 10, 0, tzinfo=UTC))
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    periods = replace(FAST, check=0.1)
    async with running_bot(config, clock=clock, periods=periods) as (_, runtime):
        append(log, DISK_FULL)
        (alert,) = await eventually(
            lambda: delivered_alerts(fake_telegram, "CRITICAL · disco_lleno"), timeout=10
        )
        await eventually(lambda: runtime.store.alerted_at(1))  # reminders count from here
        clock.now += timedelta(minutes=16)
        reminder = await fake_telegram.await_call(
            "sendMessage", lambda c: "nobody is on it" in c.params["text"], timeout=10
        )
    replied = reminder.params.get("reply_to_message_id") or reminder.params.get(
        "reply_parameters", {}
    ).get("message_id")
    assert int(replied) == alert.response["result"]["message_id"]


@pytest.mark.parametrize("mode", ["silent", "digest"])
async def test_a_reminder_rings_in_quiet_hours_whatever_the_quiet_mode(
    tmp_path: Path, fake_telegram: FakeTelegram, mode: str
) -> None:
    clock = FakeClock(datetime(2026, 11, 29, 23, 30, tzinfo=UTC))
    alerts = f'quiet_hours = "23:00-07:00"\nquiet_mode = "{mode}"\n'
    config = make_config(tmp_path, fake_telegram, alerts=alerts)
    log = pipeline_log(tmp_path)
    async with running_bot(config, clock=clock, periods=replace(FAST, check=0.1)) as (_, runtime):
        append(log, DISK_FULL)
        (alert,) = await eventually(
            lambda: delivered_alerts(fake_telegram, "CRITICAL · disco_lleno"), timeout=10
        )
        await eventually(lambda: runtime.store.alerted_at(1))
        clock.now += timedelta(minutes=16)
        reminder = await fake_telegram.await_call(
            "sendMessage", lambda c: "nobody is on it" in c.params["text"], timeout=10
        )
    assert not alert.params.get("disable_notification")
    assert not reminder.params.get("disable_notification")
