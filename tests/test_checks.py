"""Health check machinery: human sizes, flips from the tracker, run_checks' deadlines."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from adminbot.checks.base import (
    Check,
    CheckResult,
    CheckState,
    CheckTracker,
    human_bytes,
    run_checks,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
GB = 1024**3


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


# --- human sizes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KB"),
        (1024**2 - 1, "1.0 MB"),
        (int(8.2 * GB), "8.2 GB"),
        (3 * 1024**4, "3.0 TB"),
        (-2048, "-2.0 KB"),
    ],
)
def test_human_bytes_counts_in_powers_of_1024_like_df(n: int, text: str) -> None:
    assert human_bytes(n) == text


# --- tracker ---------------------------------------------------------------------------------


def result(state: CheckState, name: str = "disk") -> CheckResult:
    return CheckResult.note(name, state, f"{name} is {state}", T0)


OK, WARN, CRIT, UNKNOWN = CheckState.OK, CheckState.WARNING, CheckState.CRITICAL, CheckState.UNKNOWN


def flips(tracker: CheckTracker, *states: CheckState) -> list[tuple[CheckState | None, CheckState]]:
    out = []
    for state in states:
        flip = tracker.observe(result(state))
        if flip is not None:
            out.append((flip.old, flip.new))
    return out


def test_first_ok_observation_does_not_flip() -> None:
    assert flips(CheckTracker(), OK) == []


def test_first_problem_observation_flips() -> None:
    assert flips(CheckTracker(), CRIT) == [(None, CRIT)]


def test_steady_state_does_not_flip_again() -> None:
    assert flips(CheckTracker(), OK, OK, OK) == []
    assert flips(CheckTracker(), CRIT, CRIT, CRIT) == [(None, CRIT)]


def test_ok_to_critical_and_recovery_each_flip_once() -> None:
    tracker = CheckTracker()

    assert flips(tracker, OK, CRIT, CRIT, OK, OK) == [(OK, CRIT), (CRIT, OK)]


def test_warning_and_critical_flip_between_each_other() -> None:
    assert flips(CheckTracker(), OK, WARN, CRIT, WARN) == [(OK, WARN), (WARN, CRIT), (CRIT, WARN)]


def test_confirm_two_suppresses_a_single_blip() -> None:
    assert flips(CheckTracker(confirm=2), OK, CRIT, OK, OK) == []


def test_confirm_two_flips_on_the_second_problem_in_a_row() -> None:
    tracker = CheckTracker(confirm=2)

    flip_list = flips(tracker, OK, CRIT, CRIT)

    assert flip_list == [(OK, CRIT)]


def test_confirm_counts_any_problem_and_flips_to_the_latest() -> None:
    assert flips(CheckTracker(confirm=2), OK, CRIT, UNKNOWN) == [(OK, UNKNOWN)]


def test_recovery_flips_at_once_even_with_confirm() -> None:
    assert flips(CheckTracker(confirm=3), OK, CRIT, CRIT, CRIT, OK) == [(OK, CRIT), (CRIT, OK)]


def test_flapping_after_a_recovery_stays_quiet_with_confirm() -> None:
    tracker = CheckTracker(confirm=2)

    assert flips(tracker, OK, CRIT, CRIT, OK, CRIT, OK, CRIT, OK) == [(OK, CRIT), (CRIT, OK)]


def test_first_problem_also_needs_confirmation_and_never_announces_ok() -> None:
    assert flips(CheckTracker(confirm=2), CRIT, OK, CRIT, CRIT) == [(OK, CRIT)]


def test_checks_are_tracked_separately_and_current_shows_latest_results() -> None:
    tracker = CheckTracker(confirm=2)
    tracker.observe(result(OK, "disk"))
    tracker.observe(result(CRIT, "disk"))
    flip = tracker.observe(result(CRIT, "bot api"))

    current = tracker.current()

    assert flip is None
    assert [r.state for r in current.values()] == [CRIT, CRIT]
    assert list(current) == ["disk", "bot api"]


def test_flip_carries_the_result_to_send() -> None:
    tracker = CheckTracker()
    tracker.observe(result(CRIT))

    flip = tracker.observe(result(OK))

    assert flip is not None
    assert flip.is_recovery
    assert flip.result.summary == "disk is ok"


# --- run_checks ------------------------------------------------------------------------------


class FixedCheck:
    def __init__(self, name: str, state: CheckState = CheckState.OK) -> None:
        self.name = name
        self.state = state

    async def run(self) -> CheckResult:
        return result(self.state, self.name)


class RaisingCheck:
    name = "broken"

    async def run(self) -> CheckResult:
        raise RuntimeError("reader exploded")


class SlowCheck:
    name = "slow"

    async def run(self) -> CheckResult:
        await asyncio.sleep(30)
        return result(CheckState.OK, self.name)


async def test_run_checks_turns_raising_and_slow_checks_into_unknown_without_delay(
    caplog: pytest.LogCaptureFixture,
) -> None:
    checks: list[Check] = [
        FixedCheck("disk"),
        RaisingCheck(),
        SlowCheck(),
        FixedCheck("api", CheckState.WARNING),
    ]

    started = time.monotonic()
    results = await run_checks(checks, timeout=0.2, clock=FakeClock())
    elapsed = time.monotonic() - started

    assert elapsed < 1.0
    assert [(r.name, r.state) for r in results] == [
        ("disk", CheckState.OK),
        ("broken", CheckState.UNKNOWN),
        ("slow", CheckState.UNKNOWN),
        ("api", CheckState.WARNING),
    ]
    assert results[1].summary == "check failed: reader exploded"
    assert results[2].summary == "no result within 0.2s"
    assert "check broken failed: reader exploded" in caplog.text


async def test_run_checks_tells_a_checks_own_timeout_from_the_deadline() -> None:
    class OwnTimeout:
        name = "own"

        async def run(self) -> CheckResult:
            raise TimeoutError("socket read timed out")

    [own] = await run_checks([OwnTimeout()], timeout=5)

    assert own.state is CheckState.UNKNOWN
    assert own.summary == "check failed: socket read timed out"
