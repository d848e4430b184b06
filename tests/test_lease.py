"""The front lease loop, on a store whose clock the test moves: who is the front, and when."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from adminbot.config import load_config
from adminbot.errors import ConfigError
from adminbot.service.lease import FrontLease, SoleLease, front_lease, instance_id
from adminbot.store.fence import Fence
from adminbot.store.leases import LeaseStore
from adminbot.store.sqlite import Store
from tests.clocks import FakeClock, FakeMonotonic


class Time:
    """The database's clock and each instance's monotonic clock, moved together."""

    def __init__(self) -> None:
        self.wall = FakeClock()
        self.mono = FakeMonotonic()

    def advance(self, seconds: float) -> None:
        self.wall.advance(seconds)
        self.mono.advance(seconds)


class Instance:
    """One adminbot's view of the role: its lease and what it was told."""

    def __init__(self, name: str, leases: LeaseStore, time: Time) -> None:
        self.events: list[str] = []
        self.lease = FrontLease(
            lambda held: leases.take(name, 15.0, held),
            leases.give_up,
            on_gained=self._gained,
            on_lost=self._lost,
            ttl=15.0,
            renew_every=5.0,
            monotonic=time.mono,
        )

    async def _gained(self, fence: Fence | None) -> None:
        self.events.append(f"gained {fence.epoch if fence else '-'}")

    async def _lost(self) -> None:
        self.events.append("lost")


@pytest.fixture
def time() -> Time:
    return Time()


@pytest.fixture
def leases(tmp_path: Path, time: Time) -> LeaseStore:
    return LeaseStore(Store(tmp_path / "s.sqlite3", clock=time.wall))


async def test_the_first_instance_becomes_the_front_and_the_second_stands_by(
    leases: LeaseStore, time: Time
) -> None:
    a, b = Instance("a", leases, time), Instance("b", leases, time)
    await a.lease.step()
    await b.lease.step()
    assert a.lease.held and a.lease.fence() == Fence("a", 1)
    assert not b.lease.held and b.lease.fence() is None
    assert (a.events, b.events) == (["gained 1"], [])


async def test_a_front_that_renews_keeps_the_role_for_good(leases: LeaseStore, time: Time) -> None:
    a, b = Instance("a", leases, time), Instance("b", leases, time)
    for _ in range(10):
        await a.lease.step()
        await b.lease.step()
        time.advance(5.0)
    assert a.lease.held and a.events == ["gained 1"] and b.events == []


async def test_a_dead_front_is_replaced_once_its_lease_runs_out(
    leases: LeaseStore, time: Time
) -> None:
    a, b = Instance("a", leases, time), Instance("b", leases, time)
    await a.lease.step()
    time.advance(14.9)
    await b.lease.step()
    assert not b.lease.held  # not before the lease has run out: never two pollers
    time.advance(0.1)
    await b.lease.step()
    assert b.lease.fence() == Fence("b", 2)


async def test_a_frozen_front_knows_on_waking_that_it_lost_the_role(
    leases: LeaseStore, time: Time
) -> None:
    a, b = Instance("a", leases, time), Instance("b", leases, time)
    await a.lease.step()
    time.advance(15.0)  # a is frozen
    assert not a.lease.held and a.lease.fence() is None  # before its loop even runs
    await b.lease.step()
    await a.lease.step()
    assert a.events == ["gained 1", "lost"]
    assert b.lease.held and not a.lease.held


async def test_the_local_deadline_counts_from_before_the_renewal(
    leases: LeaseStore, time: Time
) -> None:
    a = Instance("a", leases, time)
    await a.lease.step()
    assert a.lease.remaining() == 15.0
    time.advance(4.0)
    assert a.lease.remaining() == 11.0


async def test_a_front_whose_renewal_came_too_late_starts_a_new_term(
    leases: LeaseStore, time: Time
) -> None:
    a = Instance("a", leases, time)
    await a.lease.step()
    time.advance(20.0)
    await a.lease.step()
    assert a.events == ["gained 1", "lost", "gained 2"]


async def test_a_stopping_front_hands_the_role_over_at_once(leases: LeaseStore, time: Time) -> None:
    a, b = Instance("a", leases, time), Instance("b", leases, time)
    await a.lease.step()
    await a.lease.stop()
    await b.lease.step()
    assert b.lease.fence() == Fence("b", 2)


async def test_an_unreachable_database_keeps_the_role_until_the_deadline(time: Time) -> None:
    calls: list[Fence | None] = []

    def take(held: Fence | None) -> Fence | None:
        calls.append(held)
        if len(calls) > 1:
            raise OSError("connection refused")
        return Fence("a", 1)

    lost: list[str] = []

    async def gained(_fence: Fence | None) -> None:
        return None

    async def on_lost() -> None:
        lost.append("lost")

    lease = FrontLease(
        take, lambda _f, _a: True, on_gained=gained, on_lost=on_lost, monotonic=time.mono
    )
    await lease.step()
    time.advance(5.0)
    await lease.step()
    assert lease.held and lost == []
    time.advance(10.0)
    await lease.step()
    assert lease.fence() is None and lost == ["lost"]


async def test_one_host_is_the_front_from_the_start_without_fencing() -> None:
    told: list[Fence | None] = []

    async def gained(fence: Fence | None) -> None:
        told.append(fence)

    lease = SoleLease(gained)
    await lease.start()
    assert lease.held and lease.fence() is None and told == [None]


def test_a_lease_must_be_renewed_more_often_than_it_lasts() -> None:
    async def nothing() -> None:
        return None

    with pytest.raises(ValueError, match="renewed more often"):
        FrontLease(
            lambda _h: None,
            lambda _f, _a: True,
            on_gained=lambda _f: nothing(),
            on_lost=nothing,
            ttl=5,
            renew_every=5,
        )


def test_an_instance_id_names_the_host_and_differs_per_start() -> None:
    assert instance_id("b").startswith("b:")
    assert instance_id("b") != instance_id("b")


def test_the_lease_length_is_configured_and_bounded(tmp_path: Path) -> None:
    (tmp_path / "adminbot.toml").write_text("front_lease_seconds = 6\n", encoding="utf-8")
    assert load_config({}, cwd=tmp_path).front_lease_seconds == 6.0
    assert load_config({}, cwd=tmp_path / "none").front_lease_seconds == 15.0
    (tmp_path / "adminbot.toml").write_text("front_lease_seconds = 60\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="front_lease_seconds"):
        load_config({}, cwd=tmp_path)


async def test_one_host_needs_no_lease_and_several_renew_every_third_of_it(
    tmp_path: Path, time: Time
) -> None:
    async def gained(_fence: Fence | None) -> None:
        return None

    async def lost() -> None:
        return None

    store = Store(tmp_path / "s.sqlite3", clock=time.wall)
    alone = load_config({}, cwd=tmp_path)
    assert isinstance(front_lease(store, alone, on_gained=gained, on_lost=lost), SoleLease)
    shared = replace(alone, database_url="postgresql://db/x", front_lease_seconds=6.0)
    lease = front_lease(store, shared, on_gained=gained, on_lost=lost)
    assert isinstance(lease, FrontLease)
    assert (lease.ttl, lease.renew_every) == (6.0, 2.0)


async def test_a_front_that_cannot_start_hands_the_role_back(
    leases: LeaseStore, time: Time
) -> None:
    events: list[str] = []

    async def gained(_fence: Fence | None) -> None:
        events.append("gained")
        raise RuntimeError("our bug")

    async def lost() -> None:
        events.append("lost")

    lease = FrontLease(
        lambda held: leases.take("a", 15.0, held),
        leases.give_up,
        on_gained=gained,
        on_lost=lost,
        monotonic=time.mono,
    )
    await lease.step()
    assert not lease.held and events == ["gained", "lost"]
    assert leases.take("b", 15.0, None) == Fence("b", 2)  # free for another at once
