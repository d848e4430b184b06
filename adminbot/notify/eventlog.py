"""adminbot's own output files: the JSON Lines event log and the human monitor log.

Both rotate by size so a long burst cannot fill the disk adminbot is watching.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from json.encoder import encode_basestring as _quoted
from pathlib import Path
from typing import Any

from adminbot.models import Match
from adminbot.redaction import TOKEN_REPLACEMENT, Redactor
from adminbot.store.files import PrivateRotatingFileHandler

MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 5
MESSAGE_CHARS = 2000


def redact(text: str, secrets: Sequence[str] = (), redactor: Redactor | None = None) -> str:
    """Hide the given secrets word for word, bot tokens and the `[[redact]]` patterns."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, TOKEN_REPLACEMENT)
    return (redactor or Redactor()).text(text)


class RedactTokens(logging.Filter):
    """Hide bot tokens (PTB and httpx log request URLs that contain them), the configured
    secrets and `[[redact]]` patterns, in the message and in the traceback."""

    def __init__(self, secrets: Sequence[str] = (), redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.secrets, self.redactor)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets, self.redactor)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets, self.redactor)
        return True


def redact_logging(redactor: Redactor) -> None:
    """Give every handler of the root logger (files, stderr) the configured redaction,
    keeping the secrets each one already hides."""
    for handler in logging.getLogger().handlers:
        secrets: tuple[str, ...] = ()
        for old in [f for f in handler.filters if isinstance(f, RedactTokens)]:
            secrets += old.secrets
            handler.removeFilter(old)
        handler.addFilter(RedactTokens(secrets, redactor))


class OneLine(logging.Formatter):
    """`LEVEL logger: message` and nothing more: tracebacks go to monitor.log only."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        return self.formatMessage(record).replace("\n", " | ")


LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def setup_logging(
    monitor_log: Path,
    level: str = "INFO",
    *,
    console: bool = False,
    stderr_level: str | None = None,
    secrets: Sequence[str] = (),
) -> None:
    """Send adminbot's own logging to the rotating monitor.log (and stderr if asked).

    `console` copies every record to stderr in full; `stderr_level` copies records
    from that level up, one line each. Every handler hides `secrets` and bot tokens.
    """
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in list(root.handlers):
        if getattr(handler, "_adminbot", False):
            root.removeHandler(handler)
            handler.close()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [
        PrivateRotatingFileHandler(
            monitor_log, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
        )
    ]
    handlers[0].setFormatter(fmt)
    if console:
        handlers.append(logging.StreamHandler())
        handlers[-1].setFormatter(fmt)
    if stderr_level is not None:
        handlers.append(logging.StreamHandler())
        handlers[-1].setLevel(stderr_level)
        handlers[-1].setFormatter(OneLine())
    for handler in handlers:
        handler.addFilter(RedactTokens(secrets))
        handler._adminbot = True  # type: ignore[attr-defined]  # marks ours for re-setup
        root.addHandler(handler)
    # httpx logs every request URL at INFO, and the URL holds the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


def _match_line(stamp: str, match: Match, incident_id: int) -> str:
    """What `_ENCODER` makes of a match's event, put together from its encoded strings
    (`stamp` is one already): a storm writes one per match, and this takes half the
    time of a dict encoded."""
    record = match.record
    fields = ", ".join(f"{_quoted(k)}: {_quoted(v)}" for k, v in match.fields.items())
    return (
        f'{{"ts": {stamp}, "type": {_quoted(match.rule)}, '
        f'"severity": {_quoted(match.severity.value)}, "file": {_quoted(record.source)}, '
        f'"line": {record.line_no}, "message": {_quoted(record.text[:MESSAGE_CHARS])}, '
        f'"fields": {{{fields}}}, "incident_id": {incident_id}}}'
    )


"""One encoder for every line: `json.dumps` with options builds a new one per call."""


class EventLog:
    """Appends one JSON object per event to `descarga_errors.json` (the seed's name)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._handler = PrivateRotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
        )

    def write(self, event: Mapping[str, Any]) -> None:
        line = _ENCODER.encode(event)
        record = logging.LogRecord("adminbot.events", logging.INFO, "", 0, line, None, None)
        with self._lock:
            self._handler.emit(record)

    def match(self, match: Match, incident_id: int, at: datetime) -> None:
        self.matches([(match, incident_id)], at)

    def matches(self, found: Sequence[tuple[Match, int]], at: datetime) -> None:
        """One line per match, written as one record: a storm's batch is one write and
        one rotation check, not thousands."""
        if not found:
            return
        stamp = _quoted(at.isoformat())
        lines = "\n".join(_match_line(stamp, m, i) for m, i in found)
        record = logging.LogRecord("adminbot.events", logging.INFO, "", 0, lines, None, None)
        with self._lock:
            self._handler.emit(record)

    def action(
        self,
        *,
        at: datetime,
        incident_id: int | None,
        rule: str,
        action: str,
        result: str,
        actor: str,
    ) -> None:
        self.write(
            {
                "ts": at.isoformat(),
                "type": rule,
                "incident_id": incident_id,
                "action": action,
                "result": result,
                "actor": actor,
            }
        )

    def close(self) -> None:
        with self._lock:
            self._handler.close()
