"""Which forum topic an alert goes to: by type, by host, or none; only in the alert chat."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
from telegram import Bot

from adminbot.config import load_config
from handlers.topics import Topics
from tests.clocks import FakeClock
from tests.fake_bot import real_core


@pytest.mark.parametrize(
    ("mode", "expected"), [("type", "timeout"), ("host", "nas-2"), ("none", None)]
)
async def test_a_topic_is_named_for_the_alerts_type_or_host(
    tmp_path: Path, mode: str, expected: str | None
) -> None:
    (tmp_path / "adminbot.toml").write_text(f'chat_id = -5\n[alerts]\ntopics = "{mode}"\n')
    config = load_config({}, cwd=tmp_path)
    async with real_core(tmp_path / "core", FakeClock()) as runtime:
        topics = Topics(cast(Bot, None), config, runtime.store)
        assert topics.name("timeout", "nas-2") == expected


async def test_no_topic_is_asked_for_outside_the_alert_chat(tmp_path: Path) -> None:
    async with real_core(tmp_path, FakeClock()) as runtime:
        topics = Topics(cast(Bot, None), runtime.config, runtime.store)
        assert await topics.thread(4242, "timeout") is None  # a private chat: never a topic
