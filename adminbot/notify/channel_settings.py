"""What a `[[channels]]` entry says: where alerts go besides Telegram, which, and when.

The values the channels (`channels.py`) are configured with; the config package
(`adminbot.config.endpoints`) reads them from the TOML file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from adminbot.models import Severity


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
