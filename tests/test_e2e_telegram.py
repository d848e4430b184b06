"""End to end: the real PTB Application, the real tailer and store, a fake Bot API server.

Only Telegram itself is faked (tests/fake_telegram.py, on 127.0.0.1); everything a user
would see is asserted on the fake's chat state.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from adminbot.store.sqlite import Store
from tests.fake_telegram import Call, FakeTelegram
from tests.harness import (
    ADMIN,
    STRANGER,
    append,
    delivered_alerts,
    eventually,
    make_config,
    pipeline_log,
    queue_drained,
    running_bot,
)

PERMISSION = (
    "2026-11-29 10:00:01,123 ERROR descargas: No se pudo guardar el video: "
    "PermissionError: [Errno 13] Permission denied: '{path}'"
)
DISK_FULL = "2026-11-29 10:00:02,000 ERROR descargas: OSError: [Errno 28] No space left on device"
INFO = "2026-11-29 10:00:00,000 INFO descargas: Descarga completada file_id=BAACAgE123"


def alerts(fake: FakeTelegram) -> list:
    return [m for m in fake.messages(ADMIN) if "#" in m.text and "·" in m.text]


def labels(fake: FakeTelegram, message_id: int) -> list[str]:
    return [text for text, _ in fake.buttons(ADMIN, message_id)]


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    folder = tmp_path / "descargas"
    folder.mkdir()
    return folder


def actions_toml(downloads: Path) -> str:
    return f'[actions]\nallowed_folders = ["{downloads}"]\nowner = "0"\ngroup = "0"\n'


async def test_error_line_becomes_one_alert_with_buttons_for_its_type(
    tmp_path: Path, fake_telegram: FakeTelegram, downloads: Path
) -> None:
    config = make_config(tmp_path, fake_telegram, actions_toml(downloads))
    log = pipeline_log(tmp_path)
    async with running_bot(config):
        await fake_telegram.await_call("sendMessage", lambda c: "adminbot" in c.params["text"])
        (downloads / "a.mp4").write_bytes(b"video")
        append(log, INFO, PERMISSION.format(path=downloads / "a.mp4"))
        call = await fake_telegram.await_call(
            "sendMessage", lambda c: "permisos" in c.params["text"], timeout=5
        )
        message = fake_telegram.messages(ADMIN)[-1]
        assert message.message_id == call.response["result"]["message_id"]
        assert "a.mp4" in message.text
        assert "bot.log" in message.text
        assert labels(fake_telegram, message.message_id) == [
            "🔑 Chown",
            "👤 I'm on it",
            "✅ Mark fixed",
            "🔎 Context",
            "📄 Log",
            "🙈 Ignore",
            "🔕 Mute…",
        ]
        assert fake_telegram.commands()  # setMyCommands registered the menu


async def test_tap_is_answered_then_the_alert_is_edited_and_buttons_go(
    tmp_path: Path, fake_telegram: FakeTelegram, downloads: Path
) -> None:
    config = make_config(tmp_path, fake_telegram, actions_toml(downloads))
    log = pipeline_log(tmp_path)
    async with running_bot(config):
        append(log, DISK_FULL)
        await fake_telegram.await_call("sendMessage", lambda c: "disco_lleno" in c.params["text"])
        alert = fake_telegram.messages(ADMIN)[-1]
        assert "CRITICAL" in alert.text
        ignore = dict(fake_telegram.buttons(ADMIN, alert.message_id))["🙈 Ignore"]
        callback_id = fake_telegram.tap(ADMIN, ADMIN, alert.message_id, ignore)
        double_tap = fake_telegram.tap(ADMIN, ADMIN, alert.message_id, ignore)
        first = await fake_telegram.await_call(
            "answerCallbackQuery", lambda c: c.params["callback_query_id"] == callback_id
        )
        assert first.params["text"] == "Ignored."
        await fake_telegram.await_call("editMessageText", lambda c: "ignored" in c.params["text"])
        edited = [m for m in fake_telegram.messages(ADMIN) if m.message_id == alert.message_id]
        assert "State: ignored" in edited[0].text
        assert fake_telegram.buttons(ADMIN, alert.message_id) == []
        answer = await fake_telegram.await_call(
            "answerCallbackQuery", lambda c: c.params["callback_query_id"] == double_tap
        )
        assert "Already" in answer.params["text"]


async def test_a_burst_of_identical_errors_is_one_message_and_a_few_edits(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        started = time.monotonic()
        for _ in range(10):
            append(log, *[DISK_FULL] * 100)
            await asyncio.sleep(0.1)
        await eventually(lambda: runtime.store.incidents()[0].count == 1000, timeout=10)
        await eventually(lambda: "1000×" in alerts(fake_telegram)[-1].text, timeout=5)
        elapsed = time.monotonic() - started
        assert len(fake_telegram.calls("sendMessage")) == 2  # "up" notice + one alert
        edits = len(fake_telegram.calls("editMessageText"))
        assert 1 <= edits <= elapsed / 0.5 + 2


async def test_commands_answer_for_the_admin(tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    async with running_bot(config):
        append(log, DISK_FULL)
        await fake_telegram.await_call("sendMessage", lambda c: "disco_lleno" in c.params["text"])
        for command, expected in [
            ("/status", "Watched files"),
            ("/errors", "disco_lleno"),
            ("/errors disco_lleno 5", "#1"),
            ("/summary", "Lines read: 1"),
            ("/summary 24h", "disco_lleno: 1"),
            ("/mute timeout 1h", "muted until"),
            ("/status", "Muted"),
            ("/unmute all", "Alerts back on"),
            ("/mute nonsense 1h", "Usage"),
            ("/help", "/status"),
        ]:
            mark = fake_telegram.mark()
            fake_telegram.send_text(ADMIN, command)
            # Wait for the answer itself: a notice queued earlier may still go out after the
            # mark (notices yield to alerts), and would be taken for the answer.
            reply = await fake_telegram.await_call("sendMessage", _says(expected), since=mark)
            assert reply.params["parse_mode"] == "HTML"


async def test_errors_pages_and_opens_an_incident(
    tmp_path: Path, fake_telegram: FakeTelegram, downloads: Path
) -> None:
    config = make_config(tmp_path, fake_telegram, actions_toml(downloads))
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        append(log, *[PERMISSION.format(path=downloads / f"v{n}.mp4") for n in range(4)])
        await eventually(lambda: runtime.store.count_incidents() == 4)
        mark = fake_telegram.mark()
        fake_telegram.send_text(ADMIN, "/errors 3")
        reply = await fake_telegram.await_call(
            "sendMessage", lambda c: "page 1" in c.params["text"], since=mark
        )
        # not messages[-1]: the four alerts may still be arriving after the listing
        listing = reply.response["result"]["message_id"]
        buttons = dict(fake_telegram.buttons(ADMIN, listing))
        fake_telegram.tap(ADMIN, ADMIN, listing, buttons["Older ▶️"])
        await fake_telegram.await_call("editMessageText", lambda c: "page 2" in c.params["text"])
        opened = dict(fake_telegram.buttons(ADMIN, listing))
        first = next(data for text, data in opened.items() if text.startswith("#"))
        mark = fake_telegram.mark()
        fake_telegram.tap(ADMIN, ADMIN, listing, first)
        await fake_telegram.await_call(
            "sendMessage", lambda c: "permisos" in c.params["text"], since=mark
        )


async def test_strangers_get_nothing(tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        append(log, DISK_FULL)
        await fake_telegram.await_call("sendMessage", lambda c: "disco_lleno" in c.params["text"])
        alert = fake_telegram.messages(ADMIN)[-1]
        data = dict(fake_telegram.buttons(ADMIN, alert.message_id))["🙈 Ignore"]
        for command in ("/status", "/errors", "/summary", "/mute all 1h"):
            fake_telegram.send_text(STRANGER, command)
        mark = fake_telegram.mark()
        callback_id = fake_telegram.tap(STRANGER, ADMIN, alert.message_id, data)
        answer = await fake_telegram.await_call(
            "answerCallbackQuery", lambda c: c.params["callback_query_id"] == callback_id
        )
        assert "text" not in answer.params  # the spinner stops; no word is said
        fake_telegram.send_text(ADMIN, "/help")
        await fake_telegram.await_call(
            "sendMessage", lambda c: "/status" in c.params["text"], since=mark
        )
        assert fake_telegram.messages(STRANGER) == []
        assert not any(
            "ignored" in c.params["text"] for c in fake_telegram.calls("editMessageText")
        )
        assert "State: open" in fake_telegram.messages(ADMIN)[-2].text
        assert runtime.store.mutes() == {}


async def test_forged_callback_is_refused(tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    async with running_bot(config):
        append(log, DISK_FULL)
        await fake_telegram.await_call("sendMessage", lambda c: "disco_lleno" in c.params["text"])
        alert = fake_telegram.messages(ADMIN)[-1]
        for forged in ("ign:1:wrongtoken", "act:1:x:chown", "ign:99:abc", "rm -rf /", "page:x:y"):
            callback_id = fake_telegram.tap(ADMIN, ADMIN, alert.message_id, forged, forge=True)

            def answers(call: Call, i: str = callback_id) -> bool:
                return call.params["callback_query_id"] == i

            answer = await fake_telegram.await_call("answerCallbackQuery", answers)
            assert answer.params.get("text") == "This button is no longer valid.", forged
        assert not any(
            "ignored" in c.params["text"] for c in fake_telegram.calls("editMessageText")
        )


@pytest.mark.parametrize("failure", ["502", "429"])
async def test_telegram_failing_for_a_while_delays_the_alert_but_delivers_it_once(
    tmp_path: Path, fake_telegram: FakeTelegram, failure: str
) -> None:
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    async with running_bot(config):
        await fake_telegram.await_call("sendMessage", lambda c: "adminbot" in c.params["text"])
        if failure == "502":
            fake_telegram.fail("sendMessage", status=502, times=3)
        else:
            fake_telegram.rate_limit("sendMessage", retry_after=1, times=2)
        append(log, DISK_FULL)
        call = await fake_telegram.await_call(
            "sendMessage", lambda c: c.ok and "disco_lleno" in c.params["text"], timeout=15
        )
        assert fake_telegram.failures >= 2
        refused = [c for c in fake_telegram.calls("sendMessage") if not c.ok]
        assert refused and call.time > refused[-1].time
        await queue_drained(fake_telegram, log)
        assert len(delivered_alerts(fake_telegram, "CRITICAL · disco_lleno")) == 1


async def test_restart_neither_repeats_old_alerts_nor_loses_one_raised_while_down(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    async with running_bot(config):
        append(log, DISK_FULL)
        await fake_telegram.await_call("sendMessage", lambda c: "disco_lleno" in c.params["text"])
    append(log, "2026-11-29 10:05:00,000 ERROR main: telegram.error.TimedOut: Timed out")
    mark = fake_telegram.mark()
    async with running_bot(config):
        await fake_telegram.await_call(
            "sendMessage", lambda c: "timeout" in c.params["text"], since=mark, timeout=8
        )
        await queue_drained(fake_telegram, log)
    assert len(delivered_alerts(fake_telegram, "CRITICAL · disco_lleno")) == 1
    assert len(delivered_alerts(fake_telegram, "ERROR · timeout")) == 1


async def test_alert_raised_while_telegram_is_down_survives_a_restart(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        fake_telegram.down()
        append(log, DISK_FULL)
        await eventually(lambda: runtime.store.count_incidents() == 1)
        await eventually(lambda: fake_telegram.failures >= 1)
    fake_telegram.up()
    store = Store(config.store_path)
    assert store.outbox_depth() >= 1  # still queued, not dropped
    store.close()
    async with running_bot(config):
        await fake_telegram.await_call(
            "sendMessage", lambda c: c.ok and "disco_lleno" in c.params["text"], timeout=10
        )
        await queue_drained(fake_telegram, log)
    assert len(delivered_alerts(fake_telegram, "CRITICAL · disco_lleno")) == 1


def test_sigterm_sends_the_session_summary_and_exits_0(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ADMINBOT", "TELEGRAM"))},
        "TELEGRAM_TOKEN": fake_telegram.token,
        "ADMIN_ID": str(ADMIN),
        "TELEGRAM_API_BASE_URL": fake_telegram.base_url,
        "ADMINBOT_WATCH": str(tmp_path / "pipeline" / "*.log"),
        "ADMINBOT_DATA_DIR": str(config.data_dir),
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "adminbot", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        fake_telegram.wait_for("sendMessage", lambda c: "adminbot" in c.params["text"], timeout=20)
        deadline = time.monotonic() + 10
        while not fake_telegram.polling and time.monotonic() < deadline:
            time.sleep(0.05)  # SIGTERM during PTB's own start-up is PTB's business, not ours
        started = time.monotonic()
        child.send_signal(signal.SIGTERM)
        code = child.wait(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
    output = child.stdout.read().decode() if child.stdout else ""
    assert code == 0, output
    assert "Traceback" not in output
    assert time.monotonic() - started < 15
    summary = fake_telegram.wait_for("sendMessage", lambda c: "Session summary" in c.params["text"])
    assert summary.ok


async def test_spanish_configuration_speaks_spanish(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram, 'language = "es"\n')
    log = pipeline_log(tmp_path)
    async with running_bot(config):
        await fake_telegram.await_call("sendMessage", lambda c: "en marcha" in c.params["text"])
        append(log, DISK_FULL)
        await fake_telegram.await_call("sendMessage", lambda c: "disco_lleno" in c.params["text"])
        alert = fake_telegram.messages(ADMIN)[-1]
        assert "CRÍTICO" in alert.text
        assert "Estado: abierto" in alert.text
        labels = [text for text, _ in fake_telegram.buttons(ADMIN, alert.message_id)]
        assert labels == [
            "👤 Me encargo",
            "✅ Arreglado",
            "🔎 Contexto",
            "📄 Registro",
            "🙈 Ignorar",
            "🔕 Silenciar…",
        ]
        assert ("status", "Salud, archivos, disco e incidencias") in fake_telegram.commands()


async def test_buttons_keep_working_after_adminbot_restarts(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    async with running_bot(config):
        append(log, DISK_FULL)
        await fake_telegram.await_call("sendMessage", lambda c: "disco_lleno" in c.params["text"])
    alert = next(m for m in fake_telegram.messages(ADMIN) if "disco_lleno" in m.text)
    resolve = dict(fake_telegram.buttons(ADMIN, alert.message_id))["✅ Mark fixed"]
    async with running_bot(config):
        callback_id = fake_telegram.tap(ADMIN, ADMIN, alert.message_id, resolve)
        answer = await fake_telegram.await_call(
            "answerCallbackQuery", lambda c: c.params["callback_query_id"] == callback_id
        )
        assert answer.params["text"] == "Marked as fixed."
        await eventually(
            lambda: (
                "State: resolved"
                in next(
                    m for m in fake_telegram.messages(ADMIN) if m.message_id == alert.message_id
                ).text
            )
        )


async def test_html_telegram_cannot_parse_is_sent_as_plain_text_not_dropped(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    async with running_bot(config):
        await fake_telegram.await_call("sendMessage", lambda c: "adminbot" in c.params["text"])
        fake_telegram.fail(
            "sendMessage",
            status=400,
            times=1,
            description="Bad Request: can't parse entities: unsupported start tag",
        )
        append(log, DISK_FULL)
        plain = await fake_telegram.await_call(
            "sendMessage", lambda c: c.ok and "disco_lleno" in c.params["text"]
        )
        assert "parse_mode" not in plain.params
        assert "<b>" not in plain.params["text"]
        assert fake_telegram.buttons(ADMIN, plain.response["result"]["message_id"])


async def test_an_edit_that_would_change_nothing_is_not_sent(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    """The disk alert was edited with identical text, and a burst alert re-edited with
    the same count: Telegram answered "not modified" each time. Such edits stay home."""
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        append(log, PERMISSION.format(path="/srv/media/same.mp4"))
        await fake_telegram.await_call("sendMessage", lambda c: "permisos" in c.params["text"])
        [incident] = runtime.store.incidents()
        before = len(fake_telegram.calls("editMessageText"))
        for _ in range(3):
            runtime.outbox.incident_changed(incident.id)  # nothing about it changed
        await queue_drained(fake_telegram, log)
        assert len(fake_telegram.calls("editMessageText")) == before
        runtime.remedies.ignore(incident.id, "@ana")  # this one changes what is shown
        await fake_telegram.await_call(
            "editMessageText", lambda c: "ignored" in c.params["text"].lower()
        )


def _says(text: str) -> Callable[[Call], bool]:
    """A sendMessage whose text holds `text` (bound now, not when the loop moves on)."""
    return lambda call: text in call.params["text"]


async def test_mute_on_an_alert_silences_that_incident_only_and_unmute_brings_it_back(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    async with running_bot(config):
        append(log, PERMISSION.format(path="/srv/media/a.mp4"))
        await fake_telegram.await_call("sendMessage", lambda c: "a.mp4" in c.params["text"])
        alert = next(m for m in fake_telegram.messages(ADMIN) if "a.mp4" in m.text)
        mute = dict(fake_telegram.buttons(ADMIN, alert.message_id))["🔕 Mute…"]
        fake_telegram.tap(ADMIN, ADMIN, alert.message_id, mute)
        await fake_telegram.await_call("editMessageReplyMarkup")
        hour = dict(fake_telegram.buttons(ADMIN, alert.message_id))["🔕 1 h"]
        tap = fake_telegram.tap(ADMIN, ADMIN, alert.message_id, hour)
        answer = await fake_telegram.await_call(
            "answerCallbackQuery", lambda c: c.params["callback_query_id"] == tap
        )
        assert "muted until" in answer.params["text"] and "fixes still run" in answer.params["text"]
        await fake_telegram.await_call(
            "editMessageText", lambda c: "Muted until" in c.params["text"]
        )
        labels = [text for text, _ in fake_telegram.buttons(ADMIN, alert.message_id)]
        assert "🔔 Unmute" in labels and "🔕 Mute…" not in labels
        edits = len(fake_telegram.calls("editMessageText"))
        append(log, PERMISSION.format(path="/srv/media/a.mp4"))  # muted: no count edit
        append(log, PERMISSION.format(path="/srv/media/b.mp4"))  # another key: alerted
        await fake_telegram.await_call("sendMessage", lambda c: "b.mp4" in c.params["text"])
        await queue_drained(fake_telegram, log)
        assert len(fake_telegram.calls("editMessageText")) == edits
        unmute = dict(fake_telegram.buttons(ADMIN, alert.message_id))["🔔 Unmute"]
        fake_telegram.tap(ADMIN, ADMIN, alert.message_id, unmute)
        await fake_telegram.await_call(
            "editMessageText", lambda c: "Muted until" not in c.params["text"], since=0
        )
        await eventually(
            lambda: (
                "🔕 Mute…" in [text for text, _ in fake_telegram.buttons(ADMIN, alert.message_id)]
            )
        )
