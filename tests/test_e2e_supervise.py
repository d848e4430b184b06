"""End to end for running beside the pipeline: a supervised child, /healthz and /metrics.

Real child processes, the real Application and the real HTTP listener; only Telegram
is faked (tests/fake_telegram.py on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families

from tests.fake_telegram import FakeTelegram
from tests.harness import ADMIN, append, eventually, make_config, pipeline_log, running_bot

NOISY_CHILD = """
import sys, time
print("2026-11-29 10:00:00,000 INFO main: arrancando", flush=True)
print("2026-11-29 10:00:01,000 ERROR descargas: OSError: [Errno 28] No space left on device",
      file=sys.stderr, flush=True)
time.sleep(60)
"""

CRASHING_CHILD = """
import sys
print("2026-11-29 10:00:00,000 INFO main: arrancando", flush=True)
print("2026-11-29 10:00:01,000 CRITICAL main: se acabó", flush=True)
sys.exit(3)
"""


def child(tmp_path: Path, code: str) -> list[str]:
    script = tmp_path / "main.py"
    script.write_text(code, encoding="utf-8")
    return [sys.executable, str(script)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_supervised_child_has_its_error_lines_alerted(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    argv = child(tmp_path, NOISY_CHILD)
    async with running_bot(config, child_argv=argv) as (_, runtime):
        call = await fake_telegram.await_call(
            "sendMessage", lambda c: "disco_lleno" in c.params["text"], timeout=10
        )
        assert "pipeline.log" in call.params["text"]
        assert runtime.child is not None and runtime.child.supervisor.running
        pid = runtime.child.supervisor.pid
        mark = fake_telegram.mark()
        fake_telegram.send_text(ADMIN, "/status")
        await fake_telegram.await_call(
            "sendMessage", lambda c: "Pipeline: pid" in c.params["text"], since=mark
        )
    assert pid is not None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


async def test_a_crashing_child_is_restarted_within_budget_then_the_admin_is_asked(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    toml = "backoff_delays = [0.1]\n[supervise]\nrestart_budget = 2\n"
    config = make_config(tmp_path, fake_telegram, toml)
    argv = child(tmp_path, CRASHING_CHILD)
    async with running_bot(config, child_argv=argv) as (_, runtime):
        asked = await fake_telegram.await_call(
            "sendMessage",
            lambda c: "proceso_caido" in c.params["text"] and "budget" in c.params["text"],
            timeout=15,
        )
        assert "exit 3" in asked.params["text"]
        audit = [a for a in runtime.store.audit() if a.kind == "restart_process"]
        assert [a.ok for a in audit] == [True, True, False]
        assert "budget" in audit[-1].summary
        alert = [m for m in fake_telegram.messages(ADMIN) if "budget" in m.text][-1]
        labels = [text for text, _ in fake_telegram.buttons(ADMIN, alert.message_id)]
        assert "♻️ Restart pipeline" in labels
        restart = dict(fake_telegram.buttons(ADMIN, alert.message_id))["♻️ Restart pipeline"]
        fake_telegram.tap(ADMIN, ADMIN, alert.message_id, restart)
        await eventually(
            lambda: len([a for a in runtime.store.audit() if a.kind == "restart_process"]) == 4
        )
        admin_run = [a for a in runtime.store.audit() if a.kind == "restart_process"][-1]
        assert admin_run.actor == "@user4242 · id 4242" and admin_run.ok


def test_sigterm_to_adminbot_stops_the_child_and_leaves_no_orphan(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    code = (
        "import os, pathlib, subprocess, sys, time\n"
        f"pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid()))\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "time.sleep(60)\n"
    )
    argv = child(tmp_path, code)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADMINBOT", "TELEGRAM"))}
    env["ADMINBOT_DATA_DIR"] = str(tmp_path / "data")
    adminbot = subprocess.Popen(
        [sys.executable, "-m", "adminbot", "run", "--", *argv],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        child_pid = int(pid_file.read_text())
        family = [child_pid, *(p.pid for p in psutil.Process(child_pid).children(recursive=True))]
        time.sleep(0.3)
        family = [child_pid, *(p.pid for p in psutil.Process(child_pid).children(recursive=True))]
        assert len(family) == 2
        adminbot.send_signal(signal.SIGTERM)
        code_ = adminbot.wait(timeout=20)
    finally:
        if adminbot.poll() is None:
            adminbot.kill()
    output = adminbot.stdout.read().decode() if adminbot.stdout else ""
    assert code_ == 0, output
    assert "Pipeline stopped" in output
    for pid in family:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie", pid


async def test_healthz_turns_503_while_delivery_fails_and_200_when_it_recovers(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    port = free_port()
    toml = f"[http]\nenabled = true\nport = {port}\n"
    config = make_config(tmp_path, fake_telegram, toml)
    log = pipeline_log(tmp_path)
    url = f"http://127.0.0.1:{port}"
    async with running_bot(config), httpx.AsyncClient(base_url=url) as client:
        await fake_telegram.await_call("sendMessage", lambda c: "adminbot" in c.params["text"])
        healthy = await client.get("/healthz")
        assert healthy.status_code == 200, healthy.text
        assert healthy.json()["status"] == "ok"
        fake_telegram.down()
        append(log, "2026-11-29 10:00:02,000 ERROR descargas: OSError: [Errno 28] No space left")

        async def failing() -> httpx.Response | None:
            answer = await client.get("/healthz")
            return answer if answer.status_code == 503 else None

        down = await eventually_async(failing)
        body = down.json()
        assert body["status"] == "failing"
        assert "delivery" in body["failing"]
        fake_telegram.up()

        async def recovered() -> httpx.Response | None:
            answer = await client.get("/healthz")
            return answer if answer.status_code == 200 else None

        await eventually_async(recovered, timeout=40)


async def test_metrics_parse_and_count_what_was_fed(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    port = free_port()
    toml = f"[http]\nenabled = true\nport = {port}\n"
    config = make_config(tmp_path, fake_telegram, toml)
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime), httpx.AsyncClient() as client:
        info = "2026-11-29 10:00:00,000 INFO main: ok"
        disk = "2026-11-29 10:00:02,000 ERROR descargas: OSError: [Errno 28] No space left"
        append(log, *[info] * 5, *[disk] * 3)
        await eventually(lambda: runtime.monitor.stats.lines == 8)
        await fake_telegram.await_call("sendMessage", lambda c: "disco_lleno" in c.params["text"])
        await asyncio.sleep(0.2)
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("adminbot_lines_read_total", (("file", str(log)),))] == 8.0
    assert samples[("adminbot_rule_matches_total", (("rule", "disco_lleno"),))] == 3.0
    assert samples[("adminbot_incidents", (("rule", "disco_lleno"), ("state", "open")))] == 1.0
    assert samples[("adminbot_alert_delivery_seconds_count", ())] >= 1.0
    assert ("adminbot_outbox_depth", ()) in samples
    # eight lines are no storm: the classifier worker was never needed
    assert samples[("adminbot_classifier_worker_running", ())] == 0.0
    assert samples[("adminbot_classified_ahead_batches_total", ())] == 0.0


async def eventually_async(
    check: Callable[[], Awaitable[httpx.Response | None]],
    timeout: float = 10.0,  # noqa: ASYNC109 - a test helper with its own deadline
) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await check()
        if result is not None:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout}s")


def test_sigterm_stops_the_group_of_a_restarted_child_too(tmp_path: Path) -> None:
    """The first run crashes (its group is cleaned); the restarted run spawns a grandchild
    that must not outlive adminbot either."""
    pids = tmp_path / "pids"
    code = (
        "import os, pathlib, subprocess, sys, time\n"
        f"pids = pathlib.Path({str(pids)!r})\n"
        "runs = pids.read_text().split() if pids.exists() else []\n"
        "worker = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "pids.write_text(' '.join([*runs, str(os.getpid()), str(worker.pid)]))\n"
        "if not runs:\n"
        "    sys.exit(3)\n"
        "time.sleep(60)\n"
    )
    argv = child(tmp_path, code)
    (tmp_path / "adminbot.toml").write_text("backoff_delays = [0.1]\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADMINBOT", "TELEGRAM"))}
    env["ADMINBOT_DATA_DIR"] = str(tmp_path / "data")
    adminbot = subprocess.Popen(
        [sys.executable, "-m", "adminbot", "run", "--", *argv],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if pids.exists() and len(pids.read_text().split()) == 4:
                break
            time.sleep(0.05)
        family = [int(pid) for pid in pids.read_text().split()]
        assert len(family) == 4
        time.sleep(0.3)
        assert psutil.pid_exists(family[3])
        adminbot.send_signal(signal.SIGTERM)
        code_ = adminbot.wait(timeout=20)
    finally:
        if adminbot.poll() is None:
            adminbot.kill()
    output = adminbot.stdout.read().decode() if adminbot.stdout else ""
    assert code_ == 0, output
    alive = [
        pid
        for pid in family
        if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    ]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert alive == [], output


def crashing_then_running(tmp_path: Path, crashes: int) -> list[str]:
    """A child that exits 3 on its first `crashes` runs, then keeps running."""
    runs = tmp_path / "runs"
    code = (
        "import pathlib, sys, time\n"
        f"runs = pathlib.Path({str(runs)!r})\n"
        "n = int(runs.read_text()) + 1 if runs.exists() else 1\n"
        "runs.write_text(str(n))\n"
        "print('2026-11-29 10:00:00,000 INFO main: arrancando', flush=True)\n"
        f"if n <= {crashes}:\n"
        "    sys.exit(3)\n"
        "time.sleep(60)\n"
    )
    return child(tmp_path, code)


async def test_a_crash_loop_inside_the_restart_budget_is_one_message_edited_as_it_goes(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    toml = 'timezone = "Asia/Kolkata"\nbackoff_delays = [0.1]\n[supervise]\nrestart_budget = 5\n'
    config = make_config(tmp_path, fake_telegram, toml)
    argv = crashing_then_running(tmp_path, crashes=4)
    async with running_bot(config, child_argv=argv) as (_, runtime):
        await eventually(
            lambda: "Restarted 4×" in _alert_text(fake_telegram, "proceso_caido"), timeout=20
        )
        assert runtime.child is not None and runtime.child.supervisor.running
        crashes = runtime.store.incidents(rule="proceso_caido")
        assert [i.state.value for i in crashes] == ["resolved"] * 4
        text = _alert_text(fake_telegram, "proceso_caido")
        assert "running since" in text and "needs attention now" not in text
        newest = max(crashes, key=lambda i: i.id)
        restarted = runtime.store.transitions(newest.id)[-1].at
        local = restarted.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%H:%M")
        assert local in text.split("running since", 1)[1]  # the admin's time zone (UTC+5:30)
    sent = [
        c for c in fake_telegram.calls("sendMessage") if "· proceso_caido</b>" in c.params["text"]
    ]
    assert len(sent) == 1
    assert sent[0].params.get("disable_notification") is True  # fixed already: no ring
    edits = [
        c for c in fake_telegram.calls("editMessageText") if "proceso_caido" in c.params["text"]
    ]
    assert len(edits) >= 3


async def test_a_crash_loop_past_the_restart_budget_rings_as_an_incident_needing_attention(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    toml = "backoff_delays = [0.1]\n[supervise]\nrestart_budget = 2\n"
    config = make_config(tmp_path, fake_telegram, toml)
    argv = crashing_then_running(tmp_path, crashes=10)
    async with running_bot(config, child_argv=argv):
        asked = await fake_telegram.await_call(
            "sendMessage",
            lambda c: "proceso_caido" in c.params["text"] and "budget" in c.params["text"],
            timeout=15,
        )
    assert "needs attention now" in asked.params["text"] and "Crashed 3×" in asked.params["text"]
    assert not asked.params.get("disable_notification")
    sent = [
        c for c in fake_telegram.calls("sendMessage") if "· proceso_caido</b>" in c.params["text"]
    ]
    assert len(sent) == 2  # the loop's one message, then the one that asks


def _alert_text(fake: FakeTelegram, rule: str) -> str:
    """The newest alert of `rule` as the admin sees it now ("" before there is one)."""
    found = [m.text for m in fake.messages(ADMIN) if rule in m.text]
    return found[-1] if found else ""
