"""Hide secrets in a log line before it is kept as a kind's sample.

A sample outlives the log it came from (it sits in the store, and /kinds shows it),
and it is taken before the intake's redaction, so it gets that same redaction (bot
tokens, the `[[redact]]` patterns: `adminbot.redaction`) and, on top, anything
shaped like an assigned credential: `token=`/`password=`/`api_key=` values,
`Authorization` headers and URL passwords.
"""

from __future__ import annotations

import re

from adminbot.redaction import BOT_TOKEN, Redactor

SAMPLE_CHARS = 500

_ASSIGNED = re.compile(
    r"(?i)\b((?:access_|api_|auth_|bot_|refresh_)?(?:token|secret|password|passwd|pwd|api_?key)"
    r"[\"']?\s*[:=]\s*[\"']?)([^\s\"'&,;]+)"
)
_BEARER = re.compile(r"(?i)\b(authorization:?\s*(?:bearer|basic|token)?\s+)(\S+)")
_URL_PASSWORD = re.compile(r"(://[^/\s:@]+:)([^@/\s]+)(@)")


def redact(text: str, redactor: Redactor | None = None) -> str:
    """`text` with every token-shaped or assigned secret replaced by `<redacted>`."""
    if redactor is not None:
        text = redactor.text(text)
    text = BOT_TOKEN.sub("<redacted>", text)
    text = _ASSIGNED.sub(r"\1<redacted>", text)
    text = _BEARER.sub(r"\1<redacted>", text)
    return _URL_PASSWORD.sub(r"\1<redacted>\3", text)


def sample_of(record_text: str, limit: int = SAMPLE_CHARS, redactor: Redactor | None = None) -> str:
    """One line standing for a record: its first line, and its last if it has more, redacted."""
    lines = [line for line in record_text.splitlines() if line.strip()]
    if not lines:
        return ""
    shown = lines[0] if len(lines) == 1 else f"{lines[0]} … {lines[-1].strip()}"
    shown = redact(shown, redactor)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
