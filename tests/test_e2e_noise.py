"""End to end, against the fake Bot API: few messages, to the right person, at the right moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.clocks import FakeClock
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

PERMISSION = (
    "2026-11-29 10:00:01,123 ERROR descargas: No se pudo guardar el video: "
    "PermissionError: [Errno 13] Permission denied: '{path}'"
)
DISK_FULL = "2026-11-29 10:00:02,000 ERROR descargas: OSError: [Errno 28] No space left on device"


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
        clock.now = datetime(2026, 11, 30, 7, 1, tzinfo=UTC)
        digest = await eventually(
            lambda: [m for m in fake_telegram.messages(ADMIN) if "Quiet hours are over" in m.text],
            timeout=10,
        )
    assert len(digest) == 1
    assert digest[0].text.count("permisos") == 2
    assert delivered_alerts(fake_telegram, "ERROR · permisos") == []
