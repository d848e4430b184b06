"""Shared fixtures: the fake Telegram Bot API that end-to-end tests talk to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_telegram import FakeTelegram


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A started fake Bot API on 127.0.0.1 with one known token, stopped after the test."""
    with FakeTelegram() as fake:
        yield fake
