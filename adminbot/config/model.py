"""The configuration as values: one frozen dataclass per TOML section, and `Config`,
the whole of it, validated, with what is derived from it (paths in the data dir, who
gets alerts). Nothing here reads a file or the environment; `loader.py` does. A stage's
own values are imported from it, not defined here: `ActionSettings` (actions), the
`[[channels]]` entries (`ChannelConfig`: notify); and the `[[redact]]` entry
(`RedactPattern`) from `adminbot.redaction`, which every stage hiding secrets shares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from adminbot.actions.operations import ActionSettings
from adminbot.incidents.schedule import Scheduled
from adminbot.models import Severity
from adminbot.notify.channel_settings import ChannelConfig
from adminbot.redaction import RedactPattern
from adminbot.rules.ignore import IgnorePattern
from adminbot.rules.loader import build_rulebook
from adminbot.rules.spec import RuleBook

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DATA_DIR_ENV = "ADMINBOT_DATA_DIR"


@dataclass(frozen=True)
class WatchConfig:
    patterns: tuple[str, ...] = ()
    from_beginning: bool = False
    polling: bool = False
    poll_interval: float = 1.0
    backstop_seconds: float = 2.0
    close_inactive: float = 300.0  # seconds a renamed-away file is kept open after it last grew
    classify_process: bool = True
    """Big batches (a backlog, a storm) are classified in a second process while this one
    stores the batch before (`adminbot.rules.ahead`); never on a machine with one CPU."""


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
