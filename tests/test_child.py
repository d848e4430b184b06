"""The supervised pipeline as the incident book sees it: a crash is an incident, and a
restart by policy never brings the child back once adminbot is stopping."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from adminbot.incidents.book import IncidentBook
from adminbot.incidents.events import IncidentEvent
from adminbot.incidents.intake import EventQueue, Intake
from adminbot.models import Origin, Severity
from adminbot.notify.eventlog import EventLog
from adminbot.store.sqlite import Store
from adminbot.supervise.child import PipelineChild
from adminbot.supervise.supervisor import RestartPolicy


async def _no_wait(_seconds: float) -> None:
    await asyncio.sleep(0)


def build(tmp_path: Path, code: str) -> tuple[PipelineChild, EventQueue, Store]:
    store = Store(tmp_path / "s.sqlite3")
    queue = EventQueue()
    intake = Intake(store, IncidentBook(store), EventLog(tmp_path / "e.json"), queue)
    child = PipelineChild(
        [sys.executable, "-c", code],
        tmp_path / "pipeline.log",
        intake,
        policy=RestartPolicy((0.01,), budget=3),
        stop_timeout=2,
        sleep=_no_wait,
    )
    return child, queue, store


async def _until_event(queue: EventQueue) -> list[IncidentEvent]:
    for _ in range(250):
        events = queue.drain()
        if events:
            return events
        await asyncio.sleep(0.02)
    raise AssertionError("no incident was raised")


async def test_a_crash_is_a_critical_incident_from_the_process(tmp_path: Path) -> None:
    child, queue, store = build(tmp_path, "print('bye'); raise SystemExit(3)")
    await child.start()
    [event] = await _until_event(queue)
    assert event.match.origin is Origin.PROCESS
    assert (event.incident.rule, event.incident.severity) == ("proceso_caido", Severity.CRITICAL)
    assert "bye" in event.match.record.text
    await child.stop()
    store.close()


async def test_no_restart_by_policy_once_adminbot_is_stopping(tmp_path: Path) -> None:
    child, _, store = build(tmp_path, "import time; time.sleep(30)")
    await child.start()
    await child.stop()
    outcome = await child.restart("policy")
    assert not outcome.ok and "stopping" in outcome.summary
    assert child.supervisor.running is False
    store.close()


async def test_a_restart_by_policy_within_budget_starts_a_new_process(tmp_path: Path) -> None:
    child, _, store = build(tmp_path, "import time; time.sleep(30)")
    await child.start()
    first = child.supervisor.pid
    outcome = await child.restart("policy")
    assert outcome.ok and child.supervisor.pid not in (None, first)
    await child.stop()
    store.close()


async def test_the_pipeline_child_starts_without_adminbots_own_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "123456789:AAHfake-token-for-tests_0123456789abcdef"
    monkeypatch.setenv("TELEGRAM_TOKEN", token)
    monkeypatch.setenv("ADMIN_ID", "4242")
    monkeypatch.setenv("ADMINBOT_CHAT_ID", "-100")
    monkeypatch.setenv("PIPELINE_SETTING", "kept")
    code = (
        "import os\n"
        "for name in ('TELEGRAM_TOKEN', 'ADMIN_ID', 'ADMINBOT_CHAT_ID', 'PIPELINE_SETTING'):\n"
        "    print(name, os.environ.get(name, 'unset'))\n"
        "raise SystemExit(1)\n"
    )
    child, queue, store = build(tmp_path, code)
    await child.start()
    await _until_event(queue)
    await child.stop()
    store.close()

    log = (tmp_path / "pipeline.log").read_text(encoding="utf-8")
    assert token not in log
    assert log.splitlines() == [
        "TELEGRAM_TOKEN unset",
        "ADMIN_ID unset",
        "ADMINBOT_CHAT_ID unset",
        "PIPELINE_SETTING kept",
    ]
