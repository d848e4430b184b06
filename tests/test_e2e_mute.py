"""End to end, against the fake Bot API: how long a Mute lasts, and lifting mutes from a list."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from adminbot.incidents.book import key_target
from tests.fake_telegram import FakeTelegram
from tests.harness import ADMIN, append, eventually, make_config, pipeline_log, running_bot

PERMISSION = (
    "2026-11-29 10:00:01,123 ERROR descargas: No se pudo guardar el video: "
    "PermissionError: [Errno 13] Permission denied: '{path}'"
)


def labels(fake: FakeTelegram, chat: int, message_id: int) -> list[str]:
    return [text for text, _ in fake.buttons(chat, message_id)]


async def permission_alert(fake: FakeTelegram, log: Path) -> int:
    """A permisos line for /srv/media/a.mp4 in the log, and its alert's message id."""
    append(log, PERMISSION.format(path="/srv/media/a.mp4"))
    await fake.await_call("sendMessage", lambda c: "a.mp4" in c.params["text"])
    return next(m for m in fake.messages(ADMIN) if "a.mp4" in m.text).message_id


async def open_mute_menu(fake: FakeTelegram, alert: int) -> None:
    """Tap the alert's Mute… button and wait for its choices."""
    fake.tap(ADMIN, ADMIN, alert, dict(fake.buttons(ADMIN, alert))["🔕 Mute…"])
    await fake.await_call("editMessageReplyMarkup")


async def test_the_mute_button_offers_1_8_and_24_hours_and_back_restores_the_alert_buttons(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        alert = await permission_alert(fake_telegram, log)
        before = labels(fake_telegram, ADMIN, alert)
        await open_mute_menu(fake_telegram, alert)
        assert labels(fake_telegram, ADMIN, alert) == ["🔕 1 h", "🔕 8 h", "🔕 24 h", "↩️ Back"]
        assert not runtime.store.mutes()  # choosing is not muting
        back = dict(fake_telegram.buttons(ADMIN, alert))["↩️ Back"]
        fake_telegram.tap(ADMIN, ADMIN, alert, back)
        await eventually(lambda: labels(fake_telegram, ADMIN, alert) == before)


async def test_muting_for_8_hours_mutes_that_incident_until_then_and_the_alert_says_so(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        alert = await permission_alert(fake_telegram, log)
        await open_mute_menu(fake_telegram, alert)
        eight = dict(fake_telegram.buttons(ADMIN, alert))["🔕 8 h"]
        assert len(eight.encode()) <= 64
        fake_telegram.tap(ADMIN, ADMIN, alert, eight)
        await fake_telegram.await_call(
            "editMessageText", lambda c: "Muted until" in c.params["text"]
        )
        (incident,) = runtime.store.incidents()
        until = runtime.store.mutes()[key_target(incident.rule, incident.key)]
        left = until - runtime.clock()
        assert timedelta(hours=7, minutes=59) < left <= timedelta(hours=8)
        assert "🔔 Unmute" in labels(fake_telegram, ADMIN, alert)


async def test_unmute_alone_lists_each_mute_with_a_button_that_lifts_only_that_one(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        alert = await permission_alert(fake_telegram, log)
        await open_mute_menu(fake_telegram, alert)
        fake_telegram.tap(ADMIN, ADMIN, alert, dict(fake_telegram.buttons(ADMIN, alert))["🔕 1 h"])
        await eventually(lambda: "🔔 Unmute" in labels(fake_telegram, ADMIN, alert))
        for command in ("/mute timeout 2h", "/mute all 30m"):
            mark = fake_telegram.mark()
            fake_telegram.send_text(ADMIN, command)
            await fake_telegram.await_call("sendMessage", since=mark)
        mark = fake_telegram.mark()
        fake_telegram.send_text(ADMIN, "/unmute")
        reply = await fake_telegram.await_call(
            "sendMessage", lambda c: "Active mutes" in c.params["text"], since=mark
        )
        listing = reply.response["result"]["message_id"]
        text = reply.params["text"]
        assert (
            "permisos · path=/srv/media/a.mp4" in text
            and "timeout" in text
            and "all alerts" in text
        )
        buttons = dict(fake_telegram.buttons(ADMIN, listing))
        assert set(buttons) == {"🔔 permisos · …/srv/media/a.mp4", "🔔 timeout", "🔔 all alerts"}
        assert all(len(data.encode()) <= 64 and "/srv" not in data for data in buttons.values())
        fake_telegram.tap(ADMIN, ADMIN, listing, buttons["🔔 permisos · …/srv/media/a.mp4"])
        await eventually(lambda: len(fake_telegram.buttons(ADMIN, listing)) == 2)
        assert set(runtime.store.mutes()) == {"timeout", "all"}
        await eventually(lambda: "🔕 Mute…" in labels(fake_telegram, ADMIN, alert))
        fake_telegram.tap(ADMIN, ADMIN, listing, buttons["🔔 all alerts"])
        await eventually(lambda: len(fake_telegram.buttons(ADMIN, listing)) == 1)
        assert set(runtime.store.mutes()) == {"timeout"}  # "all" is one mute, not every mute
        mark = fake_telegram.mark()
        fake_telegram.send_text(ADMIN, "/unmute timeout")
        await fake_telegram.await_call(
            "sendMessage", lambda c: "Alerts back on" in c.params["text"], since=mark
        )
        assert runtime.store.mutes() == {}


async def test_a_viewers_tap_in_the_unmute_list_is_refused_and_the_mute_stays(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    viewer = 5151
    config = make_config(tmp_path, fake_telegram, f"[access]\nviewers = [{viewer}]\n")
    fake_telegram.add_user(viewer, first_name="Vera")
    async with running_bot(config) as (_, runtime):
        runtime.book.mute("timeout", timedelta(hours=1), "test")
        fake_telegram.send_text(viewer, "/unmute")
        reply = await fake_telegram.await_call(
            "sendMessage", lambda c: "Active mutes" in c.params["text"]
        )
        listing = reply.response["result"]["message_id"]
        (data,) = [d for _, d in fake_telegram.buttons(viewer, listing)]
        query = fake_telegram.tap(viewer, viewer, listing, data)
        answer = await fake_telegram.await_call(
            "answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query
        )
        assert "Viewers cannot" in answer.params["text"]
        assert set(runtime.store.mutes()) == {"timeout"}
