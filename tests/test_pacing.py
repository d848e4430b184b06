"""The per-chat pacer: Telegram's limits kept by a token bucket on an injected clock."""

from __future__ import annotations

import pytest

from handlers.pacing import Pace, Pacer
from tests.clocks import FakeMonotonic


def sends_in(pacer: Pacer, clock: FakeMonotonic, chat: int, seconds: float) -> int:
    """How many sends to `chat` the pacer lets out in `seconds`, stepping 10 ms."""
    sent, end = 0, clock.now + seconds
    while clock.now < end:
        if pacer.wait(chat) == 0:
            pacer.take(chat)
            sent += 1
        else:
            clock.advance(0.01)
    return sent


def test_a_private_chat_gets_a_short_burst_then_one_message_a_second() -> None:
    clock = FakeMonotonic()
    pacer = Pacer(private=Pace(rate=1.0, burst=5), clock=clock)
    assert sends_in(pacer, clock, 42, 0.001) == 5
    assert pacer.wait(42) == pytest.approx(1.0, abs=0.02)
    assert sends_in(pacer, clock, 42, 60) == pytest.approx(60, abs=1)


def test_a_group_chat_gets_twenty_messages_a_minute() -> None:
    clock = FakeMonotonic()
    pacer = Pacer(group=Pace(rate=20 / 60, burst=3), clock=clock)
    assert sends_in(pacer, clock, -100, 60) == pytest.approx(3 + 20, abs=1)


def test_chats_are_paced_apart() -> None:
    clock = FakeMonotonic()
    pacer = Pacer(private=Pace(rate=1.0, burst=1), clock=clock)
    pacer.take(1)
    assert pacer.wait(1) > 0
    assert pacer.wait(2) == 0


def test_a_quiet_chat_refills_only_up_to_its_burst() -> None:
    clock = FakeMonotonic()
    pacer = Pacer(private=Pace(rate=1.0, burst=3), clock=clock)
    clock.advance(3600)
    assert sends_in(pacer, clock, 7, 0.001) == 3
