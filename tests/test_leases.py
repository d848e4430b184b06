"""Leases and fenced outbox writes, on both backends: one front at a time, late writes ignored."""

from __future__ import annotations

import pytest

from adminbot.notify.outbox import ALERT
from adminbot.store.fence import Fence
from adminbot.store.leases import LeaseStore
from adminbot.store.sqlite import Store
from tests.clocks import T0

LAPSED = 0.0
"""A lease taken for no time at all has lapsed as soon as it is taken."""


@pytest.fixture
def store(any_store: Store) -> Store:
    return any_store


@pytest.fixture
def leases(store: Store) -> LeaseStore:
    return LeaseStore(store)


def test_the_first_taker_holds_the_role_and_the_second_does_not(leases: LeaseStore) -> None:
    first = leases.take("a", 30, None)
    assert first == Fence("a", 1)
    assert leases.take("b", 30, None) is None


def test_the_holder_renews_in_the_same_term(leases: LeaseStore) -> None:
    held = leases.take("a", 30, None)
    assert leases.take("a", 30, held) == held


def test_a_lapsed_lease_is_taken_by_another_in_a_new_term(leases: LeaseStore) -> None:
    old = leases.take("a", LAPSED, None)
    new = leases.take("b", 30, None)
    assert old == Fence("a", 1)
    assert new == Fence("b", 2)
    assert leases.take("a", 30, old) is None  # the deposed holder cannot renew


def test_a_holder_that_let_its_lease_lapse_starts_a_new_term(leases: LeaseStore) -> None:
    old = leases.take("a", LAPSED, None)
    assert leases.take("a", 30, old) == Fence("a", 2)


def test_a_lease_given_up_is_taken_at_once(leases: LeaseStore) -> None:
    held = leases.take("a", 30, None)
    assert held is not None and leases.give_up(held)
    assert leases.take("b", 30, None) == Fence("b", 2)
    assert not leases.give_up(held)


def test_current_names_the_holder_and_the_time_left(leases: LeaseStore) -> None:
    assert leases.current() is None
    leases.take("a", 30, None)
    found = leases.current()
    assert found is not None
    holder, left = found
    assert holder == Fence("a", 1)
    assert 25 < left <= 30


def test_a_front_without_a_current_lease_claims_nothing(store: Store, leases: LeaseStore) -> None:
    item = store.enqueue(ALERT, {}, T0, chat_id=1, incident_id=1)
    assert item is not None
    lapsed = leases.take("a", LAPSED, None)
    assert lapsed is not None
    assert not store.claim(item, lapsed)
    held = leases.take("b", 30, None)
    assert held is not None
    assert store.claim(item, held)


def test_a_deposed_fronts_late_writes_match_nothing(store: Store, leases: LeaseStore) -> None:
    item = store.enqueue(ALERT, {}, T0, chat_id=1, incident_id=1)
    old = leases.take("a", 30, None)
    assert item is not None and old is not None and store.claim(item, old)
    leases.give_up(old)  # as if it had frozen past its lease
    new = leases.take("b", 30, None)
    assert new is not None
    assert store.recover_claims(new) == 1
    assert not store.mark_sent(item, T0, old)
    store.release(item, T0, "late", fence=old)
    store.mark_failed(item, "late", fence=old)
    [again] = store.due(T0)
    assert again.doubt == 1  # the new front says it may be a repeat
    assert store.claim(item, new)
    store.release(item, T0, "late", fence=old)
    assert store.mark_sent(item, T0, new)
    assert store.outbox_depth() == 0


def test_a_new_front_recovers_only_earlier_terms_claims(store: Store, leases: LeaseStore) -> None:
    first = store.enqueue(ALERT, {}, T0, chat_id=1, incident_id=1)
    second = store.enqueue(ALERT, {}, T0, chat_id=1, incident_id=2)
    held = leases.take("a", 30, None)
    assert first and second and held is not None
    assert store.claim(first, held)
    assert store.recover_claims(held) == 0
    assert store.mark_sent(first, T0, held)


def test_one_host_without_a_lease_keeps_todays_unfenced_outbox(store: Store) -> None:
    item = store.enqueue(ALERT, {}, T0, chat_id=1, incident_id=1)
    assert item is not None and store.claim(item)
    assert store.mark_sent(item, T0)
