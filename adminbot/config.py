"""Configuration: secrets from the environment (or `.env`), everything else from TOML.

Every wrong value raises `ConfigError` naming the file, the key and what is wrong;
the CLI turns it into one line on stderr and exit status 2.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adminbot.errors import ConfigError
from adminbot.models import Policy, Severity

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_CONFIG_FILE = "adminbot.toml"
LANGUAGES = ("en", "es")


@dataclass(frozen=True)
class WatchConfig:
    patterns: tuple[str, ...] = ()
    from_beginning: bool = False
    polling: bool = False
    poll_interval: float = 1.0
    backstop_seconds: float = 2.0


@dataclass(frozen=True)
class AlertConfig:
    edit_throttle_seconds: float = 15.0
    unmatched_errors: bool = False


@dataclass(frozen=True)
class ActionConfig:
    allowed_folders: tuple[Path, ...] = ()
    retry_command: tuple[str, ...] | None = None
    retry_expect_path: str | None = None
    command_timeout: float = 120.0
    owner: str | None = None
    group: str | None = None
    folder_mode: int = 0o775
    container: str | None = None
    docker_socket: str = "/var/run/docker.sock"
    docker_url: str | None = None
    bot_api_url: str | None = None
    quarantine_max_age_days: float = 14.0
    restart_budget: int = 2
    restart_budget_minutes: float = 10.0
    workdir: Path | None = None
    env_file: Path | None = None
    env_passthrough: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckConfig:
    disk_paths: tuple[Path, ...] = ()
    disk_warn_percent: float = 85.0
    disk_crit_percent: float = 95.0
    disk_warn_free_mb: float | None = None
    disk_crit_free_mb: float | None = None
    process_cmdline: str | None = None
    process_pid_file: Path | None = None
    max_log_silence_minutes: float | None = None


@dataclass(frozen=True)
class SuperviseConfig:
    log_file: str = "pipeline.log"
    workdir: Path | None = None
    restart_budget: int = 3
    restart_budget_minutes: float = 10.0
    stop_timeout: float = 10.0


@dataclass(frozen=True)
class HttpConfig:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 9321


@dataclass(frozen=True)
class RedactPattern:
    """A `[[redact]]` entry: text matching `pattern` is replaced before it is kept or sent."""

    pattern: str
    replacement: str = "<redacted>"


@dataclass(frozen=True)
class StoreConfig:
    keep_days: float = 90.0
    """Closed incidents, audit rows and sent messages older than this are pruned; 0 keeps all."""


@dataclass(frozen=True)
class HeartbeatConfig:
    url: str | None = None
    """A push URL (healthchecks, Uptime Kuma) requested while adminbot is healthy."""


@dataclass(frozen=True)
class Config:
    """The whole configuration, validated; paths are absolute."""

    source: str
    data_dir: Path
    watch: WatchConfig
    token: str | None = field(default=None, repr=False)
    admin_ids: frozenset[int] = frozenset()
    api_base_url: str = DEFAULT_API_BASE_URL
    language: str = "en"
    timezone: str = "UTC"
    max_retries: int = 3
    backoff_delays: tuple[float, ...] = (1.0, 2.0, 4.0)
    verificacion_periodica: float = 30.0
    alerts: AlertConfig = AlertConfig()
    actions: ActionConfig = ActionConfig()
    checks: CheckConfig = CheckConfig()
    supervise: SuperviseConfig = SuperviseConfig()
    http: HttpConfig = HttpConfig()
    rules: tuple[Mapping[str, Any], ...] = ()
    disabled_rules: frozenset[str] = frozenset()
    policies: Mapping[str, Policy] = field(default_factory=dict)
    min_severity: Severity = Severity.INFO
    demo: bool = False
    chat_id: int | None = None
    redact: tuple[RedactPattern, ...] = ()
    store: StoreConfig = StoreConfig()
    heartbeat: HeartbeatConfig = HeartbeatConfig()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.token)

    @property
    def alert_chats(self) -> frozenset[int]:
        """Where alerts go: the alert chat (`chat_id`) when set, else each admin's own chat."""
        return frozenset({self.chat_id}) if self.chat_id is not None else self.admin_ids

    @property
    def event_log(self) -> Path:
        return self.data_dir / "descarga_errors.json"

    @property
    def monitor_log(self) -> Path:
        return self.data_dir / "monitor.log"

    @property
    def store_path(self) -> Path:
        return self.data_dir / "adminbot.sqlite3"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def disk_paths(self) -> tuple[Path, ...]:
        """Folders whose disk usage matters: [checks] disk_paths (default: the allowed
        folders), plus the data dir."""
        folders = self.checks.disk_paths or self.actions.allowed_folders
        return tuple(dict.fromkeys([*folders, self.data_dir]))

    @property
    def child_log(self) -> Path:
        return self.data_dir / self.supervise.log_file

    @property
    def demo_log(self) -> Path:
        return self.data_dir / "demo" / "pipeline.log"


class _Table:
    """Typed access to one TOML table that reports the full key on any mistake."""

    def __init__(self, data: Mapping[str, Any], prefix: str, file: str) -> None:
        self.data = data
        self.prefix = prefix
        self.file = file
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def fail(self, name: str, message: str) -> ConfigError:
        return ConfigError(self.key(name), message, self.file)

    def get(self, name: str, kind: type | tuple[type, ...], default: Any) -> Any:
        self.used.add(name)
        if name not in self.data:
            return default
        value = self.data[name]
        if isinstance(value, bool) and kind is not bool and bool not in _as_tuple(kind):
            raise self.fail(name, f"expected {_kind_name(kind)}, got a boolean")
        if not isinstance(value, kind):
            raise self.fail(name, f"expected {_kind_name(kind)}, got {type(value).__name__}")
        return value

    def number(self, name: str, default: float | None, *, minimum: float = 0.0) -> float | None:
        value = self.get(name, (int, float), default)
        if value is not None and value < minimum:
            raise self.fail(name, f"must be at least {minimum:g}, got {value}")
        return None if value is None else float(value)

    def strings(self, name: str, default: Sequence[str] = ()) -> tuple[str, ...]:
        value = self.get(name, (list, str), list(default))
        items = [value] if isinstance(value, str) else value
        for index, item in enumerate(items):
            if not isinstance(item, str) or not item:
                raise self.fail(f"{name}[{index}]", "expected a non-empty string")
        return tuple(items)

    def table(self, name: str) -> _Table:
        value = self.get(name, dict, {})
        return _Table(value, f"{self.key(name)}.", self.file)

    def reject_unknown(self) -> None:
        for name in self.data:
            if name not in self.used:
                raise self.fail(name, "unknown key (check the spelling in adminbot.example.toml)")


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    if set(_as_tuple(kind)) == {int, float}:
        return "a number"
    names = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false"}
    names |= {"list": "a list", "dict": "a table"}
    return " or ".join(names.get(k.__name__, k.__name__) for k in _as_tuple(kind))


def load_config(
    env: Mapping[str, str] | None = None, *, cwd: Path | None = None, path: Path | None = None
) -> Config:
    """Build the configuration from the environment and the TOML file it points to."""
    env = os.environ if env is None else env
    cwd = cwd or Path.cwd()
    file, data = _read_toml(env, cwd, path)
    top = _Table(data, "", file)
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
            raise ConfigError("ADMINBOT_CONFIG", f"config file {target} does not exist")
        return "(defaults)", {}
    try:
        with target.open("rb") as handle:
            return str(target), tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(syntax)", f"not valid TOML: {exc}", str(target)) from None
    except OSError as exc:
        raise ConfigError("(file)", f"cannot read: {exc.strerror}", str(target)) from None


def _build(top: _Table, env: Mapping[str, str], cwd: Path, file: str) -> Config:
    data_dir = _resolve(env.get("ADMINBOT_DATA_DIR") or top.get("data_dir", str, "logs"), cwd)
    watch = _watch(top.table("watch"), env, cwd)
    language = top.get("language", str, "en")
    if language not in LANGUAGES:
        raise top.fail("language", f"must be one of {', '.join(LANGUAGES)}, got {language!r}")
    timezone = top.get("timezone", str, "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise top.fail("timezone", f"unknown time zone {timezone!r}") from None
    delays = _delays(top)
    max_retries = int(top.number("max_retries", 3, minimum=1) or 3)
    period = top.number("verificacion_periodica", 30.0, minimum=1.0) or 30.0
    severity = top.get("min_severity", str, "info")
    if severity not in Severity.__members__.values():
        raise top.fail("min_severity", f"must be one of {', '.join(Severity)}")
    return Config(
        source=file,
        data_dir=data_dir,
        watch=watch,
        token=env.get("TELEGRAM_TOKEN") or None,
        admin_ids=_admin_ids(env),
        api_base_url=_api_base_url(env),
        language=language,
        timezone=timezone,
        max_retries=max_retries,
        backoff_delays=delays,
        verificacion_periodica=period,
        alerts=_alerts(top.table("alerts")),
        actions=_actions(top.table("actions"), cwd),
        checks=_checks(top.table("checks"), cwd),
        supervise=_supervise(top.table("supervise"), cwd),
        http=_http(top.table("http")),
        rules=_rule_tables(top),
        disabled_rules=frozenset(top.strings("disabled_rules")),
        policies=_policies(top.table("policies")),
        min_severity=Severity(severity),
        demo=not watch.patterns,
        chat_id=_chat_id(top, env),
        redact=_redact(top),
        store=_store(top.table("store")),
        heartbeat=_heartbeat(top.table("heartbeat")),
    )


def _resolve(value: str, cwd: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (cwd / path)


def _watch(table: _Table, env: Mapping[str, str], cwd: Path) -> WatchConfig:
    patterns = table.strings("paths")
    if env.get("ADMINBOT_WATCH"):
        patterns = tuple(p for p in env["ADMINBOT_WATCH"].split(":") if p)
    config = WatchConfig(
        patterns=tuple(str(_resolve(p, cwd)) for p in patterns),
        from_beginning=table.get("from_beginning", bool, False),
        polling=table.get("polling", bool, False),
        poll_interval=table.number("poll_interval", 1.0, minimum=0.05) or 1.0,
        backstop_seconds=table.number("backstop_seconds", 2.0, minimum=0.1) or 2.0,
    )
    table.reject_unknown()
    return config


def _delays(top: _Table) -> tuple[float, ...]:
    value = top.get("backoff_delays", list, [1, 2, 4])
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
    url = env.get("TELEGRAM_API_BASE_URL") or DEFAULT_API_BASE_URL
    if not url.startswith(("http://", "https://")):
        raise ConfigError("TELEGRAM_API_BASE_URL", "must start with http:// or https://")
    return url


def _alerts(table: _Table) -> AlertConfig:
    config = AlertConfig(
        edit_throttle_seconds=table.number("edit_throttle_seconds", 15.0) or 0.0,
        unmatched_errors=table.get("unmatched_errors", bool, False),
    )
    table.reject_unknown()
    return config


def _actions(table: _Table, cwd: Path) -> ActionConfig:
    retry = table.get("retry_command", list, None)
    if retry is not None and (not retry or not all(isinstance(a, str) and a for a in retry)):
        raise table.fail("retry_command", "expected a non-empty list of strings (an argv)")
    workdir = table.get("workdir", str, None)
    env_file, env_passthrough = _action_env(table, cwd)
    mode = table.get("folder_mode", str, "0775")
    try:
        folder_mode = int(mode, 8)
    except ValueError:
        raise table.fail(
            "folder_mode", f"expected an octal string like '0775', got {mode!r}"
        ) from None
    config = ActionConfig(
        allowed_folders=tuple(_resolve(p, cwd) for p in table.strings("allowed_folders")),
        retry_command=tuple(retry) if retry else None,
        retry_expect_path=table.get("retry_expect_path", str, None),
        command_timeout=table.number("command_timeout", 120.0, minimum=1.0) or 120.0,
        owner=_id_or_name(table, "owner"),
        group=_id_or_name(table, "group"),
        folder_mode=folder_mode,
        container=table.get("container", str, None),
        docker_socket=table.get("docker_socket", str, "/var/run/docker.sock"),
        docker_url=table.get("docker_url", str, None),
        bot_api_url=table.get("bot_api_url", str, None),
        quarantine_max_age_days=table.number("quarantine_max_age_days", 14.0) or 14.0,
        restart_budget=int(table.number("restart_budget", 2) or 0),
        restart_budget_minutes=table.number("restart_budget_minutes", 10.0, minimum=1) or 10.0,
        workdir=_resolve(workdir, cwd) if workdir else None,
        env_file=env_file,
        env_passthrough=env_passthrough,
    )
    table.reject_unknown()
    return config


def _id_or_name(table: _Table, name: str) -> str | None:
    value = table.get(name, (str, int), None)
    return None if value is None else str(value)


def _checks(table: _Table, cwd: Path) -> CheckConfig:
    pid_file = table.get("process_pid_file", str, None)
    config = CheckConfig(
        disk_paths=tuple(_resolve(p, cwd) for p in table.strings("disk_paths")),
        disk_warn_percent=table.number("disk_warn_percent", 85.0) or 85.0,
        disk_crit_percent=table.number("disk_crit_percent", 95.0) or 95.0,
        disk_warn_free_mb=table.number("disk_warn_free_mb", None),
        disk_crit_free_mb=table.number("disk_crit_free_mb", None),
        process_cmdline=table.get("process_cmdline", str, None),
        process_pid_file=_resolve(pid_file, cwd) if pid_file else None,
        max_log_silence_minutes=table.number("max_log_silence_minutes", None, minimum=1),
    )
    if config.disk_warn_percent > config.disk_crit_percent:
        raise table.fail("disk_warn_percent", "must not be above disk_crit_percent")
    table.reject_unknown()
    return config


def _supervise(table: _Table, cwd: Path) -> SuperviseConfig:
    log_file = table.get("log_file", str, "pipeline.log")
    if "/" in log_file or log_file.startswith("."):
        raise table.fail("log_file", "must be a plain file name (it lives in the data dir)")
    workdir = table.get("workdir", str, None)
    config = SuperviseConfig(
        log_file=log_file,
        workdir=_resolve(workdir, cwd) if workdir else None,
        restart_budget=int(table.number("restart_budget", 3) or 0),
        restart_budget_minutes=table.number("restart_budget_minutes", 10.0, minimum=1) or 10.0,
        stop_timeout=table.number("stop_timeout", 10.0, minimum=1) or 10.0,
    )
    table.reject_unknown()
    return config


def _http(table: _Table) -> HttpConfig:
    port = table.get("port", int, 9321)
    if not 0 <= port <= 65535:
        raise table.fail("port", f"must be a TCP port (0-65535), got {port}")
    config = HttpConfig(
        enabled=table.get("enabled", bool, False),
        host=table.get("host", str, "127.0.0.1"),
        port=port,
    )
    table.reject_unknown()
    return config


def _rule_tables(top: _Table) -> tuple[Mapping[str, Any], ...]:
    rules = top.get("rules", list, [])
    for index, item in enumerate(rules):
        if not isinstance(item, dict):
            raise top.fail(f"rules[{index}]", "expected a table ([[rules]])")
    return tuple(rules)


def _policies(table: _Table) -> dict[str, Policy]:
    policies = {}
    for name in list(table.data):
        value = table.get(name, str, None)
        try:
            policies[name] = Policy(value)
        except ValueError:
            choices = ", ".join(Policy)
            raise table.fail(name, f"must be one of {choices}, got {value!r}") from None
    return policies


# -- where alerts go, what a command sees, what is hidden, kept and pinged ---------------

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OWN_SECRETS = ("TELEGRAM_TOKEN", "ADMIN_ID")


def _chat_id(top: _Table, env: Mapping[str, str]) -> int | None:
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


def _action_env(table: _Table, cwd: Path) -> tuple[Path | None, tuple[str, ...]]:
    """`[actions] env_file` (the pipeline's .env) and `env_passthrough` (names to copy)."""
    raw = table.get("env_file", str, None)
    env_file = _resolve(raw, cwd) if raw else None
    if env_file is not None and not env_file.is_file():
        raise table.fail("env_file", f"{env_file} does not exist or is not a file")
    names = table.strings("env_passthrough")
    for index, name in enumerate(names):
        if not _ENV_NAME.fullmatch(name):
            raise table.fail(f"env_passthrough[{index}]", f"{name!r} is not a variable name")
        if name in _OWN_SECRETS or name.startswith("ADMINBOT_"):
            raise table.fail(
                f"env_passthrough[{index}]", f"{name} is adminbot's own, not the pipeline's"
            )
    return env_file, names


def _redact(top: _Table) -> tuple[RedactPattern, ...]:
    patterns = []
    for index, item in enumerate(top.get("redact", list, [])):
        if not isinstance(item, dict):
            raise top.fail(f"redact[{index}]", "expected a table ([[redact]])")
        table = _Table(item, f"redact[{index}].", top.file)
        pattern = table.get("pattern", str, None)
        if not pattern:
            raise table.fail("pattern", "is required (a regular expression)")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise table.fail("pattern", f"not a valid regular expression: {exc}") from None
        patterns.append(RedactPattern(pattern, table.get("replacement", str, "<redacted>")))
        table.reject_unknown()
    return tuple(patterns)


def _store(table: _Table) -> StoreConfig:
    config = StoreConfig(keep_days=table.number("keep_days", 90.0) or 0.0)
    table.reject_unknown()
    return config


def _heartbeat(table: _Table) -> HeartbeatConfig:
    url = table.get("url", str, None)
    if url is not None and not url.startswith(("http://", "https://")):
        raise table.fail("url", "must start with http:// or https://")
    table.reject_unknown()
    return HeartbeatConfig(url=url or None)
