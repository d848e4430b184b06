"""Secrets in a pipeline's log lines never reach the store, the event log, an alert or
adminbot's own log: bot tokens always, `[[redact]]` patterns when configured."""

from __future__ import annotations

import logging
from pathlib import Path

from adminbot.incidents.book import IncidentBook
from adminbot.incidents.intake import EventQueue, Intake
from adminbot.models import Match, Record, Severity, frozen_map
from adminbot.notify.eventlog import EventLog, RedactTokens
from adminbot.redaction import Redactor, RedactPattern
from adminbot.store.sqlite import Store
from tests.fake_telegram import FakeTelegram
from tests.harness import append, make_config, pipeline_log, running_bot

TOKEN = "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw-x"
URL = f"https://api.telegram.org/bot{TOKEN}/sendMessage"


def test_a_bot_token_is_hidden_even_inside_a_bot_api_url() -> None:
    assert Redactor().text(f"POST {URL} failed") == (
        "POST https://api.telegram.org/bot<token>/sendMessage failed"
    )


def test_configured_patterns_are_hidden_with_their_replacement() -> None:
    redactor = Redactor.configured(
        [RedactPattern(r"sk-[A-Za-z0-9]{20,}"), RedactPattern(r"(?<=password=)\S+", "***")]
    )
    text = "key sk-abcdefghijklmnopqrstuvwxyz password=hunter2 ok"
    assert redactor.text(text) == "key <redacted> password=*** ok"


def test_the_token_is_hidden_wherever_the_plain_substitution_hides_it() -> None:
    """Redactor looks for a token's tail before substituting; on random text built of
    token pieces it must hide exactly what the plain substitution hides, in the text,
    the key and every field."""
    import random

    from adminbot.redaction import BOT_TOKEN, TOKEN_REPLACEMENT

    rng = random.Random(9)
    tail = "AAHdqTcvCH1vGWJxfSeofSAs0K5PAL"  # 30 characters, the shortest a token has
    pieces = ["7123456", "89", ":", tail, tail[:29], "D", "-x", " ", "\n", "/bot"]
    redactor = Redactor()
    hidden = 0
    for _ in range(2_000):
        text, key, value = ("".join(rng.choices(pieces, k=rng.randrange(9))) for _ in range(3))
        match = Match(
            "timeout",
            Severity.ERROR,
            Record("/log", 1, text),
            frozen_map({"path": value}),
            key,
        )
        cleaned = redactor.match(match)
        plain = [BOT_TOKEN.sub(TOKEN_REPLACEMENT, t) for t in (text, key, value)]
        assert [cleaned.record.text, cleaned.key, cleaned.fields.get("path", "")] == plain
        assert (cleaned is match) == (plain == [text, key, value])
        hidden += cleaned is not match
    assert hidden > 25


def test_a_clean_match_is_returned_unchanged() -> None:
    match = Match("timeout", Severity.ERROR, Record("/log", 1, "ERROR timed out"))
    assert Redactor().match(match) is match


def test_a_cleaned_record_keeps_no_parts_cut_from_its_secret_text() -> None:
    from adminbot.models import RecordParts

    parts = RecordParts(None, f"POST {URL} failed", (), False)
    record = Record("/log", 1, f"ERROR POST {URL} failed", "ERROR", None, parts)
    cleaned = Redactor().match(Match("servidor_caido", Severity.CRITICAL, record)).record
    assert TOKEN not in cleaned.text and cleaned.parts is None


def _world(tmp_path: Path, redactor: Redactor | None = None) -> tuple[Intake, Store]:
    store = Store(tmp_path / "s.sqlite3")
    book = IncidentBook(store)
    events = EventLog(tmp_path / "events.json")
    if redactor is None:
        intake = Intake(store, book, events, EventQueue())
    else:
        intake = Intake(store, book, events, EventQueue(), redactor=redactor)
    return intake, store


def test_a_token_in_a_log_line_is_not_stored_logged_or_queued(tmp_path: Path) -> None:
    intake, store = _world(tmp_path)
    text = f"ERROR httpx: HTTP Request: POST {URL} timed out"
    record = Record(source="/log/bot.log", line_no=3, text=text)
    match = Match("timeout", Severity.ERROR, record, frozen_map({"url": URL}), URL)

    [event] = intake.submit([match])

    assert TOKEN not in event.match.record.text
    assert TOKEN not in event.match.fields["url"]
    assert TOKEN not in event.incident.sample and TOKEN not in event.incident.key
    assert all(TOKEN not in text for *_, text in store.occurrences(event.incident.id))
    assert "<token>" in event.incident.sample
    assert TOKEN not in (tmp_path / "events.json").read_text(encoding="utf-8")
    store.close()


def test_an_incident_raised_by_a_check_is_redacted_too(tmp_path: Path) -> None:
    from adminbot.models import Origin

    redactor = Redactor.configured([RedactPattern(r"postgres://\S+", "postgres://…")])
    intake, store = _world(tmp_path, redactor)
    event = intake.raise_incident(
        Origin.CHECK,
        "servidor_caido",
        Severity.CRITICAL,
        "cannot reach postgres://user:hunter2@db/prod",
        source="check:db",
        key="db",
    )
    assert "hunter2" not in event.incident.sample
    store.close()


def test_the_log_filter_hides_tokens_in_urls_and_tracebacks() -> None:
    record = logging.LogRecord("httpx", logging.INFO, "", 0, "HTTP Request: POST %s", (URL,), None)
    try:
        raise ConnectionError(f"cannot connect to {URL}")
    except ConnectionError:
        import sys

        failing = logging.LogRecord("ptb", logging.ERROR, "", 0, "failed", None, sys.exc_info())
    redact = RedactTokens()
    assert redact.filter(record) and redact.filter(failing)
    formatter = logging.Formatter("%(message)s")
    assert TOKEN not in formatter.format(record)
    assert TOKEN not in formatter.format(failing)
    assert "bot<token>" in formatter.format(failing)


def test_the_log_filter_hides_configured_patterns() -> None:
    redact = RedactTokens(redactor=Redactor.configured([RedactPattern("hunter2", "***")]))
    record = logging.LogRecord("x", logging.INFO, "", 0, "password %s", ("hunter2",), None)
    redact.filter(record)
    assert record.getMessage() == "password ***"


async def test_a_token_in_a_pipeline_line_never_reaches_the_alert_store_or_event_log(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    toml = '[[redact]]\npattern = "postgres://\\\\S+"\nreplacement = "postgres://<redacted>"\n'
    config = make_config(tmp_path, fake_telegram, toml)
    log = pipeline_log(tmp_path)
    line = (
        "2026-11-29 10:00:02,000 ERROR descargas: OSError: [Errno 28] No space left on device "
        f"({URL}, postgres://user:hunter2@db/prod)"
    )
    async with running_bot(config) as (_, runtime):
        append(log, line)
        alert = await fake_telegram.await_call(
            "sendMessage", lambda c: "disco_lleno" in c.params["text"], timeout=10
        )
        [incident] = runtime.store.incidents()
        sample = incident.sample
    assert TOKEN not in alert.params["text"] and "hunter2" not in alert.params["text"]
    assert "bot&lt;token&gt;" in alert.params["text"] or "bot<token>" in alert.params["text"]
    assert TOKEN not in sample and "hunter2" not in sample
    events = config.event_log.read_text(encoding="utf-8")
    assert TOKEN not in events and "hunter2" not in events
    assert "postgres://<redacted>" in events
