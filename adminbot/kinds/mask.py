"""What a record says, with what varies from one occurrence to the next masked out.

Two occurrences of one kind of error differ in paths, Telegram file ids, numbers,
user and chat ids, URLs, addresses, durations and quoted values; the template miner
should only see the words that stay. Each mask replaces its match with a fixed
placeholder (`<PATH>`, `<NUM>`, ...), applied most specific first: a URL holds a
path, a path holds numbers.
"""

from __future__ import annotations

import re
from functools import lru_cache

from adminbot.models import Record
from adminbot.rules.records import split_record

MAX_TOKENS = 80
"""Longer messages are cut: the first words name the kind, the rest is detail."""

_WORD = r"[A-Za-z0-9_-]"

DIGIT = None
"""A mask's need: a digit (any `\\d`, as its pattern reads one)."""

# (placeholder, pattern, what every match holds: one of these strings, or DIGIT), in
# the order they are applied. A text lacking what a mask needs is not searched: a
# storm's unmatched errors are thousands of distinct texts and each pattern, most
# behind a lookbehind, is tried at every position (42 us a text for all of them).
_MASKS: tuple[tuple[str, re.Pattern[str], tuple[str, ...] | None], ...] = tuple(
    (name, re.compile(pattern, flags), needs)
    for name, pattern, flags, needs in (
        ("<URL>", r"\b[a-z][a-z0-9+.-]{1,15}://[^\s'\"<>]+", re.IGNORECASE, ("://",)),
        ("<TOKEN>", r"(?<!\d)\d{6,12}:[A-Za-z0-9_-]{30,}", 0, (":",)),
        (
            "<TIME>",
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
            r"(?:Z|[+-]\d{2}:?\d{2})?)?\b|\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b",
            0,
            ("-", ":"),
        ),
        (
            "<UUID>",
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
            re.I,
            ("-",),
        ),
        # Telegram file ids and file_unique_ids: BAACAgEAAxkBAAI…, BQACAgIAAxk…, AgAD…
        (
            "<FILE_ID>",
            rf"(?<!{_WORD})(?=[A-Za-z0-9_-]*\d)(?:[A-Z][A-Za-z]{{2}}C|A[A-Za-z]AD)[A-Za-z0-9_-]{{12,}}",
            0,
            DIGIT,
        ),
        ("<PATH>", r"(?<![\w/.\\-])(?:~|\.{1,2})?(?:/[\w.@%+=,~-]+)+/?", 0, ("/",)),
        ("<PATH>", r"\b[A-Za-z]:\\(?:[\w.@ -]+\\)*[\w.@-]+", 0, (":\\",)),
        ("<PATH>", r"\b(?=[\w.-]*[A-Za-z])[\w.-]+(?:/[\w.@%+=,~-]+)+/?", 0, ("/",)),
        ("<IP>", r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b", 0, (".",)),
        (
            "<IP>",
            r"(?<![\w:])(?=[0-9a-f:]*[0-9a-f])[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:])",
            0,
            (":",),
        ),
        ("<HEX>", r"\b0x[0-9a-f]+\b", re.IGNORECASE, ("0x", "0X")),
        ("<HEX>", r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", re.IGNORECASE, DIGIT),
        # Long words of letters and digits: hashes, tokens, video ids, generated names.
        ("<ID>", rf"(?<!{_WORD})(?=[A-Za-z_-]*\d)(?=\d*[A-Za-z])[A-Za-z0-9_-]{{10,}}", 0, DIGIT),
        (
            "<DURATION>",
            r"(?<![\w.])(?:\d+(?:\.\d+)?(?:ms|us|µs|ns|[smhd])){1,4}(?!\w|\.\d)",
            0,
            DIGIT,
        ),
        ("<SIZE>", r"(?<![\w.])\d+(?:\.\d+)?\s?(?:[KMGT]i?B|bytes?|B)\b", 0, DIGIT),
        # Keep errno codes: [Errno 13] and [Errno 28] are different troubles.
        ("<NUM>", r"(?<![\w.])(?<!Errno )[-+]?\d+(?:[.,]\d+)*(?!\w|\.\d)", 0, DIGIT),
        ("<NUM>", r"(?<=[A-Za-z_=#-])\d+|\d+(?=[A-Za-z_])", 0, DIGIT),
    )
)
_DIGIT = re.compile(r"\d")

# A quoted value: masked when it is free text or holds a placeholder with other text
# (a file name, a caption); a bare identifier in straight quotes ('user_data',
# "videos_pkey") stays; «…» and “…” always hold prose (a title, a caption).
_QUOTED = re.compile(
    r"(?<![\w'\"])(['\"])([^'\"\n]{1,300})\1(?![\w'\"])|([«“])([^»”\n]{1,300})([»”])"
)
_QUOTES = ("'", '"', "«", "“")
_IDENTIFIER = re.compile(r"[A-Za-z_][\w.-]{0,60}|<[A-Z_]+>")


def mask(text: str) -> str:
    """`text` with every varying part replaced by its placeholder, spaces collapsed."""
    digits = _DIGIT.search(text) is not None  # placeholders bring none
    for placeholder, pattern, needs in _MASKS:
        if digits if needs is DIGIT else _holds(text, needs):
            text = pattern.sub(placeholder, text)
    if _holds(text, _QUOTES):
        text = _QUOTED.sub(_quoted, text)
    return " ".join(text.split())


def _holds(text: str, needs: tuple[str, ...] | None) -> bool:
    return any(map(text.__contains__, needs or ()))


def _quoted(found: re.Match[str]) -> str:
    """Straight quotes may hold a key or a name in code; typographic ones hold prose."""
    if found.group(1) and _IDENTIFIER.fullmatch(found.group(2)):
        return found.group(0)
    opening, closing = found.group(1, 1) if found.group(1) else found.group(3, 5)
    return f"{opening}<STR>{closing}"


def mining_text(record_text: str) -> str:
    """What decides a record's kind: its traceback's final exception line if it has
    one, else its message; without timestamp, level and logger (`split_record`)."""
    parts = split_record(record_text)
    return parts.exception or parts.message


def tokens(record_text: str) -> tuple[str, ...]:
    """The masked words of a record's deciding text, at most MAX_TOKENS of them."""
    return _masked_words(mining_text(record_text))


def record_tokens(record: Record) -> tuple[str, ...]:
    """`tokens(record.text)`, from the parts its assembler already found."""
    parts = record.parts
    if parts is None:
        return tokens(record.text)
    return _masked_words(parts.exception or parts.message)


@lru_cache(maxsize=1024)
def _masked_words(text: str) -> tuple[str, ...]:
    """A storm repeats its messages: each distinct one is masked once (19 regexes)."""
    words = mask(text).split(" ")[:MAX_TOKENS]
    return tuple(words) if words != [""] else ("<EMPTY>",)
