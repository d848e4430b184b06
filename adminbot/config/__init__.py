"""Configuration: secrets from the environment (or `.env`), everything else from TOML.

Every wrong value raises `ConfigError` naming the file, the key and what is wrong;
the CLI turns it into one line on stderr and exit status 2. The shared validation
helpers are in `adminbot.tables`. Where each part lives:

- `model.py`: one frozen dataclass per section, and `Config`, the whole of it; the
  `[[redact]]` entry comes from `adminbot.redaction`, below every stage that hides
  secrets, and the `[[channels]]` entries are values of the stage they configure
  (`adminbot.notify.channel_settings`), both re-exported here;
- `loader.py`: `load_config`, the file, and what comes from the environment;
- the parse functions, one small one per section: `alerts.py` ([alerts], [digest],
  [access]), `machine.py` ([actions], [checks], [supervise]), `endpoints.py`
  ([[channels]], [http], [web], [heartbeat]), `logs.py` ([watch], [[redact]], [kinds],
  [store]) and `rulebook.py` ([[rules]], [policies], [thresholds], [[maintenance]],
  [[ignore]]), with the value parsers they share in `values.py`;
- `startup.py`: the data dir made ready, and the demo's harmless fixes.
"""

from __future__ import annotations

from adminbot.config.alerts import TOPIC_MODES
from adminbot.config.loader import (
    DATABASE_URL_ENV,
    DEFAULT_CONFIG_FILE,
    HOST_ENV,
    LANGUAGES,
    TOKEN_SHAPE,
    load_config,
    normalise_api_base_url,
)
from adminbot.config.model import (
    DATA_DIR_ENV,
    DEFAULT_API_BASE_URL,
    AccessConfig,
    ActionConfig,
    AlertConfig,
    CheckConfig,
    Config,
    DigestConfig,
    HeartbeatConfig,
    HttpConfig,
    KindsConfig,
    StoreConfig,
    SuperviseConfig,
    WatchConfig,
    WebConfig,
)
from adminbot.config.startup import DEMO_RETRY_COMMAND, prepare_data_dir, with_demo_remedies
from adminbot.notify.channel_settings import ChannelConfig, ChannelWhen
from adminbot.redaction import RedactPattern

__all__ = [
    "DATABASE_URL_ENV",
    "DATA_DIR_ENV",
    "DEFAULT_API_BASE_URL",
    "DEFAULT_CONFIG_FILE",
    "DEMO_RETRY_COMMAND",
    "HOST_ENV",
    "LANGUAGES",
    "TOKEN_SHAPE",
    "TOPIC_MODES",
    "AccessConfig",
    "ActionConfig",
    "AlertConfig",
    "ChannelConfig",
    "ChannelWhen",
    "CheckConfig",
    "Config",
    "DigestConfig",
    "HeartbeatConfig",
    "HttpConfig",
    "KindsConfig",
    "RedactPattern",
    "StoreConfig",
    "SuperviseConfig",
    "WatchConfig",
    "WebConfig",
    "load_config",
    "normalise_api_base_url",
    "prepare_data_dir",
    "with_demo_remedies",
]
