"""End to end, against the fake Bot API: maintenance windows, thresholds and [[ignore]].

The clock is injected, so a window ends when the test says; what must not be sent is
checked after a marker alert sent later has arrived (delivery keeps the order)."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adminbot.checks.base import CheckResult, CheckState
from adminbot.clock import utcnow
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

TIMEOUT = "2026-11-29 10:00:03,000 ERROR descargas: Tiempo de espera agotado file_id={file_id}"
PERMISSION = (
    "2026-11-29 10:00:01,123 ERROR descargas: PermissionError: [Errno 13] "
    "Permission denied: '{path}'"
)
DISK_FULL = "2026-11-29 10:00:02,000 ERROR descargas: OSError: [Errno 28] No space left on device"
FILE_1, FILE_2 = "BAACAgEAAxkBAAI111", "BAACAgEAAxkBAAI222"
RECORD_RUN = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text(sys.argv[2])"


def texts(fake: FakeTelegram, part: str) -> list[str]:
    return [m.text for m in fake.messages(ADMIN) if part in m.text]


async def test_maintenance_holds_alerts_and_automatic_fixes_then_sends_one_summary(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    ran = tmp_path / "retried.txt"
    downloads = tmp_path / "descargas"
    downloads.mkdir()
    toml = (
        "[actions]\n"
        f'allowed_folders = ["{downloads}"]\n'
        f'retry_command = ["{sys.executable}", "-c", "{RECORD_RUN}", "{ran}", "{{file_id}}"]\n'
    )
    config = make_config(tmp_path, fake_telegram, toml)
    assert config.rules["timeout"].policy.value == "auto"
    log = pipeline_log(tmp_path)
    async with running_bot(config, clock=clock) as (_, runtime):
        fake_telegram.send_text(ADMIN, "/maintenance 30m type=timeout")
        await eventually(lambda: texts(fake_telegram, "Maintenance until"), timeout=10)
        first, second = TIMEOUT.format(file_id=FILE_1), TIMEOUT.format(file_id=FILE_2)
        append(log, first, first)
        append(log, second, PERMISSION.format(path="/srv/a.mp4"))
        await eventually(lambda: delivered_alerts(fake_telegram, "ERROR · permisos"), timeout=10)
        assert runtime.store.count_incidents(rule="timeout") == 2
        assert delivered_alerts(fake_telegram, "ERROR · timeout") == []
        assert not ran.exists()
        fake_telegram.send_text(ADMIN, "/maintenance")
        await eventually(lambda: texts(fake_telegram, "1 window(s) open"), timeout=10)
        clock.advance(31 * 60)
        (summary,) = await eventually(lambda: texts(fake_telegram, "Maintenance over"), timeout=10)
        assert "timeout: 2 new incident(s), 1 repeat(s)" in summary
        assert f"file_id={FILE_1} ×2" in summary
        assert not ran.exists()
        append(log, TIMEOUT.format(file_id="BAACAgEAAxkBAAI444"))  # after the window: fixed
        await eventually(ran.exists, timeout=10)
    assert ran.read_text() == "BAACAgEAAxkBAAI444"
    assert len(texts(fake_telegram, "Maintenance over")) == 1


async def test_maintenance_off_ends_it_at_once_saying_nothing_happened(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    async with running_bot(config):
        fake_telegram.send_text(ADMIN, "/maintenance 2h")
        await eventually(lambda: texts(fake_telegram, "Maintenance until"), timeout=10)
        fake_telegram.send_text(ADMIN, "/status")
        status = await eventually(lambda: texts(fake_telegram, "Status"), timeout=10)
        assert "🛠 Maintenance until" in status[-1]
        fake_telegram.send_text(ADMIN, "/maintenance off")
        (summary,) = await eventually(lambda: texts(fake_telegram, "Maintenance over"), timeout=10)
        assert "all types" in summary and "Nothing happened meanwhile" in summary
        fake_telegram.send_text(ADMIN, "/maintenance")
        await eventually(lambda: texts(fake_telegram, "No maintenance window is open"), timeout=10)


async def test_a_viewer_may_list_maintenance_but_not_start_it(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    viewer = 5151
    config = make_config(tmp_path, fake_telegram, f"[access]\nviewers = [{viewer}]\n")
    async with running_bot(config) as (_, runtime):
        fake_telegram.send_text(viewer, "/maintenance 30m")
        # any message, not the last: the start-up notice to every chat may come after it
        await eventually(
            lambda: any("Viewers cannot" in m.text for m in fake_telegram.messages(viewer)),
            timeout=30,
        )
        assert runtime.noise.maintenance.active() == []


async def test_a_threshold_holds_four_matches_and_the_fifth_alerts_saying_five(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram, '[thresholds]\npermisos = "5/10m"\n')
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        append(log, *[PERMISSION.format(path="/srv/a.mp4")] * 4)
        await eventually(lambda: [i.count for i in runtime.store.incidents()] == [4])
        append(log, DISK_FULL)
        await eventually(lambda: delivered_alerts(fake_telegram, "CRITICAL · disco_lleno"))
        assert delivered_alerts(fake_telegram, "· permisos") == []
        append(log, PERMISSION.format(path="/srv/a.mp4"))
        (alert,) = await eventually(lambda: delivered_alerts(fake_telegram, "ERROR · permisos"))
    assert "Threshold reached: 5 in 10 min" in alert.params["text"]
    assert "Seen 5×" in alert.params["text"]


async def test_an_ignored_line_is_never_alerted_and_errors_counts_it(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    toml = '[[ignore]]\npattern = "/tmp_cache/"\nrule = "permisos"\n'
    config = make_config(tmp_path, fake_telegram, toml)
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        append(log, PERMISSION.format(path="/srv/tmp_cache/x.part"), DISK_FULL)
        await eventually(lambda: delivered_alerts(fake_telegram, "CRITICAL · disco_lleno"))
        assert delivered_alerts(fake_telegram, "· permisos") == []
        assert runtime.store.count_incidents(rule="permisos") == 0
        fake_telegram.send_text(ADMIN, "/errors")
        await eventually(
            lambda: "1 line(s) ignored by [[ignore]]" in fake_telegram.last_message(ADMIN).text,
            timeout=10,
        )


async def test_spanish_maintenance_summary_is_spanish(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    config = make_config(tmp_path, fake_telegram, 'language = "es"\n')
    log = pipeline_log(tmp_path)
    async with running_bot(config, clock=clock) as (_, runtime):
        fake_telegram.send_text(ADMIN, "/maintenance 10m")
        await eventually(lambda: texts(fake_telegram, "Mantenimiento hasta"), timeout=10)
        append(log, PERMISSION.format(path="/srv/<b>.mp4"))
        await eventually(lambda: runtime.store.count_incidents() == 1)
        clock.now += timedelta(minutes=11)
        (summary,) = await eventually(lambda: texts(fake_telegram, "Fin del mantenimiento"))
    assert "permisos: 1 incidencia(s) nueva(s), 0 repetición(es)" in summary
    assert "/srv/<b>.mp4 ×1" in summary


async def test_a_scheduled_window_in_the_configured_zone_holds_alerts_and_sums_up_at_its_end(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    clock = FakeClock(datetime(2026, 12, 5, 22, 30, tzinfo=UTC))  # Saturday 23:30 in Madrid
    toml = (
        'timezone = "Europe/Madrid"\n'
        '[[maintenance]]\ndays = ["sat"]\nfrom = "23:00"\nto = "00:30"\n'
        'types = ["permisos"]\n'
    )
    config = make_config(tmp_path, fake_telegram, toml)
    log = pipeline_log(tmp_path)
    async with running_bot(config, clock=clock) as (_, runtime):
        append(log, PERMISSION.format(path="/srv/a.mp4"), DISK_FULL)
        await eventually(lambda: delivered_alerts(fake_telegram, "CRITICAL · disco_lleno"))
        assert delivered_alerts(fake_telegram, "ERROR · permisos") == []
        fake_telegram.send_text(ADMIN, "/maintenance")
        listed = await eventually(lambda: texts(fake_telegram, "window(s) open"), timeout=10)
        assert "permisos until 2026-12-06 00:30 (1h left, scheduled)" in listed[0]
        clock.now = datetime(2026, 12, 5, 23, 31, tzinfo=UTC)  # Sunday 00:31 in Madrid
        (summary,) = await eventually(lambda: texts(fake_telegram, "Maintenance over"), timeout=10)
        assert "permisos: 1 new incident(s), 0 repeat(s)" in summary
        assert runtime.noise.maintenance.active() == []


async def test_during_maintenance_a_fix_tapped_by_a_human_still_runs(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    ran = tmp_path / "retried.txt"
    downloads = tmp_path / "descargas"
    downloads.mkdir()
    toml = (
        "[actions]\n"
        f'allowed_folders = ["{downloads}"]\n'
        f'retry_command = ["{sys.executable}", "-c", "{RECORD_RUN}", "{ran}", "{{file_id}}"]\n'
    )
    config = make_config(tmp_path, fake_telegram, toml)
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        fake_telegram.send_text(ADMIN, "/maintenance 1h")
        await eventually(lambda: texts(fake_telegram, "Maintenance until"), timeout=10)
        append(log, TIMEOUT.format(file_id="BAACAgEAAxkBAAI333"))
        await eventually(lambda: runtime.store.count_incidents(rule="timeout") == 1)
        fake_telegram.send_text(ADMIN, "/errors")
        page = await eventually(lambda: texts(fake_telegram, "Incidents"), timeout=10)
        listing = next(m for m in fake_telegram.messages(ADMIN) if m.text == page[-1])
        (open_data,) = [d for label, d in fake_telegram.buttons(ADMIN, listing.message_id)]
        fake_telegram.tap(ADMIN, ADMIN, listing.message_id, open_data)
        shown = await eventually(
            lambda: [m for m in fake_telegram.messages(ADMIN) if "ERROR · timeout" in m.text],
            timeout=10,
        )
        retry = dict(fake_telegram.buttons(ADMIN, shown[-1].message_id))["🔁 Retry"]
        fake_telegram.tap(ADMIN, ADMIN, shown[-1].message_id, retry)
        await eventually(ran.exists, timeout=10)
    assert ran.read_text() == "BAACAgEAAxkBAAI333"


async def test_an_automatic_fix_waits_for_its_rules_threshold(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    ran = tmp_path / "retried.txt"
    downloads = tmp_path / "descargas"
    downloads.mkdir()
    toml = (
        '[thresholds]\ntimeout = "3/10m"\n'
        "[actions]\n"
        f'allowed_folders = ["{downloads}"]\n'
        f'retry_command = ["{sys.executable}", "-c", "{RECORD_RUN}", "{ran}", "{{file_id}}"]\n'
    )
    config = make_config(tmp_path, fake_telegram, toml)
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        append(log, TIMEOUT.format(file_id=FILE_1), TIMEOUT.format(file_id=FILE_2))
        await eventually(lambda: runtime.store.count_incidents(rule="timeout") == 2)
        append(log, DISK_FULL)
        await eventually(lambda: delivered_alerts(fake_telegram, "CRITICAL · disco_lleno"))
        held = runtime.store.incidents(rule="timeout")
        assert [i.state.value for i in held] == ["open", "open"]  # no fix started
        assert not ran.exists()
        append(log, TIMEOUT.format(file_id=FILE_2))
        await eventually(ran.exists, timeout=10)
    assert ran.read_text() == FILE_2


class BotApiServer:
    """A probe of the Bot API server whose answer the test sets."""

    name = "bot api"
    raises = "servidor_caido"

    def __init__(self) -> None:
        self.state = CheckState.OK

    async def run(self) -> CheckResult:
        return CheckResult.note(self.name, self.state, f"server is {self.state}", utcnow())


async def test_an_outage_inside_a_window_is_only_in_its_summary_and_one_beyond_it_is_alerted(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    server = BotApiServer()
    config = make_config(tmp_path, fake_telegram)
    periods = replace(FAST, check=0.05)
    async with running_bot(config, checks=[server], clock=clock, periods=periods) as (_, runtime):
        fake_telegram.send_text(ADMIN, "/maintenance 30m type=servidor_caido")
        await eventually(lambda: texts(fake_telegram, "Maintenance until"), timeout=10)
        server.state = CheckState.CRITICAL
        await eventually(lambda: runtime.store.count_incidents() == 1, timeout=10)
        server.state = CheckState.OK
        await eventually(lambda: not runtime.store.incidents()[0].is_open, timeout=10)
        server.state = CheckState.CRITICAL
        await eventually(lambda: runtime.store.count_incidents() == 2, timeout=10)
        clock.advance(31 * 60)
        (summary,) = await eventually(lambda: texts(fake_telegram, "Maintenance over"), timeout=10)
        await eventually(lambda: delivered_alerts(fake_telegram, "CRITICAL · servidor_caido"))
    assert "servidor_caido: 2 new incident(s)" in summary
    assert texts(fake_telegram, "recovered") == []  # the first outage ended inside the window
    assert len(delivered_alerts(fake_telegram, "CRITICAL · servidor_caido")) == 1
