"""Configuration: secrets from the environment (or `.env`), everything else from TOML.

Every wrong value raises `ConfigError` naming the file, the key and what is wrong;
the CLI turns it into one line on stderr and exit status 2.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adminbot.actions.docker import DockerError, check_container_name
from adminbot.actions.operations import ActionSettings, group_id, template_problem, user_id
from adminbot.errors import ConfigError
from adminbot.models import Policy, Severity
from adminbot.rules.fields import KNOWN_FIELDS
from adminbot.rules.loader import build_rulebook, rule_from_table
from adminbot.rules.spec import RuleBook
from adminbot.tables import Table

logger = logging.getLogger(__name__)

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
    workdir: Path | None = None


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
class KindsConfig:
    warmup: timedelta = timedelta(hours=1)
    """How long after the store is created new kinds of error are learnt, not alerted."""


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

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.token)

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
            raise ConfigError("ADMINBOT_CONFIG", f"config file {target} does not exist")
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
    data_dir = top.get("data_dir", str, "logs")
    data_dir = _resolve(env.get("ADMINBOT_DATA_DIR") or data_dir, cwd)
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
        watch=watch,
        token=env.get("TELEGRAM_TOKEN") or None,
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
    )
    table.reject_unknown()
    return config


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
    url = env.get("TELEGRAM_API_BASE_URL") or DEFAULT_API_BASE_URL
    if not url.startswith(("http://", "https://")):
        raise ConfigError("TELEGRAM_API_BASE_URL", "must start with http:// or https://")
    return url


def _alerts(table: Table) -> AlertConfig:
    if table.get("unmatched_errors", bool, None) is not None:
        logger.warning(
            "%s: %s is no longer used and is ignored; remove it",
            table.file,
            table.key("unmatched_errors"),
        )
    config = AlertConfig(
        edit_throttle_seconds=_number(table, "edit_throttle_seconds", AlertConfig()),
    )
    table.reject_unknown()
    return config


def _actions(table: Table, cwd: Path, rules: RuleBook) -> ActionConfig:
    defaults = ActionConfig()
    workdir = table.get("workdir", str, None)
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
        restart_budget_minutes=_number(table, "restart_budget_minutes", defaults, minimum=1),
        workdir=_resolve(workdir, cwd) if workdir else None,
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


_PERIOD = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")
_PERIOD_UNITS = {"": "seconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _kinds(table: Table) -> KindsConfig:
    value = table.get("warmup", (str, int, float), None)
    warmup = KindsConfig().warmup
    if value is not None:
        found = _PERIOD.fullmatch(str(value).strip().lower())
        if found is None:
            raise table.fail("warmup", f'expected a period like "1h", "30m" or 0, got {value!r}')
        warmup = timedelta(**{_PERIOD_UNITS[found.group(2)]: float(found.group(1))})
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
    return build_rulebook(custom, disabled, policies, file=top.file)


def _pipeline_token(table: Table, env: Mapping[str, str]) -> str | None:
    """The value of the environment variable `[checks] bot_api_token_env` names."""
    name = table.get("bot_api_token_env", str, None)
    if name is None:
        return None
    value = env.get(name, "").strip()
    if not value:
        raise table.fail("bot_api_token_env", f"the environment variable {name} is not set")
    return value
