"""The running program: one builder, start and stop in order, one schedule for both modes."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest

from adminbot.checks.base import CheckResult, CheckState
from adminbot.cli import serve
from adminbot.clock import utcnow
from adminbot.config import Config, load_config
from adminbot.incidents.book import IncidentBook
from adminbot.models import Match, Record, Severity, frozen_map
from adminbot.service.console_mode import ConsoleFront
from adminbot.service.httpapi import Pages
from adminbot.service.lifecycle import Job, _logged, build_service
from adminbot.service.runtime import Edges, Periods, Runtime
from adminbot.store.sqlite import Store
from adminbot.web.build import dashboard
from tests.clocks import T0
from tests.fake_telegram import FakeTelegram
from tests.harness import ADMIN, append, eventually, make_config, pipeline_log, running_bot

DISK_FULL = "2026-11-29 10:00:02,000 ERROR descargas: OSError: [Errno 28] No space left on device"
QUICK = Periods(tick=0.05, check=0.05, heartbeat=0.05, self_watch=0.05)


class CountingCheck:
    """A health check that only counts how often the schedule ran it."""

    name = "counting"

    def __init__(self) -> None:
        self.runs = 0

    async def run(self) -> CheckResult:
        self.runs += 1
        return CheckResult.note(self.name, CheckState.OK, "fine", utcnow())


def printed(capsys: pytest.CaptureFixture[str], seen: list[str], text: str) -> bool:
    """Whether the console has printed `text` so far (what it printed is kept in `seen`)."""
    seen.append(capsys.readouterr().out)
    return text in "".join(seen)


def console_config(tmp_path: Path) -> Config:
    (tmp_path / "pipeline").mkdir()
    (tmp_path / "pipeline" / "bot.log").touch()
    env = {
        "ADMINBOT_WATCH": str(tmp_path / "pipeline" / "*.log"),
        "ADMINBOT_DATA_DIR": str(tmp_path / "data"),
    }
    return load_config(env, cwd=tmp_path)


async def test_console_mode_prints_the_banner_each_alert_and_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = console_config(tmp_path)
    stop = asyncio.Event()
    check = CountingCheck()
    running = asyncio.create_task(
        serve(config, stop=stop, edges=Edges(checks=[check], periods=QUICK))
    )
    seen: list[str] = []
    await eventually(lambda: printed(capsys, seen, "console mode"))  # the tailer has started
    append(tmp_path / "pipeline" / "bot.log", DISK_FULL)

    def alerted() -> bool:
        seen.append(capsys.readouterr().out)
        return "disco_lleno" in "".join(seen)

    await eventually(alerted)
    await eventually(lambda: check.runs >= 3)
    stop.set()
    assert await running == 0
    out = "".join(seen) + capsys.readouterr().out
    assert "adminbot: console mode (no TELEGRAM_TOKEN)" in out
    assert "CRITICAL disco_lleno #1 NEW" in out
    assert "Session summary: 1 lines read, 1 incidents (disco_lleno 1)" in out


async def test_a_failing_job_is_logged_and_the_schedule_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken() -> None:
        raise RuntimeError("job bug")

    await _logged(Job("broken", 1.0, broken, 0.0))
    assert "Periodic job broken failed" in caplog.text


async def test_the_dashboard_is_a_front_the_caller_hands_in(tmp_path: Path) -> None:
    """The service does not import the web pages: `[web]` on needs them given, as
    `adminbot run` gives them; the one HTTP listener then serves them under the probes."""
    (tmp_path / "adminbot.toml").write_text("[web]\nenabled = true\n", encoding="utf-8")
    config = console_config(tmp_path)
    assert config.web.enabled
    with pytest.raises(ValueError, match=r"\[web\] is enabled but no pages were given"):
        build_service(config, ConsoleFront, Edges(periods=QUICK))
    built: list[Runtime] = []

    def pages(runtime: Runtime) -> Pages:
        built.append(runtime)
        return dashboard(runtime)

    service = build_service(config, ConsoleFront, Edges(periods=QUICK), pages=pages)
    assert built == [service.runtime]
    assert service.http is not None
    service.runtime.store.close()
    if service.runtime.lock is not None:
        service.runtime.lock.release()


async def test_every_part_is_built_complete_and_the_console_front_has_no_delivery(
    tmp_path: Path,
) -> None:
    service = build_service(console_config(tmp_path), ConsoleFront, Edges(periods=QUICK))
    assert isinstance(service.front, ConsoleFront)
    assert "delivery" not in service.selfwatch.parts()
    assert [job.name for job in service.jobs] == [
        "tick",
        "check",
        "heartbeat",
        "prune",
        "retention",
        "uptime",
        "remind",
        "host",
        "work",
    ]
    assert service.jobs[1].period == QUICK.check
    service.runtime.store.close()


async def test_an_incident_recorded_before_a_crash_but_never_alerted_is_alerted_at_start(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    pipeline_log(tmp_path)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(config.store_path)
    record = Record(source="/log/bot.log", line_no=3, text="ERROR denied /srv/lost.mp4")
    path = "/srv/lost.mp4"
    IncidentBook(store).record(
        Match("permisos", Severity.ERROR, record, frozen_map({"path": path}), path)
    )
    store.close()
    async with running_bot(config):
        call = await fake_telegram.await_call(
            "sendMessage", lambda c: "permisos" in c.params["text"], timeout=5
        )
    assert call.params["chat_id"] == ADMIN
    assert "lost.mp4" in call.params["text"]


class FirstCriticalCheck:
    """A pipeline check that finds nothing running from the first round on."""

    name = "pipeline"

    async def run(self) -> CheckResult:
        return CheckResult.note(self.name, CheckState.CRITICAL, "pipeline process not found", T0)


async def test_a_check_failing_from_the_start_says_what_is_known_in_the_console_and_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    config = console_config(tmp_path)
    stop = asyncio.Event()
    running = asyncio.create_task(
        serve(config, stop=stop, edges=Edges(checks=[FirstCriticalCheck()], periods=QUICK))
    )
    seen: list[str] = []
    await eventually(lambda: printed(capsys, seen, "check pipeline"))
    stop.set()
    assert await running == 0
    out = "".join(seen)
    assert "check pipeline: critical: pipeline process not found" in out
    assert "start ->" not in out
    assert "None" not in caplog.text
    assert "Check pipeline: critical (pipeline process not found)" in caplog.text


async def test_a_missing_watch_file_is_warned_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "nowhere" / "bot.log"
    config = load_config(
        {"ADMINBOT_WATCH": str(missing), "ADMINBOT_DATA_DIR": str(tmp_path / "data")},
        cwd=tmp_path,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(serve(config, stop=stop, edges=Edges(periods=QUICK)))
    await eventually(lambda: str(missing.parent) in caplog.text)
    await asyncio.sleep(0.3)
    stop.set()
    assert await running == 0
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len([r for r in warnings if str(missing.parent) in r.getMessage()]) == 1


async def test_the_demo_shows_a_folder_created_and_a_download_retried_automatically(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_config({"ADMINBOT_DATA_DIR": str(tmp_path / "data")}, cwd=tmp_path)
    assert config.demo
    service = build_service(
        config,
        lambda runtime: ConsoleFront(runtime, demo_rate=40.0, demo_error_every=0.2),
        Edges(periods=QUICK),
    )
    stop = asyncio.Event()
    running = asyncio.create_task(service.run(stop))
    seen: list[str] = []

    def fixed(rule: str, kind: str) -> bool:
        seen.append(capsys.readouterr().out)
        return any(
            f" {rule} #" in line and kind in line and "(policy)" in line and "INFO" in line
            for line in "".join(seen).splitlines()
        )

    await eventually(lambda: fixed("ruta_inexistente", "created"), timeout=30)
    await eventually(lambda: fixed("timeout", "retry succeeded"), timeout=30)
    stop.set()
    await running
    out = "".join(seen) + capsys.readouterr().out
    created = [p for p in config.demo_folder.iterdir() if p.is_dir()]
    assert created, "the demo created no folder"
    assert "actions" in out and not re.search(r"\b0 actions\b", out)
