"""Requests to Telegram go out only while this instance is the front; long polls fit the lease."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator

import pytest
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter  # not re-exported

from adminbot.store.fence import Fence
from handlers.leased import LeasedRequest, NotTheFront, fitted_poll_timeout
from tests.clocks import FakeMonotonic
from tests.fake_telegram import FakeTelegram
from tests.harness import eventually


class Role:
    """The lease as the request sees it, set by the test."""

    def __init__(self, left: float) -> None:
        self.left = left

    def fence(self) -> Fence | None:
        return Fence("a", 1) if self.held else None

    @property
    def held(self) -> bool:
        return self.left > 0

    def remaining(self) -> float:
        return self.left

    async def start(self) -> None:
        return None

    async def stop(self, after: float = 0.0) -> None:
        return None


@pytest.fixture
async def opened() -> AsyncIterator[list[LeasedRequest]]:
    requests: list[LeasedRequest] = []
    yield requests
    for request in requests:
        await request.shutdown()


async def _request(
    opened: list[LeasedRequest], role: Role, *, long_polls: bool = False
) -> LeasedRequest:
    request = LeasedRequest(role, connection_pool_size=1, long_polls=long_polls)
    await request.initialize()
    opened.append(request)
    return request


def _url(fake: FakeTelegram, method: str) -> str:
    return f"{fake.base_url}{fake.token}/{method}"


async def test_a_standby_sends_nothing_but_may_check_its_token(
    fake_telegram: FakeTelegram, opened: list[LeasedRequest]
) -> None:
    request = await _request(opened, Role(left=0.0))
    with pytest.raises(NotTheFront):
        await request.do_request(_url(fake_telegram, "sendMessage"), "POST")
    status, _ = await request.do_request(_url(fake_telegram, "getMe"), "POST")
    assert status == 200
    assert [c.method for c in fake_telegram.calls()] == ["getMe"]


async def test_the_front_sends(fake_telegram: FakeTelegram, opened: list[LeasedRequest]) -> None:
    request = await _request(opened, Role(left=math.inf))
    status, _ = await request.do_request(_url(fake_telegram, "deleteWebhook"), "POST")
    assert status == 200


async def test_a_long_poll_waits_until_the_lease_outlasts_it(
    fake_telegram: FakeTelegram, opened: list[LeasedRequest]
) -> None:
    role = Role(left=1.5)
    request = await _request(opened, role, long_polls=True)
    one_second = RequestData([RequestParameter.from_input("timeout", 1)])
    poll = asyncio.create_task(
        request.do_request(_url(fake_telegram, "getUpdates"), "POST", one_second)
    )
    await asyncio.sleep(0.3)
    assert fake_telegram.calls("getUpdates") == []  # 1 s and the margin do not fit in 1.5 s
    role.left = 10.0  # renewed
    status, _ = await poll
    assert status == 200
    assert len(fake_telegram.calls("getUpdates")) == 1


async def test_a_long_poll_is_not_sent_while_the_lease_is_lost(
    fake_telegram: FakeTelegram, opened: list[LeasedRequest]
) -> None:
    role = Role(left=0.5)
    request = await _request(opened, role, long_polls=True)
    poll = asyncio.create_task(request.do_request(_url(fake_telegram, "getUpdates"), "POST"))
    await asyncio.sleep(0.3)
    role.left = 0.0
    await asyncio.sleep(0.3)
    assert not poll.done()  # it waits for the role; the updater cancels it when it stops
    poll.cancel()
    with pytest.raises(asyncio.CancelledError):
        await poll
    assert fake_telegram.calls("getUpdates") == []


async def test_a_deposed_fronts_closing_confirmation_is_not_sent(
    fake_telegram: FakeTelegram, opened: list[LeasedRequest]
) -> None:
    request = await _request(opened, Role(left=0.0), long_polls=True)
    status, body = await request.do_request(_url(fake_telegram, "getUpdates"), "POST")
    assert (status, json.loads(body)) == (200, {"ok": True, "result": []})
    assert fake_telegram.calls("getUpdates") == []


async def test_a_cancelled_poll_is_remembered_until_telegram_has_surely_ended_it(
    fake_telegram: FakeTelegram,
) -> None:
    clock = FakeMonotonic()
    request = LeasedRequest(
        Role(left=100.0), connection_pool_size=1, long_polls=True, monotonic=clock
    )
    await request.initialize()
    five_seconds = RequestData([RequestParameter.from_input("timeout", 5)])
    try:
        assert request.poll_left() == 0.0
        poll = asyncio.create_task(
            request.do_request(_url(fake_telegram, "getUpdates"), "POST", five_seconds)
        )
        await eventually(lambda: fake_telegram.polling)
        poll.cancel()
        with pytest.raises(asyncio.CancelledError):
            await poll
        assert request.poll_left() == 6.0  # the poll, plus the margin
        clock.advance(6.0)
        assert request.poll_left() == 0.0
    finally:
        await request.shutdown()


async def test_an_answered_poll_leaves_none_open(
    fake_telegram: FakeTelegram, opened: list[LeasedRequest]
) -> None:
    request = await _request(opened, Role(left=100.0), long_polls=True)
    await request.do_request(_url(fake_telegram, "getUpdates"), "POST")
    assert request.poll_left() == 0.0


def test_a_long_poll_is_shortened_to_fit_between_renewals() -> None:
    assert fitted_poll_timeout(10, None) == 10
    assert fitted_poll_timeout(10, 15.0) == 9
    assert fitted_poll_timeout(10, 5.0) == 2
    assert fitted_poll_timeout(10, 3.0) == 1
