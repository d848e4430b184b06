"""Apprise channel URLs: checked at start-up, named without their secrets, keyed stably.

A URL carries credentials (a password, a webhook token in its path), so it is never
shown as written: messages, logs and /status use `shown()`, and the store keys a
channel by a hash of its URL.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlsplit

MIN_SECRET = 6
"""Path parts and query values this long or longer are hidden from logs: they may be tokens."""


def url_problem(url: str) -> str | None:
    """Why Apprise cannot use this URL (unknown schema, missing parts), else None."""
    if "://" not in url:
        return "is not a URL (expected schema://...)"
    schema = url.split("://", 1)[0].lower()
    import apprise  # only a config with channels pays for Apprise's imports

    if apprise.Apprise.instantiate(url) is None:
        return f"Apprise cannot use this {schema}:// URL (unknown schema or missing parts)"
    return None


def shown(url: str) -> str:
    """The URL as it may be shown: schema and host only, every credential left out."""
    parts = urlsplit(url)
    host = _public_host(url)
    return f"{parts.scheme}://{host}/…" if host else f"{parts.scheme}://…"


def _public_host(url: str) -> str:
    """A host name with a dot (or localhost) is a server; anything else (a Discord
    webhook id, an ntfy topic) may be the secret itself."""
    host = urlsplit(url).hostname or ""
    return host if "." in host or host == "localhost" else ""


def key(url: str) -> str:
    """The channel's name in the store: stable across restarts, no secret in it."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def secrets(url: str) -> tuple[str, ...]:
    """The parts of a URL that may be credentials, to hide wherever text is logged."""
    parts = urlsplit(url)
    found = [url, parts.username or "", parts.password or ""]
    found += [p for p in parts.path.split("/") if len(p) >= MIN_SECRET]
    found += [v for _, v in parse_qsl(parts.query) if len(v) >= MIN_SECRET]
    if not _public_host(url):
        found.append(parts.hostname or parts.netloc)
    return tuple(sorted({s for s in found if len(s) >= 3}, key=len, reverse=True))
