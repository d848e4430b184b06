"""Hide secrets in text before adminbot keeps, logs or sends it.

It lies below the stages that use it, importing none of them: the incident path calls
it once, where a record enters (`Intake`), so stored samples, the event log and alerts
all see the same cleaned text; the outputs it protects (the event log, the monitor log,
alerts), the kinds' samples and the configuration (the `[[redact]]` entry it takes,
`RedactPattern`) import it from here too.
Bot tokens are always hidden; `[[redact]]` adds the admin's own patterns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from adminbot.models import Match, frozen_map

# A Telegram bot token: the bot's numeric id, a colon, the secret. No \b before the
# digits: in a Bot API URL they follow ".../bot" with no word boundary.
BOT_TOKEN = re.compile(r"(?<![0-9])[0-9]{6,}:[A-Za-z0-9_-]{30,}")
# What every token holds: sre finds this literal start fast, where BOT_TOKEN itself is
# tried at every position (2 us on a 180-character line).
_TOKEN_TAIL = re.compile(r":[A-Za-z0-9_-]{30}")
TOKEN_REPLACEMENT = "<token>"  # noqa: S105 - the mark left where a token was


@dataclass(frozen=True)
class RedactPattern:
    """A `[[redact]]` entry: text matching `pattern` is replaced before it is kept or sent."""

    pattern: str
    replacement: str = "<redacted>"


@dataclass(frozen=True)
class Redactor:
    """Replaces bot-token-shaped strings and the configured patterns in any text."""

    patterns: tuple[tuple[re.Pattern[str], str], ...] = ((BOT_TOKEN, TOKEN_REPLACEMENT),)

    @classmethod
    def configured(cls, extra: Sequence[RedactPattern] = ()) -> Redactor:
        """Bot tokens plus the `[[redact]]` patterns (already validated at load)."""
        compiled = tuple((re.compile(p.pattern), p.replacement) for p in extra)
        return cls(((BOT_TOKEN, TOKEN_REPLACEMENT), *compiled))

    def text(self, text: str) -> str:
        for pattern, replacement in self.patterns:
            if _screen(pattern).search(text):
                text = pattern.sub(replacement, text)
        return text

    def match(self, match: Match) -> Match:
        """The match with its line, fields and key cleaned (the same secret, the same key)."""
        if not self._holds_any(match):
            return match
        record = match.record
        text = self.text(record.text)
        fields = {name: self.text(value) for name, value in match.fields.items()}
        key = self.text(match.key)
        if text == record.text and key == match.key and fields == dict(match.fields):
            return match
        # The parts were cut from the text before it was cleaned: they go with it.
        cleaned = replace(record, text=text, parts=None)
        return replace(match, record=cleaned, fields=frozen_map(fields), key=key)

    def _holds_any(self, match: Match) -> bool:
        """Whether a pattern may be in the match's text, key or a field (the bot token:
        its tail is): a storm's matches hold none, and a search per text beats a
        substitution per text and per pattern."""
        texts = (match.record.text, match.key, *match.fields.values())
        screens = [_screen(pattern) for pattern, _ in self.patterns]
        return any(screen.search(text) for screen in screens for text in texts)


def _screen(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """What a text must hold for `pattern` to be found in it, found fast."""
    return _TOKEN_TAIL if pattern is BOT_TOKEN else pattern
