"""Masking: each part of an error that varies between occurrences is hidden, words stay."""

from __future__ import annotations

import random
import re

import pytest

from adminbot.kinds import mask as mask_module
from adminbot.kinds.mask import MAX_TOKENS, mask, mining_text, tokens
from adminbot.kinds.redact import redact, sample_of
from adminbot.rules.reference import corpus


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Permission denied: /srv/descargas/12/v.mp4", "Permission denied: <PATH>"),
        ("cannot open ~/videos/a.mp4 now", "cannot open <PATH> now"),
        ("moved pendientes/v_1.mp4 away", "moved <PATH> away"),
        (r"cannot open C:\Users\ana\v.mp4", "cannot open <PATH>"),
    ],
)
def test_paths_are_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "file_id",
    [
        "BAACAgEAAxkBAAIBc2Vh_x9-abcdefghijklmnopq",
        "BQACAgIAAxkBAAI12345abcdef",
        "AgACAgIAAxkBAAIC3mVhY2Fy",
        "AQADbWUAA1xyz1234",
    ],
)
def test_telegram_file_ids_are_masked(file_id: str) -> None:
    assert mask(f"Download of {file_id} failed: File is too big") == (
        "Download of <FILE_ID> failed: File is too big"
    )


def test_an_upper_case_word_is_not_taken_for_a_file_id() -> None:
    assert mask("TRACEBACK_LIMIT_EXCEEDED in worker") == "TRACEBACK_LIMIT_EXCEEDED in worker"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("user 5012345678 in chat -1001234567890", "user <NUM> in chat <NUM>"),
        ("user_id=5012345678 retry #3", "user_id=<NUM> retry #<NUM>"),
        ("process 910.", "process <NUM>."),
        ("12,5 and 3.14", "<NUM> and <NUM>"),
    ],
)
def test_numbers_and_user_and_chat_ids_are_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


def test_errno_codes_stay_because_they_tell_troubles_apart() -> None:
    assert mask("OSError: [Errno 28] No space left") == "OSError: [Errno 28] No space left"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET https://api.telegram.org/bot1/getFile?x=1 failed", "GET <URL> failed"),
        ("from 10.0.0.1:443 and 192.168.1.2", "from <IP> and <IP>"),
        ("peer fe80::1:2 gone", "peer <IP> gone"),
        ("object at 0x7f3a2b1c", "object at <HEX>"),
        ("commit deadbeef1234 broke", "commit <HEX> broke"),
        ("id 123e4567-e89b-12d3-a456-426614174000", "id <UUID>"),
        ("video dQw4w9WgXcQ unavailable", "video <ID> unavailable"),
        ("token 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1 x", "token <TOKEN> x"),
    ],
)
def test_urls_addresses_hex_and_ids_are_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("timed out after 58.3s", "timed out after <DURATION>"),
        ("took 1m2s", "took <DURATION>"),
        ("waited 120ms", "waited <DURATION>"),
        ("file of 12.5MB and 300 bytes", "file of <SIZE> and <SIZE>"),
        ("at 2026-11-29 10:00:01,123 and 09:15:00", "at <TIME> and <TIME>"),
    ],
)
def test_durations_sizes_and_times_are_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("caption 'Mis vacaciones en la playa' rejected", "caption '<STR>' rejected"),
        ('title "Ana 2024" too long', 'title "<STR>" too long'),
        ("no se pudo enviar «Cumple de Ana» al chat", "no se pudo enviar «<STR>» al chat"),
        ("KeyError: 'file_unique_id'", "KeyError: 'file_unique_id'"),
        ("can't find user's file", "can't find user's file"),
    ],
)
def test_quoted_free_text_is_masked_but_quoted_identifiers_stay(text: str, expected: str) -> None:
    assert mask(text) == expected


def test_the_mined_text_is_the_message_without_timestamp_level_and_logger() -> None:
    line = "2026-11-29 10:00:01,000 ERROR descargas.worker: Download of X failed"
    assert mining_text(line) == "Download of X failed"


def test_a_traceback_is_mined_by_its_final_exception_line() -> None:
    record = "\n".join(
        [
            "2026-11-29 10:00:01,000 ERROR descargas.cola: fallo al guardar la tarea 12",
            "Traceback (most recent call last):",
            '  File "/opt/bot/cola.py", line 88, in guardar',
            "    conn.execute(SQL, fila)",
            "sqlite3.OperationalError: database is locked",
        ]
    )
    assert tokens(record) == ("sqlite<NUM>.OperationalError:", "database", "is", "locked")


def test_very_long_messages_are_cut_and_empty_ones_still_have_a_word() -> None:
    assert len(tokens("ERROR:root:" + " word" * 500)) == MAX_TOKENS
    assert tokens("2026-11-29 10:00:01,000 ERROR x: ") == ("<EMPTY>",)


def test_samples_hide_bot_tokens_and_assigned_secrets() -> None:
    text = (
        "POST http://127.0.0.1:8081/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1/getFile "
        "password=hunter2 Authorization: Bearer abc.def postgres://bot:s3cret@db/x"
    )
    shown = redact(text)
    for secret in ("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1", "hunter2", "abc.def", "s3cret"):
        assert secret not in shown
    assert "<redacted>" in shown


def test_a_sample_is_the_first_and_last_line_of_a_record_cut_to_size() -> None:
    record = "ERROR x: failed\nTraceback (most recent call last):\n  File 'a'\nKeyError: 'k'"
    assert sample_of(record) == "ERROR x: failed … KeyError: 'k'"
    assert len(sample_of("E " + "x" * 2000, limit=100)) == 100


def test_a_kinds_sample_gets_the_configured_redaction_too() -> None:
    from adminbot.redaction import Redactor, RedactPattern

    redactor = Redactor.configured([RedactPattern("hunter2", "***")])
    sample = sample_of("ERROR login with hunter2 failed", redactor=redactor)
    assert "hunter2" not in sample and "***" in sample


def _mask_every_pattern(text: str) -> str:
    """`mask` the plain way: every pattern tried on every text, whatever it holds."""
    for placeholder, pattern, _ in mask_module._MASKS:
        text = pattern.sub(placeholder, text)
    text = mask_module._QUOTED.sub(mask_module._quoted, text)
    return re.sub(r"\s+", " ", text).strip()


def test_masking_skips_only_patterns_a_text_cannot_match() -> None:
    """A pattern is not tried on a text lacking what its every match holds (a digit, a
    "/", "://"): random texts of the pieces the patterns read, and the corpus's error
    messages, are masked as trying every pattern masks them."""
    rng = random.Random(3)
    pieces = ["7", "٣", "12:30:05", "2026-11-29", "0x1F", "/srv/a b", "C:\\dir\\f", "https://x.y/z"]
    pieces += ["::1", "10.0.0.1:80", "'quoted text'", '"id"', "«a»", "Errno 13", "5s", "3 MB", "-"]
    pieces += ["BAACAgEAAxkBAAItZmqzg3dKVNe49I0", "deadbeef01", " ", "\t", "\u00a0", "\x1c", "word"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 8))) for _ in range(3000)]
    texts += [mining_text(text) for text in corpus(3000, seed=4)]
    for text in texts:
        assert mask(text) == _mask_every_pattern(text), text
