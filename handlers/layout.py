"""What every view stands on: the screen it is drawn for, text cut to what one
Telegram message holds (4,096 characters as Telegram counts them, tags never cut),
and the inline keyboard under it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.i18n import Catalog
from handlers.words import esc, plain_text

MAX_CHARS = 4096
MAX_CALLBACK_BYTES = 64

View = tuple[str, InlineKeyboardMarkup | None]


@dataclass(frozen=True)
class Screen:
    """What a view needs besides the data: language and the admin's time zone."""

    t: Catalog
    zone: ZoneInfo
    now: datetime
    hosts: int = 1
    """How many hosts share the store: with more than one, messages name the host."""

    def time(self, moment: datetime) -> str:
        local = moment.astimezone(self.zone)
        if local.date() == self.now.astimezone(self.zone).date():
            return local.strftime("%H:%M:%S")
        return local.strftime("%Y-%m-%d %H:%M")


def inline(value: str, limit: int) -> str:
    """Cut and escape text shown inside a tag on one line; a newline shows as ↵, so
    dropping whole lines to fit a message can never cut a tag in two."""
    return esc(cut(value, limit).replace("\n", "↵"))


def visible_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units of the text after parsing HTML."""
    return len(plain_text(text).encode("utf-16-le")) // 2


def _units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def cut(text: str, limit: int) -> str:
    """Cut plain (not yet escaped) text to `limit` characters as Telegram counts them
    (UTF-16 units: an emoji is two), with a visible marker."""
    if _units(text) <= limit:
        return text
    kept, used = [], 0
    for char in text:
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit - 1:
            break
        kept.append(char)
    return "".join(kept) + "…"


def fit(text: str, limit: int = MAX_CHARS - 2) -> str:
    """Drop whole lines from the end until the message fits, so no tag is ever cut."""
    lines = text.split("\n")
    while len(lines) > 1 and visible_len("\n".join(lines)) > limit:
        lines.pop()
    return "\n".join(lines)


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    rows = [row for row in rows if row]
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )
