"""The sections about the logs adminbot reads and what it keeps of them: `[watch]`
(which files, how they are followed), `[[redact]]` (text replaced before it is kept or
sent), `[kinds]` (how long new kinds of error are learnt, not alerted) and `[store]`
(how long closed incidents are kept).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from adminbot.config.model import KindsConfig, StoreConfig, WatchConfig
from adminbot.config.values import _duration, _number, _resolve
from adminbot.redaction import RedactPattern
from adminbot.tables import Table


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
        classify_process=table.get("classify_process", bool, defaults.classify_process),
    )
    table.reject_unknown()
    return config


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


def _kinds(table: Table) -> KindsConfig:
    default = KindsConfig().warmup.total_seconds()
    warmup = timedelta(seconds=_duration(table, "warmup", default, zero=True))
    table.reject_unknown()
    return KindsConfig(warmup=warmup)


def _store(table: Table) -> StoreConfig:
    config = StoreConfig(keep_days=_number(table, "keep_days", StoreConfig()))
    table.reject_unknown()
    return config
