"""End to end, against the fake Bot API: alerts in a forum supergroup go to a topic per
error type (or host), created once; a group that is not a forum gets them plainly; in
the alert group only configured users may act."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from handlers.topics import NOT_A_FORUM
from tests.clocks import FakeClock
from tests.fake_telegram import Call, FakeTelegram
from tests.harness import (
    ADMIN,
    FAST,
    STRANGER,
    append,
    eventually,
    make_config,
    pipeline_log,
    running_bot,
)

GROUP = -777
TOPICS = 'topics = "type"\n'
PERMISSION = (
    "2026-11-29 10:00:01,123 ERROR descargas: No se pudo guardar el video: "
    "PermissionError: [Errno 13] Permission denied: '{path}'"
)
DISK_FULL = "2026-11-29 10:00:02,000 ERROR descargas: OSError: [Errno 28] No space left on device"


def alert_of(fake: FakeTelegram, text: str) -> Call:
    (call,) = [c for c in fake.calls("sendMessage") if c.ok and text in c.params["text"]]
    return call


def created(fake: FakeTelegram) -> list[str]:
    return [c.params["name"] for c in fake.calls("createForumTopic") if c.ok]


async def test_in_a_forum_each_error_type_gets_a_topic_created_once_and_reused(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.make_forum(GROUP)
    config = make_config(
        tmp_path, fake_telegram, f"chat_id = {GROUP}\n", alerts='topics = "type"\n'
    )
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        append(log, PERMISSION.format(path="/srv/a.mp4"))
        await eventually(lambda: any("a.mp4" in m.text for m in fake_telegram.messages(GROUP)))
        append(log, PERMISSION.format(path="/srv/b.mp4"), DISK_FULL)
        await eventually(lambda: any("b.mp4" in m.text for m in fake_telegram.messages(GROUP)))
        await eventually(
            lambda: any("disco_lleno" in m.text for m in fake_telegram.messages(GROUP))
        )
        permisos = runtime.store.topic_thread(GROUP, "permisos")
        disco = runtime.store.topic_thread(GROUP, "disco_lleno")
    assert sorted(created(fake_telegram)) == ["disco_lleno", "permisos"]
    assert fake_telegram.topics(GROUP) == {permisos: "permisos", disco: "disco_lleno"}
    assert alert_of(fake_telegram, "a.mp4").params["message_thread_id"] == permisos
    assert alert_of(fake_telegram, "b.mp4").params["message_thread_id"] == permisos
    assert alert_of(fake_telegram, "disco_lleno").params["message_thread_id"] == disco
    assert permisos != disco


async def test_a_topic_is_remembered_across_a_restart(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.make_forum(GROUP)
    config = make_config(
        tmp_path, fake_telegram, f"chat_id = {GROUP}\n", alerts='topics = "type"\n'
    )
    log = pipeline_log(tmp_path)
    async with running_bot(config):
        append(log, PERMISSION.format(path="/srv/a.mp4"))
        await eventually(lambda: any("a.mp4" in m.text for m in fake_telegram.messages(GROUP)))
    async with running_bot(config):
        append(log, PERMISSION.format(path="/srv/b.mp4"))
        await eventually(lambda: any("b.mp4" in m.text for m in fake_telegram.messages(GROUP)))
    assert created(fake_telegram) == ["permisos"]
    first = alert_of(fake_telegram, "a.mp4").params["message_thread_id"]
    assert alert_of(fake_telegram, "b.mp4").params["message_thread_id"] == first


async def test_a_group_that_is_not_a_forum_gets_alerts_plainly_and_is_asked_once(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(
        tmp_path, fake_telegram, f"chat_id = {GROUP}\n", alerts='topics = "type"\n'
    )
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        append(log, PERMISSION.format(path="/srv/a.mp4"), DISK_FULL)
        await eventually(lambda: any("a.mp4" in m.text for m in fake_telegram.messages(GROUP)))
        await eventually(
            lambda: any("disco_lleno" in m.text for m in fake_telegram.messages(GROUP))
        )
        assert runtime.store.topic_thread(GROUP, NOT_A_FORUM) == 0
    assert len(fake_telegram.calls("createForumTopic")) == 1  # refused once, never again
    assert "message_thread_id" not in alert_of(fake_telegram, "a.mp4").params
    assert "message_thread_id" not in alert_of(fake_telegram, "disco_lleno").params


async def test_in_the_alert_group_a_member_who_is_not_configured_cannot_act(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.make_forum(GROUP)
    config = make_config(
        tmp_path, fake_telegram, f"chat_id = {GROUP}\n", alerts='topics = "type"\n'
    )
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        append(log, PERMISSION.format(path="/srv/a.mp4"))
        await eventually(lambda: any("a.mp4" in m.text for m in fake_telegram.messages(GROUP)))
        alert = next(m for m in fake_telegram.messages(GROUP) if "a.mp4" in m.text).message_id
        ignore = dict(fake_telegram.buttons(GROUP, alert))["🙈 Ignore"]
        query = fake_telegram.tap(STRANGER, GROUP, alert, ignore)
        answer = await fake_telegram.await_call(
            "answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query
        )
        assert not answer.params.get("text")  # told nothing
        mark = fake_telegram.mark()
        fake_telegram.send_text(STRANGER, "/status", chat_id=GROUP)
        fake_telegram.send_text(ADMIN, "/help", chat_id=GROUP)
        help_ = await fake_telegram.await_call(
            "sendMessage", lambda c: "/status" in c.params["text"], since=mark
        )
        assert help_.params["chat_id"] == GROUP  # the admin is answered there; the member not
        (incident,) = runtime.store.incidents()
        assert incident.state.value == "open"
    replies = [
        c
        for c in fake_telegram.calls()[mark:]
        if c.method == "sendMessage" and "Watched files" in c.params["text"]
    ]
    assert replies == []  # the member's /status got nothing


async def test_a_forum_where_the_bot_may_not_make_topics_gets_alerts_plainly_and_is_asked_again(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.make_forum(GROUP, may_create_topics=False)
    config = make_config(tmp_path, fake_telegram, f"chat_id = {GROUP}\n", alerts=TOPICS)
    log = pipeline_log(tmp_path)
    async with running_bot(config) as (_, runtime):
        append(log, PERMISSION.format(path="/srv/a.mp4"))
        await eventually(lambda: any("a.mp4" in m.text for m in fake_telegram.messages(GROUP)))
        assert runtime.store.topic_thread(GROUP, NOT_A_FORUM) is None  # a right can be granted
    async with running_bot(config):
        append(log, DISK_FULL)
        await eventually(
            lambda: any("disco_lleno" in m.text for m in fake_telegram.messages(GROUP))
        )
    assert len(fake_telegram.calls("createForumTopic")) == 2  # once per run, not per alert
    assert "message_thread_id" not in alert_of(fake_telegram, "a.mp4").params


async def test_a_reminder_goes_into_its_alerts_topic_as_a_reply(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.make_forum(GROUP)
    clock = FakeClock(datetime(2026, 11, 29, 10, 0, tzinfo=UTC))
    config = make_config(tmp_path, fake_telegram, f"chat_id = {GROUP}\n", alerts=TOPICS)
    log = pipeline_log(tmp_path)
    async with running_bot(config, clock=clock, periods=replace(FAST, check=0.1)) as (_, runtime):
        append(log, DISK_FULL)
        alert = await fake_telegram.await_call(
            "sendMessage", lambda c: "CRITICAL · disco_lleno" in c.params["text"], timeout=10
        )
        await eventually(lambda: runtime.store.alerted_at(1))  # reminders count from here
        clock.now += timedelta(minutes=16)
        reminder = await fake_telegram.await_call(
            "sendMessage", lambda c: "nobody is on it" in c.params["text"], timeout=10
        )
    assert reminder.params["message_thread_id"] == alert.params["message_thread_id"]
    replied = reminder.params.get("reply_to_message_id") or reminder.params.get(
        "reply_parameters", {}
    ).get("message_id")
    assert int(replied) == alert.response["result"]["message_id"]
