"""Commands and taps are accepted only from configured chats: an admin's private chat,
or the alert chat (`chat_id`); alerts go to the alert chat when it is set."""

from __future__ import annotations

from pathlib import Path

from adminbot.service.runtime import Runtime
from tests.fake_telegram import FakeTelegram
from tests.harness import ADMIN, append, eventually, make_config, pipeline_log, running_bot

DISK_FULL = "2026-11-29 10:00:02,000 ERROR descargas: OSError: [Errno 28] No space left on device"
OTHER_GROUP = -900
ALERT_GROUP = -777


async def test_an_admins_status_in_another_group_gets_nothing(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    async with running_bot(config):
        fake_telegram.send_text(ADMIN, "/status", chat_id=OTHER_GROUP)
        mark = fake_telegram.mark()
        fake_telegram.send_text(ADMIN, "/help")
        await fake_telegram.await_call(
            "sendMessage", lambda c: c.params["chat_id"] == ADMIN, since=mark
        )  # updates are handled in order: the /status before it was answered or refused
    assert fake_telegram.messages(OTHER_GROUP) == []  # the bot's messages there: none


async def test_with_an_alert_chat_alerts_go_there_and_commands_work_there(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram, f"chat_id = {ALERT_GROUP}\n")
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        append(log, DISK_FULL)
        alert = await fake_telegram.await_call(
            "sendMessage", lambda c: "disco_lleno" in c.params["text"], timeout=10
        )
        assert alert.params["chat_id"] == ALERT_GROUP
        mark = fake_telegram.mark()
        fake_telegram.send_text(ADMIN, "/status", chat_id=ALERT_GROUP)
        await fake_telegram.await_call(
            "sendMessage", lambda c: c.params["chat_id"] == ALERT_GROUP, since=mark
        )
        message = next(m for m in fake_telegram.messages(ALERT_GROUP) if "disco_lleno" in m.text)
        ignore = dict(fake_telegram.buttons(ALERT_GROUP, message.message_id))["🙈 Ignore"]
        fake_telegram.tap(ADMIN, ALERT_GROUP, message.message_id, ignore)
        [incident] = runtime.store.incidents()
        fake_telegram.send_text(ADMIN, "/status", chat_id=OTHER_GROUP)
        await eventually(lambda: _state(runtime, incident.id) == "ignored")
    assert [m for m in fake_telegram.messages(ADMIN) if "disco_lleno" in m.text] == []
    assert fake_telegram.messages(OTHER_GROUP) == []  # the bot's messages there: none


def _state(runtime: Runtime, incident_id: int) -> str | None:
    found = runtime.store.incident(incident_id)
    return found.state.value if found is not None else None
