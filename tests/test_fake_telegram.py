"""The fake Bot API speaks PTB's dialect: real PTB objects drive it, users see the result."""

from __future__ import annotations

import asyncio
import html
import struct
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import httpx
import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)
from telegram.request import HTTPXRequest

from tests.fake_telegram import NOT_MODIFIED, FakeTelegram, UploadedFile

ADMIN = 4242


# -- helpers ------------------------------------------------------------------------------


def _request() -> HTTPXRequest:
    return HTTPXRequest(connect_timeout=2, read_timeout=2, write_timeout=2, pool_timeout=2)


def make_bot(fake: FakeTelegram, token: str | None = None) -> Bot:
    """A bare PTB Bot against the fake, with timeouts short enough to fail a test fast."""
    return Bot(
        token or fake.token,
        base_url=fake.base_url,
        request=_request(),
        get_updates_request=_request(),
    )


async def eventually(condition: Callable[[], bool], within: float = 3.0) -> None:
    """Wait for `condition` without blocking the event loop the bot runs on."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def cmd_status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with an HTML status and buttons, like the real bot's /status."""
    period = context.args[0] if context.args else "1h"
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Ack", callback_data="ack:7"),
                InlineKeyboardButton("Mute 1h", callback_data="mute:7:3600"),
            ]
        ]
    )
    assert update.effective_message is not None
    await update.effective_message.reply_html(
        f"<b>Status</b> for {html.escape(period)}: 3 &lt;errors&gt; in <code>dl.log</code>",
        reply_markup=keyboard,
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the tap first, then replace the alert with its outcome (no buttons)."""
    query = update.callback_query
    assert query is not None
    await query.answer("Done")
    await query.edit_message_text(
        f"<i>Acknowledged</i> ({html.escape(query.data or '')})", parse_mode=ParseMode.HTML
    )


def build_app(fake: FakeTelegram) -> Application:
    """The real PTB Application wired to the fake, with the two handlers above."""
    app = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(fake.base_url)
        .connect_timeout(2)
        .read_timeout(2)
        .write_timeout(2)
        .pool_timeout(2)
        .get_updates_connect_timeout(2)
        .get_updates_read_timeout(2)
        .get_updates_pool_timeout(2)
        .build()
    )
    app.add_handler(CommandHandler("status", cmd_status))
    app.add_handler(CallbackQueryHandler(on_button))
    return app


@pytest.fixture
async def running_app(fake_telegram: FakeTelegram) -> AsyncIterator[Application]:
    """The Application long polling the fake with a 1 s poll, stopped after the test."""
    app = build_app(fake_telegram)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=1, poll_interval=0)
        yield app
        await app.updater.stop()
        await app.stop()


# -- the real Application end to end --------------------------------------------------------


async def test_command_reply_and_button_tap_show_what_the_user_sees(
    fake_telegram: FakeTelegram, running_app: Application
) -> None:
    fake = fake_telegram
    fake.send_text(ADMIN, "/status 24h")

    sent = await fake.await_call("sendMessage")
    assert sent.ok
    assert sent.params["chat_id"] == ADMIN  # JSON-decoded, not the string "4242"
    reply = fake.last_message(ADMIN)
    assert reply.text == "Status for 24h: 3 <errors> in dl.log"
    assert reply.parse_mode == "HTML"
    assert [e["type"] for e in reply.entities] == ["bold", "code"]
    assert fake.buttons(ADMIN, reply.message_id) == [("Ack", "ack:7"), ("Mute 1h", "mute:7:3600")]

    before_tap = fake.mark()
    callback_id = fake.tap(ADMIN, ADMIN, reply.message_id, "ack:7")

    answer = await fake.await_call(
        "answerCallbackQuery", lambda c: c.params["callback_query_id"] == callback_id
    )
    assert answer.ok and answer.params["text"] == "Done"
    await fake.await_call("editMessageText", since=before_tap)
    edited = fake.last_message(ADMIN)
    assert edited.message_id == reply.message_id
    assert edited.text == "Acknowledged (ack:7)"
    assert edited.edits == 1
    assert fake.buttons(ADMIN, edited.message_id) == []  # an edit without markup drops it
    assert len(fake.messages(ADMIN)) == 1
    await eventually(lambda: fake.pending_updates() == 0)  # PTB confirmed both updates


async def test_application_startup_handshake_is_understood(
    fake_telegram: FakeTelegram, running_app: Application
) -> None:
    assert running_app.bot.username == "adminbot_test_bot"
    assert running_app.bot.id == fake_telegram.bot_id
    assert fake_telegram.calls("deleteWebhook")[0].ok
    fake_telegram.send_text(ADMIN, "hi")  # ends the current long poll at once
    poll = await fake_telegram.await_call("getUpdates", lambda c: bool(c.response["result"]))
    assert poll.params["timeout"] == 1  # a timedelta, sent as whole seconds
    assert poll.params["offset"] == 0  # JSON-decoded; PTB sends no limit by default


async def test_stopping_the_server_under_a_polling_app_does_not_hang(
    fake_telegram: FakeTelegram,
) -> None:
    app = build_app(fake_telegram)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=1, poll_interval=0)
        await eventually(lambda: fake_telegram.polling)
        started = time.monotonic()
        await asyncio.to_thread(fake_telegram.stop)
        assert time.monotonic() - started < 1.5
        # PTB may sit out its 1 s retry backoff here: stop the app before the fake in tests
        await asyncio.wait_for(app.updater.stop(), timeout=5)
        await asyncio.wait_for(app.stop(), timeout=5)
    assert time.monotonic() - started < 5


# -- what Telegram refuses ------------------------------------------------------------------


async def test_unescaped_html_is_refused_and_ptb_raises_bad_request(
    fake_telegram: FakeTelegram,
) -> None:
    async with make_bot(fake_telegram) as bot:
        with pytest.raises(BadRequest, match=r"(?i)parse entities: unsupported start tag"):
            await bot.send_message(ADMIN, "disk <full> at 90%", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r'(?i)end tag corresponding to start tag "b"'):
            await bot.send_message(ADMIN, "<b>unclosed", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r'(?i)unescaped "&"'):
            await bot.send_message(ADMIN, "<b>cpu & ram</b>", parse_mode=ParseMode.HTML)
    assert [c.status for c in fake_telegram.calls("sendMessage")] == [400, 400, 400]
    assert fake_telegram.messages(ADMIN) == []


async def test_length_limit_counts_visible_characters(fake_telegram: FakeTelegram) -> None:
    async with make_bot(fake_telegram) as bot:
        escaped = await bot.send_message(ADMIN, "&lt;" * 4096, parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(ADMIN, "x" * 4097)
    assert escaped.text == "<" * 4096
    assert fake_telegram.last_message(ADMIN).text == "<" * 4096


async def test_callback_data_over_64_bytes_is_refused(fake_telegram: FakeTelegram) -> None:
    long_data = "ñ" * 33  # 33 characters but 66 bytes
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data=long_data)]])
    async with make_bot(fake_telegram) as bot:
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(ADMIN, "alert", reply_markup=markup)


async def test_edits_that_change_nothing_or_miss_are_refused(fake_telegram: FakeTelegram) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Ack", callback_data="ack:1")]])
    async with make_bot(fake_telegram) as bot:
        sent = await bot.send_message(ADMIN, "<b>down</b>", parse_mode="HTML", reply_markup=markup)
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            same = "<strong>down</strong>"  # other tags, same rendering
            await bot.edit_message_text(
                same, ADMIN, sent.message_id, parse_mode="HTML", reply_markup=markup
            )
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("x", ADMIN, sent.message_id + 100)
        await bot.edit_message_reply_markup(ADMIN, sent.message_id, reply_markup=None)
        with pytest.raises(BadRequest) as not_modified:
            await bot.edit_message_reply_markup(ADMIN, sent.message_id, reply_markup=None)
    # PTB strips "Bad Request: " and str.capitalize()s the rest, lowercasing it
    assert not_modified.value.message == NOT_MODIFIED.removeprefix("Bad Request: ").capitalize()
    assert fake_telegram.buttons(ADMIN, sent.message_id) == []
    assert fake_telegram.last_message(ADMIN).text == "down"


async def test_unknown_token_is_unauthorized_for_ptb(fake_telegram: FakeTelegram) -> None:
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with make_bot(fake_telegram, token="999:not-the-token"):
            pass
    assert fake_telegram.calls("getMe")[0].status == 401


# -- injected failures ----------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")
async def test_flood_control_surfaces_as_retry_after(fake_telegram: FakeTelegram) -> None:
    fake_telegram.rate_limit("sendMessage", retry_after=7)
    async with make_bot(fake_telegram) as bot:
        with pytest.raises(RetryAfter) as flood:
            await bot.send_message(ADMIN, "first")
        await bot.send_message(ADMIN, "second")
    retry = flood.value.retry_after  # an int in PTB 22 (with a warning), later a timedelta
    assert (retry.total_seconds() if isinstance(retry, timedelta) else retry) == 7
    assert fake_telegram.calls("sendMessage")[0].response["parameters"] == {"retry_after": 7}
    assert fake_telegram.failures == 1
    assert [m.text for m in fake_telegram.messages(ADMIN)] == ["second"]


async def test_proxy_errors_and_outages_surface_as_network_error(
    fake_telegram: FakeTelegram,
) -> None:
    async with make_bot(fake_telegram) as bot:
        fake_telegram.fail(None, 502, times=1)
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(ADMIN, "a")
        fake_telegram.down(how="reset")
        with pytest.raises(NetworkError):
            await bot.send_chat_action(ADMIN, "typing")
        fake_telegram.up()
        await bot.send_message(ADMIN, "back")
        fake_telegram.down(seconds=0.2)
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(ADMIN, "during the outage")
        await asyncio.sleep(0.25)  # the outage ends by itself
        await bot.send_message(ADMIN, "after the outage")
    statuses = [c.status for c in fake_telegram.calls()[-5:]]
    assert statuses == [502, 0, 200, 502, 200]
    assert fake_telegram.calls("sendMessage")[0].response is None  # an HTML page, not JSON
    assert fake_telegram.failures == 3
    assert [m.text for m in fake_telegram.messages(ADMIN)] == ["back", "after the outage"]


async def test_stopped_server_makes_ptb_fail_fast(fake_telegram: FakeTelegram) -> None:
    async with make_bot(fake_telegram) as bot:
        fake_telegram.stop()
        started = time.monotonic()
        with pytest.raises(NetworkError):
            await bot.send_message(ADMIN, "anyone?")
        assert time.monotonic() - started < 1
        fake_telegram.start()  # same port: the same Bot works again
        assert (await bot.send_message(ADMIN, "hello again")).text == "hello again"


# -- long polling -------------------------------------------------------------------------


async def test_long_poll_wakes_on_injection_and_on_stop(fake_telegram: FakeTelegram) -> None:
    async with make_bot(fake_telegram) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=10))
        await eventually(lambda: fake_telegram.polling)
        fake_telegram.send_text(ADMIN, "hello")
        updates = await asyncio.wait_for(poll, timeout=2)
        assert updates[0].message is not None and updates[0].message.text == "hello"

        poll = asyncio.create_task(bot.get_updates(offset=updates[0].update_id + 1, timeout=10))
        await eventually(lambda: fake_telegram.polling)
        started = time.monotonic()
        await asyncio.to_thread(fake_telegram.stop)
        assert await asyncio.wait_for(poll, timeout=2) == ()
        assert time.monotonic() - started < 1.5
    assert fake_telegram.pending_updates() == 0


async def test_a_second_poller_ends_the_first_with_conflict(fake_telegram: FakeTelegram) -> None:
    async with make_bot(fake_telegram) as first, make_bot(fake_telegram) as second:
        waiting = asyncio.create_task(first.get_updates(timeout=10))
        await eventually(lambda: fake_telegram.polling)
        assert await second.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match=r"(?i)terminated by other getupdates request"):
            await asyncio.wait_for(waiting, timeout=2)


def test_offset_confirms_and_limit_caps(fake_telegram: FakeTelegram) -> None:
    for word in ("one", "two", "three"):
        fake_telegram.send_text(ADMIN, word)
    url = f"{fake_telegram.base_url}{fake_telegram.token}/getUpdates"
    first = httpx.post(url, data={"limit": "2"}).json()["result"]
    assert [u["message"]["text"] for u in first] == ["one", "two"]
    rest = httpx.post(url, data={"offset": str(first[-1]["update_id"] + 1)}).json()["result"]
    assert [u["message"]["text"] for u in rest] == ["three"]
    assert fake_telegram.pending_updates() == 1
    started = time.monotonic()
    empty = httpx.post(url, json={"offset": rest[0]["update_id"] + 1, "timeout": 0.3}).json()
    assert empty == {"ok": True, "result": []}
    assert 0.25 < time.monotonic() - started < 2


# -- wire formats ---------------------------------------------------------------------------


async def test_multipart_upload_arrives_byte_for_byte(fake_telegram: FakeTelegram) -> None:
    payload = b"line 1\r\n\x00\xff--boundary-ish\r\nend"
    async with make_bot(fake_telegram) as bot:
        sent = await bot.send_document(
            ADMIN, payload, filename="tail.log", caption="<b>last lines</b>", parse_mode="HTML"
        )
    assert sent.document is not None and sent.document.file_name == "tail.log"
    stored = fake_telegram.last_message(ADMIN)
    assert stored.text == "last lines"
    assert isinstance(stored.document, UploadedFile) and stored.document.data == payload
    assert fake_telegram.calls("sendDocument")[0].params["chat_id"] == ADMIN


def tiny_png(width: int, height: int) -> bytes:
    """A valid grey PNG of the given size, made by hand (signature, IHDR, IDAT, IEND)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def test_a_photo_upload_keeps_its_bytes_and_caption_and_answers_its_size(
    fake_telegram: FakeTelegram,
) -> None:
    png = tiny_png(30, 20)
    async with make_bot(fake_telegram) as bot:
        sent = await bot.send_photo(
            ADMIN, png, caption="<b>chart</b> of 24 h", parse_mode="HTML", disable_notification=True
        )
    assert [(p.width, p.height) for p in sent.photo] == [(30, 20)]
    assert sent.caption == "chart of 24 h"
    stored = fake_telegram.last_message(ADMIN)
    assert stored.text == "chart of 24 h"
    assert isinstance(stored.photo, UploadedFile) and stored.photo.data == png
    (call,) = fake_telegram.calls("sendPhoto")
    assert call.params["chat_id"] == ADMIN and call.params["disable_notification"] is True


async def test_a_photo_that_is_not_an_image_is_refused_as_telegram_does(
    fake_telegram: FakeTelegram,
) -> None:
    async with make_bot(fake_telegram) as bot:
        with pytest.raises(BadRequest, match="Image_process_failed"):
            await bot.send_photo(ADMIN, b"not a picture at all", caption="x")
    assert fake_telegram.messages(ADMIN) == []


def test_raw_json_and_form_bodies_decode_the_same(fake_telegram: FakeTelegram) -> None:
    url = f"{fake_telegram.base_url}{fake_telegram.token}/sendMessage"
    keyboard = {"inline_keyboard": [[{"text": "Ack", "callback_data": "ack:1"}]]}
    httpx.post(url, json={"chat_id": ADMIN, "text": "123", "reply_markup": keyboard})
    httpx.post(url, data={"chat_id": str(ADMIN), "text": "123", "reply_markup": str(keyboard)})
    httpx.get(url, params={"chat_id": str(ADMIN), "text": "123"})  # GET with a query string
    json_call, form_call, get_call = fake_telegram.calls("sendMessage")
    assert json_call.params == {"chat_id": ADMIN, "text": "123", "reply_markup": keyboard}
    assert get_call.ok and get_call.params == {"chat_id": ADMIN, "text": "123"}
    assert json_call.ok and form_call.status == 400  # str(dict) is not JSON: refused
    shown = [(m.text, m.reply_markup) for m in fake_telegram.messages(ADMIN)]
    assert shown == [("123", keyboard["inline_keyboard"]), ("123", [])]


def test_unknown_method_and_malformed_token_are_not_found(fake_telegram: FakeTelegram) -> None:
    base = fake_telegram.base_url
    missing = httpx.post(f"{base}{fake_telegram.token}/sendTelepathy")
    malformed = httpx.post(f"{base}nonsense/getMe")
    for answer in (missing, malformed):
        assert answer.status_code == 404
        assert answer.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    wrong = httpx.post(f"{base}1:wrong/getMe")
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_command_menu_round_trips(fake_telegram: FakeTelegram) -> None:
    async with make_bot(fake_telegram) as bot:
        await bot.set_my_commands([BotCommand("status", "Health"), BotCommand("mute", "Silence")])
        menu = await bot.get_my_commands()
        assert [(c.command, c.description) for c in menu] == fake_telegram.commands()
        with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
            await bot.set_my_commands([BotCommand("Status!", "bad")])
        await bot.delete_my_commands()
        assert await bot.send_chat_action(ADMIN, "typing") is True
        assert await bot.log_out() is True and await bot.close() is True
    assert fake_telegram.commands() == []


# -- test helpers themselves --------------------------------------------------------------


def test_wait_for_timeout_lists_the_calls_seen(fake_telegram: FakeTelegram) -> None:
    httpx.post(f"{fake_telegram.base_url}{fake_telegram.token}/getMe")
    with pytest.raises(AssertionError, match=r"no matching sendMessage.*\n.*#0 getMe -> 200"):
        fake_telegram.wait_for("sendMessage", timeout=0.05)


def test_tapping_a_button_the_user_cannot_see_fails_the_test(fake_telegram: FakeTelegram) -> None:
    url = f"{fake_telegram.base_url}{fake_telegram.token}/sendMessage"
    httpx.post(url, data={"chat_id": ADMIN, "text": "no buttons"})
    with pytest.raises(AssertionError, match="has no button 'ack:1'"):
        fake_telegram.tap(ADMIN, ADMIN, 1, "ack:1")


def test_concurrent_injection_keeps_every_update(fake_telegram: FakeTelegram) -> None:
    def flood(user: int) -> None:
        for n in range(25):
            fake_telegram.send_text(user, f"msg {n}")

    threads = [threading.Thread(target=flood, args=(100 + i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake_telegram.pending_updates() == 100
    url = f"{fake_telegram.base_url}{fake_telegram.token}/getUpdates"
    updates = httpx.post(url, data={"limit": "100"}).json()["result"]
    assert len({u["update_id"] for u in updates}) == 100
    assert [u["message"]["message_id"] for u in updates if u["message"]["chat"]["id"] == 100] == (
        list(range(1, 26))
    )
