"""adminbot's own log never shows a bot token: not in a request URL, not in a traceback."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from adminbot.notify.eventlog import OneLine, RedactTokens, setup_logging

TOKEN = "1234567890:AAFakeTokenForTestsOnly-0123456789abcdef"


def test_a_token_glued_to_bot_in_a_request_url_is_hidden(tmp_path: Path) -> None:
    log = tmp_path / "monitor.log"
    setup_logging(log, "DEBUG")
    try:
        logging.getLogger("telegram.ext.ExtBot").debug("Set Bot API URL: http://h/bot%s", TOKEN)
    finally:
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "_adminbot", False):
                logging.getLogger().removeHandler(handler)
                handler.close()
    text = log.read_text(encoding="utf-8")
    assert TOKEN not in text and "http://h/bot<token>" in text


def _failed_record() -> logging.LogRecord:
    try:
        raise ValueError(f"Invalid port: '9{TOKEN}' and odd secret")
    except ValueError:
        info = sys.exc_info()
    return logging.LogRecord("httpx", logging.ERROR, "", 0, "request failed", None, info)


def test_a_token_and_a_given_secret_in_a_traceback_are_hidden() -> None:
    record = _failed_record()
    RedactTokens(["odd secret"]).filter(record)
    text = logging.Formatter().format(record)
    assert "Traceback" in text and TOKEN not in text and "odd secret" not in text


def test_stderr_gets_one_line_per_record_without_the_traceback() -> None:
    record = _failed_record()
    RedactTokens().filter(record)
    assert OneLine().format(record) == "ERROR httpx: request failed"


def test_a_match_line_is_what_the_json_encoder_makes_of_the_event(tmp_path: Path) -> None:
    """The event log puts a match's line together from encoded strings (a storm writes
    one per match); it must be what encoding the event as a dict gives, and read back."""
    import json
    from datetime import UTC, datetime

    from adminbot.models import Match, Record, Severity, frozen_map
    from adminbot.notify.eventlog import MESSAGE_CHARS, EventLog

    at = datetime(2026, 11, 30, 10, 0, 1, 250_000, tzinfo=UTC)
    odd = 'comillas " barra \\ tab \t línea\nnueva \x00\x1f ☃ \u2028 ' + "x" * 2_100
    matches = [
        Match("permisos", Severity.ERROR, Record("/srv/logs/bot.log", 7, odd)),
        Match(
            "nuevo_tipo",
            Severity.WARNING,
            Record('/tmp/"q".log', 12, "ERROR x"),
            frozen_map({"path": '/srv/"a"\\b.mp4', "template": "ñ <*>", "errno": "13"}),
            "k",
        ),
    ]
    log = EventLog(tmp_path / "events.json")
    log.matches([(m, n) for n, m in enumerate(matches, start=40)], at)
    log.close()
    written = (tmp_path / "events.json").read_text(encoding="utf-8").rstrip("\n").split("\n")
    encoder = json.JSONEncoder(ensure_ascii=False, default=str)
    expected = [
        encoder.encode(
            {
                "ts": at.isoformat(),
                "type": m.rule,
                "severity": m.severity.value,
                "file": m.record.source,
                "line": m.record.line_no,
                "message": m.record.text[:MESSAGE_CHARS],
                "fields": dict(m.fields),
                "incident_id": n,
            }
        )
        for n, m in enumerate(matches, start=40)
    ]
    assert written == expected
    assert [json.loads(line)["fields"] for line in written] == [{}, dict(matches[1].fields)]
