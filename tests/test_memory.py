"""The running service asks glibc for few arenas and mapped big blocks, unless told."""

from __future__ import annotations

import platform

import pytest

from adminbot.service.memory import (
    ARENAS,
    M_ARENA_MAX,
    M_MMAP_THRESHOLD,
    MMAP_THRESHOLD,
    glibc_mallopt,
    hold_memory_tightly,
)


class _Mallopt:
    """libc's mallopt, recorded: a C function (an outer edge) answering 1 or 0."""

    def __init__(self, answer: int = 1) -> None:
        self.answer = answer
        self.calls: list[tuple[int, int]] = []

    def __call__(self, parameter: int, value: int) -> int:
        self.calls.append((parameter, value))
        return self.answer


def test_both_settings_are_asked_for_when_the_environment_sets_neither() -> None:
    mallopt = _Mallopt()
    taken = hold_memory_tightly({}, mallopt)
    assert taken == ["MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_"]
    assert mallopt.calls == [(M_ARENA_MAX, ARENAS), (M_MMAP_THRESHOLD, MMAP_THRESHOLD)]


def test_the_admins_own_malloc_settings_are_left_alone() -> None:
    mallopt = _Mallopt()
    taken = hold_memory_tightly({"MALLOC_ARENA_MAX": "4"}, mallopt)
    assert taken == ["MALLOC_MMAP_THRESHOLD_"]
    assert mallopt.calls == [(M_MMAP_THRESHOLD, MMAP_THRESHOLD)]


def test_a_refused_setting_is_not_reported_taken_and_no_allocator_means_nothing() -> None:
    assert hold_memory_tightly({}, _Mallopt(answer=0)) == []
    assert hold_memory_tightly({}, None) == []


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_on_glibc_the_real_mallopt_takes_both_settings() -> None:
    mallopt = glibc_mallopt()
    assert mallopt is not None
    assert hold_memory_tightly({}, mallopt) == ["MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_"]
