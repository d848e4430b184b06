"""The sections about addresses adminbot sends to or listens on: `[[channels]]` (Apprise
URLs besides Telegram), `[http]` (the listener), `[web]` (the dashboard on it) and
`[heartbeat]` (the push URL pinged while healthy).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from adminbot.config.model import HeartbeatConfig, HttpConfig, WebConfig
from adminbot.config.values import _duration
from adminbot.models import Severity
from adminbot.notify.channel_settings import ChannelConfig, ChannelWhen
from adminbot.notify.channel_urls import url_problem
from adminbot.tables import Table


def _http(table: Table) -> HttpConfig:
    defaults = HttpConfig()
    port = table.get("port", int, defaults.port)
    if not 0 <= port <= 65535:
        raise table.fail("port", f"must be a TCP port (0-65535), got {port}")
    config = HttpConfig(
        enabled=table.get("enabled", bool, defaults.enabled),
        host=table.get("host", str, defaults.host),
        port=port,
    )
    table.reject_unknown()
    return config


def _web(table: Table) -> WebConfig:
    url = table.get("public_url", str, None)
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise table.fail("public_url", "must be an http:// or https:// URL with a host")
        url = url.rstrip("/")
    config = WebConfig(enabled=table.get("enabled", bool, False), public_url=url)
    table.reject_unknown()
    return config


def _heartbeat(table: Table) -> HeartbeatConfig:
    url = table.get("url", str, None)
    if url is not None and not url.startswith(("http://", "https://")):
        raise table.fail("url", "must start with http:// or https://")
    table.reject_unknown()
    return HeartbeatConfig(url=url or None)


def _channels(top: Table, env: Mapping[str, str]) -> tuple[ChannelConfig, ...]:
    """`[[channels]]`: each URL (or the variable `url_env` names) must be one Apprise can use.

    A mistake names the channel by its index, never by its URL: the URL holds secrets."""
    channels = []
    for index, item in enumerate(top.get("channels", list, [])):
        if not isinstance(item, dict):
            raise top.fail(f"channels[{index}]", "expected a table ([[channels]])")
        table = Table(item, f"channels[{index}].", top.file)
        url = _channel_url(table, env)
        problem = url_problem(url)
        if problem is not None:
            raise table.fail("url", problem)
        channels.append(
            ChannelConfig(
                index=index,
                url=url,
                min_severity=table.choice("min_severity", Severity, Severity.ERROR),
                when=table.choice("when", ChannelWhen, ChannelWhen.ALWAYS),
                fallback_after=_duration(table, "fallback_after", 120.0, zero=True),
                digest=table.get("digest", bool, False),
            )
        )
        table.reject_unknown()
    return tuple(channels)


def _channel_url(table: Table, env: Mapping[str, str]) -> str:
    url = table.get("url", str, None)
    name = table.get("url_env", str, None)
    if (url is None) == (name is None):
        raise table.fail("url", "set exactly one of url and url_env")
    if name is not None:
        url = env.get(name, "").strip()
        if not url:
            raise table.fail("url_env", f"the environment variable {name} is not set")
    assert url is not None
    return url.strip()
