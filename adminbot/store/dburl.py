"""A database URL as it may be shown: its password never appears in a log or an error."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact_url(url: str) -> str:
    """`url` with its password replaced by ***, in URL or `key=value` form."""
    if "://" not in url:
        return _KEYWORD_PASSWORD.sub(r"\1***", url)
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unreadable database URL>"
    if password is None:
        return _KEYWORD_PASSWORD.sub(r"\1***", url)
    user, _, host = parts.netloc.rpartition("@")
    netloc = f"{user.partition(':')[0]}:***@{host}"
    return _KEYWORD_PASSWORD.sub(r"\1***", urlunsplit(parts._replace(netloc=netloc)))
