"""The one sliding-window budget: container restarts and pipeline restarts both use it."""

from __future__ import annotations

import pytest

from adminbot.actions.executor import ActionBudget
from adminbot.budget import SlidingWindow
from adminbot.supervise.supervisor import RestartPolicy
from tests.clocks import FakeMonotonic


def test_a_budget_allows_its_limit_then_refuses_until_uses_age_out() -> None:
    clock = FakeMonotonic()
    window = SlidingWindow(2, 600, clock)
    assert [window.allow(), window.allow(), window.allow()] == [True, True, False]
    clock.advance(599)
    assert window.allow() is False
    clock.advance(1)
    assert window.remaining() == 2
    assert window.allow() is True


def test_the_window_slides_one_use_at_a_time() -> None:
    clock = FakeMonotonic()
    window = SlidingWindow(2, 600, clock)
    window.allow()
    clock.advance(300)
    window.allow()
    clock.advance(300)
    assert window.used() == 1  # the first use left the window, the second did not
    assert window.allow() is True and window.allow() is False


def test_reset_gives_the_whole_budget_back() -> None:
    window = SlidingWindow(1, 600, FakeMonotonic())
    window.allow()
    window.reset()
    assert window.allow() is True


def test_a_zero_budget_never_allows_and_a_negative_one_is_refused() -> None:
    assert SlidingWindow(0, 600, FakeMonotonic()).allow() is False
    with pytest.raises(ValueError, match="negative"):
        SlidingWindow(-1, 600)


def test_action_and_restart_budgets_are_the_same_mechanism() -> None:
    clock = FakeMonotonic()
    assert ActionBudget is SlidingWindow
    policy = RestartPolicy(delays=(1, 2), budget=2, window_seconds=600, monotonic=clock)
    assert [policy.next_delay(), policy.next_delay(), policy.next_delay()] == [1.0, 2.0, None]
    clock.advance(600)
    assert policy.next_delay() == 1.0
