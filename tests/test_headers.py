"""Header lines: each format's level, logger, message and time, and what is no header."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from adminbot.rules.headers import (
    parse_header,
    parse_timestamp,
)

# --- parse_header ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "level", "logger", "message"),
    [
        (
            "2026-11-29 10:00:01,123 ERROR descargas.worker: Permiso denegado: '/srv/x'",
            "ERROR",
            "descargas.worker",
            "Permiso denegado: '/srv/x'",
        ),
        (
            "2026-11-29 10:00:01,123 - telegram.ext.Updater - ERROR - Exception happened.",
            "ERROR",
            "telegram.ext.Updater",
            "Exception happened.",
        ),
        (
            "[2026-11-29 10:00:01,123] [ERROR] bot.descargas: fallo",
            "ERROR",
            "bot.descargas",
            "fallo",
        ),
        ("[2026-11-29 10:00:01,123] [WARN] [ffmpeg] lento", "WARNING", "ffmpeg", "lento"),
        ("[2026-11-29 10:00:01,123][FATAL] sin nombre", "CRITICAL", None, "sin nombre"),
        ("ERROR:root:Timed out", "ERROR", "root", "Timed out"),
        ("2026-11-29 10:00:01,123 EXCEPTION x: boom", "ERROR", "x", "boom"),
        ("2026-11-29 10:00:01,123 [WARNING] httpx: x", "WARNING", "httpx", "x"),
        (
            "2026-11-29 10:00:01,123 INFO     padded: level written with %(levelname)-8s",
            "INFO",
            "padded",
            "level written with %(levelname)-8s",
        ),
        (
            "2026-11-29T10:00:01.123+01:00 | INFO     | bot.main:run:42 - arrancando",
            "INFO",
            "bot.main:run:42",
            "arrancando",
        ),
        (
            "2026-11-29 10:00:01,123 CRITICAL Sin logger ni dos puntos",
            "CRITICAL",
            None,
            "Sin logger ni dos puntos",
        ),
    ],
)
def test_each_header_format_gives_level_logger_and_message(
    line: str, level: str, logger: str | None, message: str
) -> None:
    header = parse_header(line)
    assert header is not None
    assert (header.level, header.logger, header.message) == (level, logger, message)


def test_header_times_are_aware_and_naive_ones_are_utc() -> None:
    naive = parse_header("2026-11-29 10:00:01,123 INFO x: y")
    assert naive is not None
    assert naive.logged_at == datetime(2026, 11, 29, 10, 0, 1, 123000, tzinfo=UTC)
    zoned = parse_header("2026-11-29T10:00:01.5+01:00 - x - INFO - y")
    assert zoned is not None
    assert zoned.logged_at == datetime(
        2026, 11, 29, 10, 0, 1, 500000, tzinfo=timezone(timedelta(hours=1))
    )
    unstamped = parse_header("ERROR:root:y")
    assert unstamped is not None
    assert unstamped.logged_at is None


def test_parse_timestamp_reads_every_form_as_fromisoformat_with_utc_for_naive_times() -> None:
    """parse_timestamp appends a zone to a naive time instead of replacing it after the
    parse (five times cheaper); every form must read as the straightforward way."""

    def straightforward(text: str) -> datetime | None:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    rng = random.Random(5)
    stamps = ["2026-11-29", "2026-11-29T08", "2026-11-29 08:00", "2026-13-45 10:00:01,123"]
    for _ in range(3_000):
        stamp = f"20{rng.randrange(100):02}-{rng.randrange(14):02}-{rng.randrange(33):02}"
        stamp += rng.choice("T ") + f"{rng.randrange(25):02}:{rng.randrange(61):02}"
        stamp += f":{rng.randrange(61):02}" + rng.choice(["", ",", "."])
        stamp += "".join(rng.choice("0123456789") for _ in range(rng.choice([0, 1, 3, 6, 9])))
        stamp += rng.choice(["", "", "Z", "z", "+01:00", "-0330", "+02", "-00:00", "+"])
        stamps.append(stamp)
    for stamp in stamps:
        assert parse_timestamp(stamp) == straightforward(stamp), stamp
    assert sum(straightforward(s) is not None for s in stamps) > 500


def test_an_impossible_date_keeps_the_header_without_a_time() -> None:
    header = parse_header("2026-13-45 10:00:01,123 ERROR x: fecha rota")
    assert header is not None and header.level == "ERROR" and header.logged_at is None


@pytest.mark.parametrize(
    "line",
    [
        "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d5c8a0b2c0] moov atom not found",
        'ERROR:  relation "videos" does not exist',
        "2026-11-29 10:00:01,123 info x: lowercase levels are not logging's",
        "2026-11-29 10:00:01,123 INFORMATION x",
        "Traceback (most recent call last):",
        '  File "/x.py", line 1, in <module>',
        "",
        "frame=  240 fps=0.0 q=-1.0 time=00:00:08.00",
    ],
)
def test_lines_that_are_not_headers(line: str) -> None:
    assert parse_header(line) is None


# --- the assembler ----------------------------------------------------------------------
