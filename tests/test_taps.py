"""Button data: encoded and parsed in one place; anything malformed is refused."""

from __future__ import annotations

import pytest

from handlers.taps import (
    MAX_DATA_BYTES,
    MUTE_LIST,
    MuteTap,
    PageTap,
    Tap,
    Verb,
    mute_hours,
    pattern,
)


@pytest.mark.parametrize(
    "tap",
    [
        Tap(Verb.ACT, 12, "AbC-_9xy", "restart_container"),
        Tap(Verb.IGNORE, 1, "tok"),
        Tap(Verb.RESOLVE, 99999999, "tok"),
        Tap(Verb.MUTE, 3, "tok"),
        Tap(Verb.OPEN, 3, "tok"),
    ],
)
def test_an_incident_tap_survives_the_round_trip_within_telegrams_limit(tap: Tap) -> None:
    data = tap.encode()
    assert Tap.parse(data) == tap
    assert len(data.encode()) <= MAX_DATA_BYTES
    assert pattern(tap.verb).match(data)


@pytest.mark.parametrize("rule", [None, "timeout"])
def test_a_page_tap_survives_the_round_trip(rule: str | None) -> None:
    tap = PageTap(2, 10, rule)
    assert PageTap.parse(tap.encode()) == tap


@pytest.mark.parametrize(
    "data",
    [
        "",
        "act:12:tok",  # a fix tap needs its fix
        "ign:12:tok:chown",  # only a fix tap carries one
        "act:12:tok:../../etc",
        "act:x:tok:retry",
        "act:-1:tok:retry",
        "act:12:t;k:retry",
        "rm:12:tok",
        "ign:12",
        "ign:12:tok:a:b",
        "act:12:tok:retry; rm -rf /",
    ],
)
def test_malformed_or_hostile_incident_data_is_refused(data: str) -> None:
    assert Tap.parse(data) is None


@pytest.mark.parametrize(
    "data", ["page:1:10", "page:a:10:*", "page:1:10:Timeout;", "page:1:10:../x", "x:1:10:*"]
)
def test_malformed_page_data_is_refused(data: str) -> None:
    assert PageTap.parse(data) is None


def test_one_verbs_pattern_does_not_claim_anothers_taps() -> None:
    assert not pattern(Verb.MUTE).match(Tap(Verb.ACT, 1, "t", "retry").encode())
    assert not pattern(Verb.IGNORE).match(Tap(Verb.OPEN, 1, "t").encode())


@pytest.mark.parametrize(("extra", "hours"), [("", None), ("1h", 1), ("8h", 8), ("24h", 24)])
def test_a_mute_tap_carries_its_duration_or_none_to_ask_for_one(
    extra: str, hours: int | None
) -> None:
    tap = Tap.parse(Tap(Verb.MUTE, 3, "tok", extra).encode())
    assert tap is not None and mute_hours(tap) == hours


def test_a_mute_tap_for_a_duration_not_offered_mutes_nothing() -> None:
    tap = Tap.parse("mute:3:tok:99h")
    assert tap is not None and mute_hours(tap) is None


def test_an_unmute_list_tap_names_its_mute_by_digest_never_by_path() -> None:
    target = "permisos\u241fpath=/srv/media/" + "x" * 300
    data = MuteTap.of(target).encode()
    assert "/srv" not in data and len(data.encode()) <= MAX_DATA_BYTES
    parsed = MuteTap.parse(data)
    assert parsed is not None and parsed.names(target) and not parsed.names("timeout")
    assert not pattern(MUTE_LIST).match(Tap(Verb.UNMUTE, 1, "t").encode())


@pytest.mark.parametrize("data", ["unmk:", "unmk:XYZ", "unmk:0123456789ab:x", "unm:0123456789ab"])
def test_malformed_unmute_list_data_is_refused(data: str) -> None:
    assert MuteTap.parse(data) is None
