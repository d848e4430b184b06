"""End to end: Context, Log and "Ignore this kind" on alerts, against the fake Bot API."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adminbot.store.kinds import KindState
from tests.fake_telegram import FakeTelegram, UploadedFile
from tests.harness import (
    ADMIN,
    append,
    delivered_alerts,
    eventually,
    make_config,
    pipeline_log,
    running_bot,
)

TOKEN = "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ"
INFO = "2026-11-29 10:00:{s:02d},000 INFO descargas: step {n} with bot{token}"
DISK_FULL = "2026-11-29 10:01:00,000 ERROR descargas: OSError: [Errno 28] No space left on device"
UNKNOWN = "2026-11-29 10:02:{s:02d},000 ERROR descargas.db: database is locked after {n} tries"


def _button(fake: FakeTelegram, message_id: int, label: str) -> str:
    return next(data for text, data in fake.buttons(ADMIN, message_id) if label in text)


async def test_context_and_log_show_the_redacted_lines_around_the_error(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    async with running_bot(config):
        await fake_telegram.await_call("sendMessage", lambda c: "adminbot" in c.params["text"])
        before = [INFO.format(s=n, n=n, token=TOKEN) for n in range(1, 31)]
        append(log, *before, DISK_FULL, INFO.format(s=59, n=99, token=TOKEN))
        await fake_telegram.await_call("sendMessage", lambda c: "disco_lleno" in c.params["text"])
        alert = fake_telegram.messages(ADMIN)[-1]

        mark = fake_telegram.mark()
        fake_telegram.tap(
            ADMIN, ADMIN, alert.message_id, _button(fake_telegram, alert.message_id, "Context")
        )
        await fake_telegram.await_call("sendMessage", since=mark)
        context = fake_telegram.last_message(ADMIN).text
        assert "lines 21–32" in context
        assert "▶31│" in context and "No space left on device" in context
        assert "step 20 " not in context and "step 21 " in context and "step 99 " in context
        assert TOKEN not in context

        mark = fake_telegram.mark()
        fake_telegram.tap(
            ADMIN, ADMIN, alert.message_id, _button(fake_telegram, alert.message_id, "Log")
        )
        sent = await fake_telegram.await_call("sendDocument", since=mark)
        assert sent.ok
        document = fake_telegram.last_message(ADMIN).document
        assert isinstance(document, UploadedFile)
        text = document.data.decode()
        assert text.splitlines()[-1].endswith("No space left on device")  # up to the error
        assert len(text.splitlines()) == 31 and TOKEN not in text


async def test_ignore_this_kind_closes_the_alert_and_its_lines_never_alert_again(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram, "[kinds]\nwarmup = 0\n")
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        append(log, UNKNOWN.format(s=1, n=1))
        await fake_telegram.await_call("sendMessage", lambda c: "nuevo_tipo" in c.params["text"])
        alert = fake_telegram.messages(ADMIN)[-1]
        ignore = _button(fake_telegram, alert.message_id, "Ignore this kind")
        query = fake_telegram.tap(ADMIN, ADMIN, alert.message_id, ignore)
        answer = await fake_telegram.await_call(
            "answerCallbackQuery", lambda c: c.params["callback_query_id"] == query
        )
        assert "ignored" in answer.params["text"]
        kind = runtime.kinds.all()[0]
        assert kind.state is KindState.IGNORED

        append(log, *(UNKNOWN.format(s=n, n=n) for n in range(2, 30)))
        await eventually(lambda: runtime.kinds.all()[0].count == 29)
        await asyncio.sleep(0.3)
        assert len(delivered_alerts(fake_telegram, "nuevo_tipo")) == 1
        assert runtime.store.incidents(rule="nuevo_tipo")[0].state.value == "ignored"
