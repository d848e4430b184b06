"""Configuration: secrets from the environment (or `.env`), everything else from TOML.

Every wrong value raises `ConfigError` naming the file, the key and what is wrong;
the CLI turns it into one line on stderr and exit status 2.

Over ~400 lines: one loader, one small parse function per section; the shared
validation helpers are in `adminbot.tables`. The next split is per section module.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adminbot.actions.containers import DockerError, check_container_name
from adminbot.actions.operations import ActionSettings, group_id, template_problem, user_id
from adminbot.errors import ConfigError
from adminbot.incidents.schedule import Scheduled, Scope, parse_clock, parse_days
from adminbot.models import Policy, Severity
from adminbot.notify.channel_urls import url_problem
from adminbot.notify.quiet import QUIET_MODES, QuietHours
from adminbot.rules.fields import KNOWN_FIELDS
from adminbot.rules.ignore import IgnorePattern
from adminbot.rules.loader import build_rulebook, rule_from_table
from adminbot.rules.spec import RuleBook
from adminbot.rules.threshold import Threshold
from adminbot.store.dburl import redact_url
from adminbot.store.files import private_dir
from adminbot.tables import Table

logger = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_CONFIG_FILE = "adminbot.toml"
DATA_DIR_ENV = "ADMINBOT_DATA_DIR"
DATABASE_URL_ENV = "ADMINBOT_DATABASE_URL"
HOST_ENV = "ADMINBOT_HOST"
DEMO_RETRY_COMMAND = (sys.executable, "-c", "print('demo: the download was retried')")
"""The demo's retry: a harmless program that succeeds, run as an argv list (no shell)."""
LANGUAGES = ("en", "es")


@dataclass(frozen=True)
class WatchConfig:
    patterns: tuple[str, ...] = ()
    from_beginning: bool = False
    polling: bool = False
    poll_interval: float = 1.0
    backstop_seconds: float = 2.0
    close_inactive: float = 300.0  # seconds a renamed-away file is kept open after it last grew


@dataclass(frozen=True)
class AlertConfig:
    edit_throttle_seconds: float = 15.0
    storm_threshold: int = 10
    """More new incidents of one rule in a minute than this are told as one storm; 0: never."""
    quiet_hours: str | None = None
    """A daily window such as "23:00-07:00" in `timezone` (it may cross midnight)."""
    quiet_mode: str = "silent"
    """During quiet hours non-critical alerts arrive without sound ("silent"), or are held
    and sent as one message when they end ("digest")."""
    remind_after: float = 900.0
    """An open, unacknowledged critical incident is announced again this long after its alert."""
    remind_every: float = 3600.0
    """…and again this often, until acknowledged, resolved or muted."""
    topics: str = "none"
    """In a forum supergroup (`chat_id`), alerts go to a topic per error "type" or "host"."""


@dataclass(frozen=True)
class DigestConfig:
    """`[digest]`: one message a day about the last 24 h, with a chart."""

    at: time | None = None
    """The time of day, in `timezone`, the digest is sent; None: no digest (the default)."""
    chart: bool = True
    """Send the chart (incidents per hour by type, disk usage per folder) as a photo."""


@dataclass(frozen=True)
class AccessConfig:
    """Who besides the owners (`ADMIN_ID`) may use the bot, and for what."""

    responders: frozenset[int] = frozenset()
    """May tap fixes and acknowledge, like owners."""
    viewers: frozenset[int] = frozenset()
    """Get alerts and answers to commands; their taps on fixes are refused."""


@dataclass(frozen=True)
class ActionConfig:
    allowed_folders: tuple[Path, ...] = ()
    retry_command: tuple[str, ...] | None = None
    retry_expect_path: str | None = None
    command_timeout: float = ActionSettings.command_timeout
    owner: str | None = None
    group: str | None = None
    folder_mode: int = ActionSettings.folder_mode
    container: str | None = None
    docker_socket: str = "/var/run/docker.sock"
    docker_url: str | None = None
    bot_api_url: str | None = None
    quarantine_max_age_days: float = ActionSettings.quarantine_max_age_days
    restart_budget: int = 2
    restart_budget_minutes: float = 10.0
    auto_fix_budget: int = 30
    """Automatic fixes of one kind (retry, create folder…) per restart_budget_minutes: a
    storm of distinct timeouts must not start thousands of downloads; past it, ask."""
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
    disk_forecast_hours: float = 6.0
    """Warn when the disk-fill trend reaches disk_crit_percent within this long; 0 disables."""
    process_cmdline: str | None = None
    process_pid_file: Path | None = None
    max_log_silence_minutes: float | None = None
    bot_api_token: str | None = field(default=None, repr=False)
    """The pipeline's own bot token (from the variable `bot_api_token_env` names), so the
    check can ask the local Bot API server getMe; adminbot's token is never sent there."""


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
class WebConfig:
    """The dashboard pages, served on the `[http]` listener when enabled."""

    enabled: bool = False
    public_url: str | None = None
    """The address people open behind a reverse proxy; login links start with it."""


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
class KindsConfig:
    warmup: timedelta = timedelta(hours=1)
    """How long after the store is created new kinds of error are learnt, not alerted."""


class ChannelWhen(StrEnum):
    """When a channel is told: always, or only while Telegram delivery has been failing."""

    ALWAYS = "always"
    TELEGRAM_DOWN = "telegram_down"


@dataclass(frozen=True)
class ChannelConfig:
    """A `[[channels]]` entry: an Apprise URL and which alerts go there, when."""

    index: int
    url: str = field(repr=False)
    min_severity: Severity = Severity.ERROR
    when: ChannelWhen = ChannelWhen.ALWAYS
    fallback_after: float = 120.0
    digest: bool = False


@dataclass(frozen=True)
class Config:
    """The whole configuration, validated; paths are absolute."""

    source: str
    data_dir: Path
    watch: WatchConfig
    data_dir_key: str = "data_dir"
    """Where the data dir came from (the TOML key or ADMINBOT_DATA_DIR), for error messages."""
    token: str | None = field(default=None, repr=False)
    admin_ids: frozenset[int] = frozenset()
    api_base_url: str = DEFAULT_API_BASE_URL
    language: str = "en"
    timezone: str = "UTC"
    max_retries: int = ActionSettings.max_retries
    backoff_delays: tuple[float, ...] = ActionSettings.backoff_delays
    verificacion_periodica: float = 30.0
    alerts: AlertConfig = AlertConfig()
    actions: ActionConfig = ActionConfig()
    checks: CheckConfig = CheckConfig()
    supervise: SuperviseConfig = SuperviseConfig()
    http: HttpConfig = HttpConfig()
    kinds: KindsConfig = KindsConfig()
    rules: RuleBook = field(default_factory=build_rulebook)
    min_severity: Severity = Severity.INFO
    demo: bool = False
    chat_id: int | None = None
    redact: tuple[RedactPattern, ...] = ()
    store: StoreConfig = StoreConfig()
    heartbeat: HeartbeatConfig = HeartbeatConfig()
    database_url: str | None = field(default=None, repr=False)
    """A PostgreSQL shared by several hosts; None keeps the local SQLite file."""
    host_name: str = ""
    """This host's name on its incidents (the machine's hostname unless set)."""
    front_lease_seconds: float = 15.0
    """Several hosts: how long the front's lease lasts unrenewed; it is renewed every
    third of that, so a dead or frozen front is replaced within 4/3 of it."""
    channels: tuple[ChannelConfig, ...] = ()
    access: AccessConfig = AccessConfig()
    web: WebConfig = WebConfig()
    digest: DigestConfig = DigestConfig()
    maintenance: tuple[Scheduled, ...] = ()
    """`[[maintenance]]`: scheduled windows in which incidents are recorded, not told."""
    ignore: tuple[IgnorePattern, ...] = ()
    """`[[ignore]]`: matched lines that are counted, never alerted."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.token)

    @property
    def alert_chats(self) -> frozenset[int]:
        """Where alerts go: the alert chat (`chat_id`) when set, else the private chat of
        each owner, responder and viewer."""
        return frozenset({self.chat_id}) if self.chat_id is not None else self.users

    @property
    def users(self) -> frozenset[int]:
        """Everyone who may talk to the bot: owners, responders and viewers."""
        return self.admin_ids | self.access.responders | self.access.viewers

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

    @property
    def demo_folder(self) -> Path:
        """The demo's throwaway download folder: the only place its fixes may touch."""
        return self.data_dir / "demo" / "descargas"


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


def _number(table: Table, name: str, defaults: object, **limits: float) -> float:
    """A required-with-default number: the default is the dataclass field's, written once."""
    value = table.number(name, getattr(defaults, name), **limits)
    assert value is not None  # the dataclass default is a number
    return value


def _resolve(value: str, cwd: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (cwd / path)


def _watch(table: Table, env: Mapping[str, str], cwd: Path) -> WatchConfig:
    defaults = WatchConfig()
    patterns = table.strings("paths")
    if env.get("ADMINBOT_WATCH"):
        patterns = tuple(p for p in env["ADMINBOT_WATCH"].split(":") if p)
    config = WatchConfig(
        patterns=tuple(str(_resolve(p, cwd)) for p in patterns),
        from_beginning=table.get("from_beginning", bool, defaults.from_beginning),
        polling=table.get("polling", bool, defaults.polling),
        poll_interval=_number(table, "poll_interval", defaults, minimum=0.05),
        backstop_seconds=_number(table, "backstop_seconds", defaults, minimum=0.1),
        close_inactive=_duration(table, "close_inactive", defaults.close_inactive),
    )
    table.reject_unknown()
    return config


_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(s|m|h|d)")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _duration(table: Table, name: str, default: float, *, zero: bool = False) -> float:
    """A duration written as "30s", "5m", "1h" or "2d", in seconds; with `zero`, also 0
    (or "0") where it means "none". A bare number is refused: its unit would be a guess."""
    value = table.get(name, (str, int), None)
    if value is None:
        return default
    text = str(value).strip()
    if zero and text == "0":
        return 0.0
    found = _DURATION.fullmatch(text) if isinstance(value, str) else None
    if found is None:
        example = '"30s", "5m" or "1h"' + (" or 0" if zero else "")
        raise table.fail(name, f"expected a duration such as {example}, got {value!r}")
    return float(found[1]) * _UNIT_SECONDS[found[2]]


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


def prepare_data_dir(config: Config) -> None:
    """Create the data dir (and the demo's folders) and prove adminbot can write there."""
    key = config.data_dir_key
    file = None if key == DATA_DIR_ENV else config.source
    path = config.data_dir
    if path.exists() and not path.is_dir():
        raise ConfigError(key, f"{path} is not a folder", file)
    folders = [path, config.demo_folder] if config.demo else [path]
    try:
        private_dir(path)  # the store and logs hold incidents and paths: 0700
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path, prefix=".adminbot-write-test-"):
            pass
        if config.demo:
            config.demo_log.touch()  # watched from the start: no "missing file" warning
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(key, f"cannot create or write to {path}: {reason}", file) from None


def with_demo_remedies(config: Config) -> Config:
    """In the demo, fixes act on a throwaway folder and a harmless retry, so they can run.

    Only for the demo (nothing real is watched): a real log never gets the fake retry.
    """
    if not config.demo:
        return config
    actions = config.actions
    demo_actions = replace(
        actions,
        allowed_folders=(*actions.allowed_folders, config.demo_folder),
        retry_command=actions.retry_command or DEMO_RETRY_COMMAND,
    )
    return replace(config, actions=demo_actions)


def _alerts(table: Table) -> AlertConfig:
    if table.get("unmatched_errors", bool, None) is not None:
        logger.warning(
            "%s: %s is no longer used and is ignored; remove it",
            table.file,
            table.key("unmatched_errors"),
        )
    config = AlertConfig(
        edit_throttle_seconds=_number(table, "edit_throttle_seconds", AlertConfig()),
        storm_threshold=table.integer("storm_threshold", AlertConfig.storm_threshold),
        quiet_hours=_quiet_hours(table),
        quiet_mode=_quiet_mode(table),
        remind_after=_duration(table, "remind_after", AlertConfig.remind_after),
        remind_every=_duration(table, "remind_every", AlertConfig.remind_every),
        topics=_topics(table),
    )
    if config.remind_every <= 0 or config.remind_after <= 0:
        name = "remind_every" if config.remind_every <= 0 else "remind_after"
        raise table.fail(name, "must be longer than 0s")
    table.reject_unknown()
    return config


def _quiet_hours(table: Table) -> str | None:
    value = table.get("quiet_hours", str, None)
    if value is None or not value.strip():
        return None
    try:
        QuietHours.parse(value, "UTC")
    except ValueError as exc:
        raise table.fail("quiet_hours", str(exc)) from None
    return value.strip()


TOPIC_MODES = ("type", "host", "none")


def _topics(table: Table) -> str:
    value = table.get("topics", str, AlertConfig.topics)
    if value not in TOPIC_MODES:
        raise table.fail("topics", f"must be one of {', '.join(TOPIC_MODES)}, got {value!r}")
    return value


def _quiet_mode(table: Table) -> str:
    value = table.get("quiet_mode", str, AlertConfig.quiet_mode)
    if value not in QUIET_MODES:
        raise table.fail("quiet_mode", f"must be one of {', '.join(QUIET_MODES)}, got {value!r}")
    return value


def _digest(table: Table) -> DigestConfig:
    value = table.get("at", str, None)
    try:
        at = parse_clock(value) if value is not None and value.strip() else None
    except ValueError as exc:
        raise table.fail("at", str(exc)) from None
    config = DigestConfig(at=at, chart=table.get("chart", bool, DigestConfig.chart))
    table.reject_unknown()
    return config


def _access(table: Table) -> AccessConfig:
    config = AccessConfig(
        responders=_user_ids(table, "responders"), viewers=_user_ids(table, "viewers")
    )
    table.reject_unknown()
    return config


def _user_ids(table: Table, name: str) -> frozenset[int]:
    """A list of numeric Telegram user ids."""
    value = table.get(name, list, [])
    for index, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int) or item <= 0:
            raise table.fail(
                f"{name}[{index}]", f"expected a numeric Telegram user id, got {item!r}"
            )
    return frozenset(value)


def _actions(table: Table, cwd: Path, rules: RuleBook) -> ActionConfig:
    defaults = ActionConfig()
    workdir = table.get("workdir", str, None)
    env_file, env_passthrough = _action_env(table, cwd)
    config = ActionConfig(
        allowed_folders=_allowed_folders(table, cwd),
        retry_command=_retry_command(table, rules),
        retry_expect_path=_template(table, "retry_expect_path", rules),
        command_timeout=_number(table, "command_timeout", defaults, minimum=1.0),
        owner=_account(table, "owner", user_id),
        group=_account(table, "group", group_id),
        folder_mode=_folder_mode(table, defaults.folder_mode),
        container=_container(table),
        docker_socket=table.get("docker_socket", str, defaults.docker_socket),
        docker_url=table.get("docker_url", str, None),
        bot_api_url=_url(table, "bot_api_url"),
        quarantine_max_age_days=_number(table, "quarantine_max_age_days", defaults),
        restart_budget=table.integer("restart_budget", defaults.restart_budget),
        auto_fix_budget=table.integer("auto_fix_budget", defaults.auto_fix_budget),
        restart_budget_minutes=_number(table, "restart_budget_minutes", defaults, minimum=1),
        workdir=_resolve(workdir, cwd) if workdir else None,
        env_file=env_file,
        env_passthrough=env_passthrough,
    )
    table.reject_unknown()
    return config


def _allowed_folders(table: Table, cwd: Path) -> tuple[Path, ...]:
    folders = tuple(_resolve(p, cwd) for p in table.strings("allowed_folders"))
    if any(folder.resolve() == Path("/") for folder in folders):
        raise table.fail("allowed_folders", "the whole file system cannot be allowed")
    return folders


def _placeholders(rules: RuleBook) -> frozenset[str]:
    """Fields a log line can give: the well-known ones and the named groups of every rule."""
    groups = {name for spec in rules.classifying for name in _group_names(spec.pattern or "")}
    return frozenset(KNOWN_FIELDS) | groups


def _group_names(pattern: str) -> list[str]:
    return list(re.compile(pattern, re.IGNORECASE).groupindex)


def _retry_command(table: Table, rules: RuleBook) -> tuple[str, ...] | None:
    argv = table.get("retry_command", list, None)
    if argv is None:
        return None
    if not argv or not all(isinstance(arg, str) and arg for arg in argv):
        raise table.fail("retry_command", "expected a non-empty list of strings (an argv)")
    known = _placeholders(rules)
    for index, arg in enumerate(argv):
        problem = template_problem(arg, known, program=index == 0)
        if problem:
            raise table.fail("retry_command", problem)
    return tuple(argv)


def _template(table: Table, name: str, rules: RuleBook) -> str | None:
    value = table.get(name, str, None)
    if value:
        problem = template_problem(value, _placeholders(rules))
        if problem:
            raise table.fail(name, problem)
    return value


def _account(table: Table, name: str, lookup: Callable[[str], int | None]) -> str | None:
    """A user or group name (or numeric id) that exists on this machine."""
    value = table.get(name, (str, int), None)
    if value is None:
        return None
    text = str(value)
    if lookup(text) is None:
        kind = "user" if name == "owner" else "group"
        raise table.fail(name, f"there is no {kind} {text!r} on this machine")
    return text


def _folder_mode(table: Table, default: int) -> int:
    mode = table.get("folder_mode", str, None)
    if mode is None:
        return default
    try:
        value = int(mode, 8)
    except ValueError:
        raise table.fail(
            "folder_mode", f"expected an octal string like '0775', got {mode!r}"
        ) from None
    if not 0 <= value <= 0o7777:
        raise table.fail("folder_mode", f"must be between 0000 and 7777, got {mode!r}")
    return value


def _container(table: Table) -> str | None:
    name = table.get("container", str, None)
    if name is not None:
        try:
            check_container_name(name)
        except DockerError as exc:
            raise table.fail("container", exc.message) from None
    return name


def _url(table: Table, name: str) -> str | None:
    url = table.get(name, str, None)
    if url is not None and urlsplit(url).scheme not in ("http", "https"):
        raise table.fail(name, "must start with http:// or https://")
    return url


def _checks(table: Table, cwd: Path, env: Mapping[str, str]) -> CheckConfig:
    defaults = CheckConfig()
    pid_file = table.get("process_pid_file", str, None)
    percent = {"minimum": 0.0, "maximum": 100.0}
    config = CheckConfig(
        disk_paths=tuple(_resolve(p, cwd) for p in table.strings("disk_paths")),
        disk_warn_percent=_number(table, "disk_warn_percent", defaults, **percent),
        disk_crit_percent=_number(table, "disk_crit_percent", defaults, **percent),
        disk_warn_free_mb=table.number("disk_warn_free_mb", defaults.disk_warn_free_mb),
        disk_crit_free_mb=table.number("disk_crit_free_mb", defaults.disk_crit_free_mb),
        disk_forecast_hours=_number(table, "disk_forecast_hours", defaults, minimum=0.0),
        process_cmdline=table.get("process_cmdline", str, None),
        process_pid_file=_resolve(pid_file, cwd) if pid_file else None,
        max_log_silence_minutes=table.number("max_log_silence_minutes", None, minimum=1),
        bot_api_token=_pipeline_token(table, env),
    )
    if config.disk_warn_percent > config.disk_crit_percent:
        raise table.fail("disk_warn_percent", "must not be above disk_crit_percent")
    table.reject_unknown()
    return config


def _supervise(table: Table, cwd: Path) -> SuperviseConfig:
    defaults = SuperviseConfig()
    log_file = table.get("log_file", str, defaults.log_file)
    if "/" in log_file or log_file.startswith("."):
        raise table.fail("log_file", "must be a plain file name (it lives in the data dir)")
    workdir = table.get("workdir", str, None)
    config = SuperviseConfig(
        log_file=log_file,
        workdir=_resolve(workdir, cwd) if workdir else None,
        restart_budget=table.integer("restart_budget", defaults.restart_budget),
        restart_budget_minutes=_number(table, "restart_budget_minutes", defaults, minimum=1),
        stop_timeout=_number(table, "stop_timeout", defaults, minimum=1),
    )
    table.reject_unknown()
    return config


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


def _kinds(table: Table) -> KindsConfig:
    default = KindsConfig().warmup.total_seconds()
    warmup = timedelta(seconds=_duration(table, "warmup", default, zero=True))
    table.reject_unknown()
    return KindsConfig(warmup=warmup)


def _rules(top: Table) -> RuleBook:
    """`[[rules]]`, `disabled_rules` and `[policies]`, resolved into one checked rule book."""
    tables = top.get("rules", list, [])
    custom = []
    for index, item in enumerate(tables):
        if not isinstance(item, dict):
            raise top.fail(f"rules[{index}]", "expected a table ([[rules]])")
        custom.append(rule_from_table(item, index, top.file))
    disabled = top.strings("disabled_rules")
    table = top.table("policies")
    policies = {name: table.choice(name, Policy, Policy.ASK) for name in list(table.data)}
    thresholds = _thresholds(top.table("thresholds"))
    return build_rulebook(custom, disabled, policies, file=top.file, thresholds=thresholds)


def _pipeline_token(table: Table, env: Mapping[str, str]) -> str | None:
    """The value of the environment variable `[checks] bot_api_token_env` names."""
    name = table.get("bot_api_token_env", str, None)
    if name is None:
        return None
    value = env.get(name, "").strip()
    if not value:
        raise table.fail("bot_api_token_env", f"the environment variable {name} is not set")
    return value


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


# -- where alerts go, what a command sees, what is hidden, kept and pinged ---------------

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OWN_SECRETS = ("TELEGRAM_TOKEN", "ADMIN_ID")


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


def _action_env(table: Table, cwd: Path) -> tuple[Path | None, tuple[str, ...]]:
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


def _redact(top: Table) -> tuple[RedactPattern, ...]:
    patterns = []
    for index, item in enumerate(top.get("redact", list, [])):
        if not isinstance(item, dict):
            raise top.fail(f"redact[{index}]", "expected a table ([[redact]])")
        table = Table(item, f"redact[{index}].", top.file)
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


def _store(table: Table) -> StoreConfig:
    config = StoreConfig(keep_days=_number(table, "keep_days", StoreConfig()))
    table.reject_unknown()
    return config


def _heartbeat(table: Table) -> HeartbeatConfig:
    url = table.get("url", str, None)
    if url is not None and not url.startswith(("http://", "https://")):
        raise table.fail("url", "must start with http:// or https://")
    table.reject_unknown()
    return HeartbeatConfig(url=url or None)


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


# -- noise control: [thresholds], [[maintenance]], [[ignore]] ----------------------------


def _thresholds(table: Table) -> dict[str, Threshold]:
    """`[thresholds] timeout = "5/10m"`; whether each name is a rule is checked with the book."""
    found = {}
    for name in list(table.data):
        try:
            found[name] = Threshold.parse(table.get(name, str, ""))
        except ValueError as exc:
            raise table.fail(name, str(exc)) from None
    return found


def _tables(top: Table, name: str) -> list[Table]:
    """An array of tables such as `[[maintenance]]`, each named `name[i].` in errors."""
    tables = []
    for index, item in enumerate(top.get(name, list, [])):
        if not isinstance(item, dict):
            raise top.fail(f"{name}[{index}]", f"expected a table ([[{name}]])")
        tables.append(Table(item, f"{name}[{index}].", top.file))
    return tables


def _rule_names(table: Table, name: str, rules: RuleBook) -> frozenset[str]:
    names = table.strings(name)
    for index, rule in enumerate(names):
        if rule not in rules:
            known = ", ".join(rules)
            raise table.fail(f"{name}[{index}]", f"{rule!r} names no rule; rules: {known}")
    return frozenset(names)


def _maintenance(top: Table, rules: RuleBook) -> tuple[Scheduled, ...]:
    scheduled = []
    for index, table in enumerate(_tables(top, "maintenance")):
        try:
            days = parse_days(table.data["days"]) if "days" in table else frozenset(range(7))
        except ValueError as exc:
            raise table.fail("days", str(exc)) from None
        table.used.add("days")
        bounds = []
        for name in ("from", "to"):
            try:
                bounds.append(parse_clock(table.required(name)))
            except ValueError as exc:
                raise table.fail(name, str(exc)) from None
        if bounds[0] == bounds[1]:
            raise table.fail("to", "must differ from `from` (the window would be empty)")
        scope = Scope(_rule_names(table, "types", rules), frozenset(table.strings("hosts")))
        scheduled.append(Scheduled(index, bounds[0], bounds[1], days, scope))
        table.reject_unknown()
    return tuple(scheduled)


def _ignore(top: Table, rules: RuleBook) -> tuple[IgnorePattern, ...]:
    patterns = []
    for table in _tables(top, "ignore"):
        pattern = table.required("pattern")
        rule = table.get("rule", str, None)
        if rule is not None and rule not in rules:
            raise table.fail("rule", f"{rule!r} names no rule; rules: {', '.join(rules)}")
        try:
            patterns.append(IgnorePattern(pattern, rule, table.get("host", str, None)))
        except re.error as exc:
            raise table.fail("pattern", f"not a valid regular expression: {exc}") from None
        table.reject_unknown()
    return tuple(patterns)
