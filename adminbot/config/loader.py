"""Build `Config` from the environment and the TOML file: `load_config` reads the file,
hands each section's table to its parse function (`alerts.py`, `machine.py`,
`endpoints.py`, `logs.py`, `rulebook.py`), and reads the secrets and per-host values
(token, admins, alert chat, Bot API URL, database URL, host name) from the environment,
which wins over the file.
"""

from __future__ import annotations

import os
import re
import socket
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adminbot.config.alerts import _access, _alerts, _digest
from adminbot.config.endpoints import _channels, _heartbeat, _http, _web
from adminbot.config.logs import _kinds, _redact, _store, _watch
from adminbot.config.machine import _actions, _checks, _supervise
from adminbot.config.model import DATA_DIR_ENV, DEFAULT_API_BASE_URL, Config, WatchConfig
from adminbot.config.rulebook import _ignore, _maintenance, _rules
from adminbot.config.values import _number, _resolve
from adminbot.errors import ConfigError
from adminbot.models import Severity
from adminbot.store.dburl import redact_url
from adminbot.tables import Table

DEFAULT_CONFIG_FILE = "adminbot.toml"
DATABASE_URL_ENV = "ADMINBOT_DATABASE_URL"
HOST_ENV = "ADMINBOT_HOST"
LANGUAGES = ("en", "es")


def load_config(
    env: Mapping[str, str] | None = None, *, cwd: Path | None = None, path: Path | None = None
) -> Config:
    """Build the configuration from the environment and the TOML file it points to."""
    env = os.environ if env is None else env
    cwd = cwd or Path.cwd()
    file, data = _read_toml(env, cwd, path)
    top = Table(data, "", file)
    config = _build(top, env, cwd, file)
    top.reject_unknown()
    return config


def _read_toml(env: Mapping[str, str], cwd: Path, path: Path | None) -> tuple[str, dict[str, Any]]:
    explicit = path or (Path(env["ADMINBOT_CONFIG"]) if env.get("ADMINBOT_CONFIG") else None)
    target = explicit or cwd / DEFAULT_CONFIG_FILE
    if not target.is_absolute():
        target = cwd / target
    if not target.exists():
        if explicit is not None:
            source = "--config" if path is not None else "ADMINBOT_CONFIG"
            raise ConfigError(source, f"config file {target} does not exist")
        return "(defaults)", {}
    try:
        with target.open("rb") as handle:
            return str(target), tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(syntax)", f"not valid TOML: {exc}", str(target)) from None
    except OSError as exc:
        raise ConfigError("(file)", f"cannot read: {exc.strerror}", str(target)) from None


def _build(top: Table, env: Mapping[str, str], cwd: Path, file: str) -> Config:
    defaults = Config(source=file, data_dir=Path(), watch=WatchConfig())
    configured_dir = top.get("data_dir", str, "logs")
    data_dir = _resolve(env.get(DATA_DIR_ENV) or configured_dir, cwd)
    watch = _watch(top.table("watch"), env, cwd)
    language = top.get("language", str, defaults.language)
    if language not in LANGUAGES:
        raise top.fail("language", f"must be one of {', '.join(LANGUAGES)}, got {language!r}")
    timezone = top.get("timezone", str, defaults.timezone)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise top.fail("timezone", f"unknown time zone {timezone!r}") from None
    rules = _rules(top)
    return Config(
        source=file,
        data_dir=data_dir,
        data_dir_key=DATA_DIR_ENV if env.get(DATA_DIR_ENV) else "data_dir",
        watch=watch,
        token=_token(env),
        admin_ids=_admin_ids(env),
        api_base_url=_api_base_url(env),
        language=language,
        timezone=timezone,
        max_retries=int(_number(top, "max_retries", defaults, minimum=1)),
        backoff_delays=_delays(top, defaults.backoff_delays),
        verificacion_periodica=_number(top, "verificacion_periodica", defaults, minimum=1.0),
        alerts=_alerts(top.table("alerts")),
        actions=_actions(top.table("actions"), cwd, rules),
        checks=_checks(top.table("checks"), cwd, env),
        supervise=_supervise(top.table("supervise"), cwd),
        http=_http(top.table("http")),
        kinds=_kinds(top.table("kinds")),
        rules=rules,
        min_severity=top.choice("min_severity", Severity, defaults.min_severity),
        demo=not watch.patterns,
        chat_id=_chat_id(top, env),
        redact=_redact(top),
        store=_store(top.table("store")),
        heartbeat=_heartbeat(top.table("heartbeat")),
        database_url=_database_url(top, env),
        host_name=_host_name(top, env),
        front_lease_seconds=_number(
            top, "front_lease_seconds", defaults, minimum=3.0, maximum=20.0
        ),
        channels=_channels(top, env),
        access=_access(top.table("access")),
        web=_web(top.table("web")),
        digest=_digest(top.table("digest")),
        maintenance=_maintenance(top, rules),
        ignore=_ignore(top, rules),
    )


def _delays(top: Table, default: tuple[float, ...]) -> tuple[float, ...]:
    value = top.get("backoff_delays", list, list(default))
    if not value:
        raise top.fail("backoff_delays", "needs at least one delay")
    for index, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int | float) or item < 0:
            raise top.fail(f"backoff_delays[{index}]", "expected a number of seconds >= 0")
    return tuple(float(v) for v in value)


def _admin_ids(env: Mapping[str, str]) -> frozenset[int]:
    raw = env.get("ADMIN_ID", "").strip()
    ids = set()
    for part in filter(None, (p.strip() for p in raw.split(","))):
        try:
            ids.add(int(part))
        except ValueError:
            raise ConfigError("ADMIN_ID", f"{part!r} is not a numeric Telegram user id") from None
    if env.get("TELEGRAM_TOKEN") and not ids:
        raise ConfigError("ADMIN_ID", "is required when TELEGRAM_TOKEN is set")
    return frozenset(ids)


def _api_base_url(env: Mapping[str, str]) -> str:
    return normalise_api_base_url(env.get("TELEGRAM_API_BASE_URL") or DEFAULT_API_BASE_URL)


_TOKEN_IN_PATH = re.compile(r"/bot\d+:")


def normalise_api_base_url(url: str) -> str:
    """Accept `http://host:port`, `…/bot` and a trailing slash alike; PTB appends the token.

    A bare host (or any path not ending in `/bot`) gets `/bot` appended, since the Bot
    API, local server included, always answers on `/bot<token>/<method>`.
    """
    key = "TELEGRAM_API_BASE_URL"
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(key, "must be an http:// or https:// URL with a host")
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise ConfigError(key, f"has an invalid port: {parts.netloc!r}") from None
    if _TOKEN_IN_PATH.search(parts.path):
        raise ConfigError(key, "must not hold the token (adminbot appends TELEGRAM_TOKEN)")
    if parts.query or parts.fragment:
        raise ConfigError(key, "must not have a query or a fragment")
    path = parts.path.rstrip("/")
    if not path.endswith("/bot"):
        path += "/bot"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")
"""What @BotFather hands out: the bot's id, a colon, letters, digits, `_` and `-`."""


def _token(env: Mapping[str, str]) -> str | None:
    """TELEGRAM_TOKEN, refused (without being shown) when it cannot be a bot token."""
    token = env.get("TELEGRAM_TOKEN", "").strip() or None
    if token is not None and not TOKEN_SHAPE.fullmatch(token):
        raise ConfigError(
            "TELEGRAM_TOKEN", "does not look like a bot token (<digits>:<letters> from @BotFather)"
        )
    return token


def _chat_id(top: Table, env: Mapping[str, str]) -> int | None:
    """The alert chat: env ADMINBOT_CHAT_ID, else `chat_id`; None means the admins' own chats."""
    raw = env.get("ADMINBOT_CHAT_ID", "").strip()
    value = top.get("chat_id", int, None)
    if raw:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError("ADMINBOT_CHAT_ID", f"{raw!r} is not a numeric chat id") from None
    if value == 0:
        raise top.fail("chat_id", "must be a Telegram chat id, not 0")
    return value


def _database_url(top: Table, env: Mapping[str, str]) -> str | None:
    """env ADMINBOT_DATABASE_URL, else `database_url`; an error never shows its password."""
    configured = top.get("database_url", str, "").strip()
    raw = env.get(DATABASE_URL_ENV, "").strip()
    url = raw or configured
    if not url:
        return None
    if urlsplit(url).scheme not in ("postgresql", "postgres"):
        message = f"must be a postgresql:// URL, got {redact_url(url)!r}"
        if raw:
            raise ConfigError(DATABASE_URL_ENV, message)
        raise top.fail("database_url", message)
    return url


def _host_name(top: Table, env: Mapping[str, str]) -> str:
    """env ADMINBOT_HOST, else `host_name`, else the machine's hostname."""
    configured = top.get("host_name", str, "").strip()
    raw = env.get(HOST_ENV, "").strip()
    name = raw or configured or socket.gethostname()
    if len(name) > 64 or any(c.isspace() for c in name):
        message = f"must be a short name without spaces, got {name!r}"
        if raw:
            raise ConfigError(HOST_ENV, message)
        raise top.fail("host_name", message)
    return name
