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
