"""/dashboard in the chat and the listener it points to, with the real bot and fake Bot API."""

from __future__ import annotations

import asyncio
import socket
import urllib.error
import urllib.request
from pathlib import Path

from tests.fake_telegram import FakeTelegram
from tests.harness import ADMIN, make_config, running_bot

GROUP = -100123


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


async def _answer(fake: FakeTelegram, chat_id: int, text: str) -> str:
    """The bot's reply to `text` in `chat_id` (a reply quotes nothing, so it is the one
    message that names /dashboard, a login link or [web])."""
    mark = fake.mark()
    fake.send_text(ADMIN, text, chat_id=None if chat_id == ADMIN else chat_id)
    call = await fake.await_call(
        "sendMessage",
        lambda c: (
            str(c.params.get("chat_id")) == str(chat_id)
            and any(word in c.params["text"] for word in ("/dashboard", "/login?t=", "[web]"))
        ),
        since=mark,
    )
    return str(call.params["text"])


async def test_web_turns_the_listener_on_and_the_link_comes_only_in_a_private_chat(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    port = _free_port()
    toml = f"[web]\nenabled = true\n[http]\nenabled = false\nport = {port}\n"
    config = make_config(tmp_path, fake_telegram, toml, ADMINBOT_CHAT_ID=str(GROUP))
    async with running_bot(config):
        base = f"http://127.0.0.1:{port}"
        health = await asyncio.to_thread(_status, f"{base}/healthz")
        page = await asyncio.to_thread(_status, f"{base}/")
        in_group = await _answer(fake_telegram, GROUP, "/dashboard")
        in_private = await _answer(fake_telegram, ADMIN, "/dashboard")

    assert health == 200
    assert page == 401
    assert "/login" not in in_group
    assert "private chat" in in_group
    assert f'href="{base}/login?t=' in in_private


async def test_dashboard_says_it_is_off_when_web_is_not_enabled(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with running_bot(make_config(tmp_path, fake_telegram)):
        answer = await _answer(fake_telegram, ADMIN, "/dashboard")

    assert "[web] enabled = true" in answer
