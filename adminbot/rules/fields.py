"""Rule helpers that look inside text: a pattern's keywords, a match's fields, its key.

Field values are untrusted log text: they are kept as written (actions validate
them before use) but capped in length. Keys stay short: a long one is hashed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from adminbot.rules.gate import LiteralGate

MAX_FIELD_LENGTH = 512
MAX_KEY_LENGTH = 96

# Telegram file_ids are base64url; these prefixes cover videos, documents,
# photos, audio, voice and animations as the Bot API hands them out.
_FILE_ID = r"(?:BAAC|BQAC|AgAC|CQAC|AwAC|DQAC|CAAC|CgAC|AAMC)[A-Za-z0-9_-]{16,}"
_FILE_ID_NEEDLES = ("baac", "bqac", "agac", "cqac", "awac", "dqac", "caac", "cgac", "aamc")
_ERRNO_NAMES = (
    "eacces",
    "eperm",
    "enoent",
    "enotdir",
    "enospc",
    "edquot",
    "econnrefused",
    "etimedout",
)


@dataclass(frozen=True, slots=True)
class _Extractor:
    """A regex with named groups, run only when one of its needles is in the text."""

    regex: re.Pattern[str]
    needles: tuple[str, ...]  # looked for in the case-folded text
    names: frozenset[str]

    @classmethod
    def of(cls, pattern: str, flags: int, needles: tuple[str, ...]) -> _Extractor:
        regex = re.compile(pattern, flags)
        return cls(regex, needles, frozenset(regex.groupindex))


# Tried in order on each text; a field keeps the first value found. Named groups
# of the matching rule's own pattern win over all of these.
_EXTRACTORS = tuple(
    _Extractor.of(pattern, flags, needles)
    for pattern, flags, needles in (
        (r"\[Errno (?P<errno>\d+)\]", 0, ("[errno",)),
        (
            r"\b(?P<errno>E(?:ACCES|PERM|NOENT|NOTDIR|NOSPC|DQUOT|CONNREFUSED|TIMEDOUT))\b",
            0,
            _ERRNO_NAMES,
        ),
        # a quoted absolute path, as in OSError messages: [Errno 13] ...: '/srv/x.mp4'
        (r"'(?P<path>/[^'\n]+)'", 0, ("'/",)),
        (r'"(?P<path>/[^"\n]+)"', 0, ('"/',)),
        # any other absolute path (not a URL path: those follow a host name)
        (r"(?<![\w/:.~-])(?P<path>/[^\s'\",;()\[\]<>]+)", 0, ("/",)),
        (r"\bfile_id\b\s*[=:]?\s*['\"]?(?P<file_id>[A-Za-z0-9_-]{16,})", re.I, ("file_id",)),
        (rf"(?<![\w-])(?P<file_id>{_FILE_ID})", 0, _FILE_ID_NEEDLES),
        (
            r"\b(?:user_id|user|usuario|chat_id|chat)\b\s*[=:]?\s*(?P<user_id>\d{4,})",
            re.I,
            ("user", "usuario", "chat"),
        ),
        (r"https?://(?P<host>[^/\s:'\"]+)(?::(?P<port>\d{1,5}))?", re.I, ("://",)),
        (r"server at \"(?P<host>[^\"]+)\", port (?P<port>\d{1,5})", re.I, ("server at",)),
        (r"\(\s*'(?P<host>[^']+)',\s*(?P<port>\d{1,5})\s*\)", 0, ("('",)),
        (r"\bhost=['\"]?(?P<host>[\w.-]+)['\"]?,?\s*port=(?P<port>\d{1,5})", re.I, ("host=",)),
        (  # ASCII digits before the colon: a needle for each, where ":" is in most lines
            r"(?<![\w.])(?P<host>[0-9]{1,3}(?:\.[0-9]{1,3}){3}|localhost):(?P<port>\d{1,5})\b",
            re.I,
            ("localhost:", *(f"{digit}:" for digit in range(10))),
        ),
    )
)
_NEEDLES = LiteralGate(needle for extractor in _EXTRACTORS for needle in extractor.needles)
_NEEDLE_MASKS = tuple(_NEEDLES.mask(extractor.needles) for extractor in _EXTRACTORS)

KNOWN_FIELDS = ("path", "file_id", "errno", "host", "port", "user_id")
"""Fields any rule can give: a `key_fields` entry or a retry placeholder may name them."""

SHOWN_FIELDS = ("path", "file_id", "errno", "host", "port", "template")
"""Fields an alert shows (a Telegram user id is not the admin's business); `template` is a
new kind's (adminbot.kinds)."""


def _clean(name: str, value: str) -> str | None:
    value = value.strip()
    if name == "path":
        value = value.rstrip(".:,;")
        if value.startswith(("/bot", "/file/bot")) or len(value) < 2:
            return None  # a Bot API URL path (with the token in it), not a file
    return value[:MAX_FIELD_LENGTH] or None


def extract_fields(found: re.Match[str] | None, texts: Sequence[str]) -> dict[str, str]:
    """Named groups of the rule's match (None: its pattern has none), then well-known
    fields from the texts in order."""
    fields: dict[str, str] = {}
    for name, value in found.groupdict().items() if found is not None else ():
        cleaned = _clean(name, value) if value else None
        if cleaned:
            fields[name] = cleaned
    for text in dict.fromkeys(texts):
        for extractor in _worth_trying(_NEEDLES.present(text.casefold())):
            if fields.keys() >= extractor.names:
                continue
            for match in extractor.regex.finditer(text):
                if _take(fields, match):
                    break
    return fields


_TRIED: dict[int, tuple[_Extractor, ...]] = {}


def _worth_trying(present: int) -> tuple[_Extractor, ...]:
    """The extractors, in order, one of whose needles is among those `present`
    (few combinations occur: each is worked out once)."""
    found = _TRIED.get(present)
    if found is None:
        if len(_TRIED) >= 1024:
            _TRIED.clear()
        found = _TRIED[present] = tuple(
            e for e, needles in zip(_EXTRACTORS, _NEEDLE_MASKS, strict=True) if present & needles
        )
    return found


def _take(fields: dict[str, str], match: re.Match[str]) -> bool:
    took = False
    for name, value in match.groupdict().items():
        if name in fields or not value:
            continue
        cleaned = _clean(name, value)
        if cleaned:
            fields[name] = cleaned
            took = True
    return took


_NORMALISERS = (
    (re.compile(r"\bbot\d+:[\w-]+"), "bot<token>"),
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"), "<ts>"),
    (re.compile(r"'[^'\n]*'|\"[^\"\n]*\""), "'*'"),
    (re.compile(rf"(?<![\w-]){_FILE_ID}"), "<file_id>"),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "0x#"),
    (re.compile(r"\b(?=[0-9a-f-]*\d)[0-9a-f]{8,}(?:-[0-9a-f]{4,})*\b", re.I), "#"),
    (re.compile(r"\d+(?:[.,:]\d+)*"), "#"),
    (re.compile(r"\s+"), " "),
)


def normalise_message(text: str) -> str:
    """The message with what varies between repeats (numbers, ids, quoted values,
    times) replaced, so retries of one problem group together."""
    for regex, replacement in _NORMALISERS:
        text = regex.sub(replacement, text)
    return text.strip().lower()


WHOLE_RULE = "*"
"""key_fields = ["*"]: one incident per rule, for problems of one shared resource (the
disk, the Bot API server) whose lines name whatever file or call happened to hit it."""


def incident_key(key_fields: Sequence[str], fields: dict[str, str], text: str) -> str:
    """`path=/srv/x.mp4`-style key from the rule's key fields, else the normalised
    message; hashed when long."""
    if tuple(key_fields) == (WHOLE_RULE,):
        return WHOLE_RULE
    parts = [f"{name}={fields[name]}" for name in key_fields if fields.get(name)]
    key = "|".join(parts) if parts else "msg:" + normalise_message(text)
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.blake2b(key.encode("utf-8", "replace"), digest_size=10).hexdigest()
    return f"{key[:40]}…{digest}"


_META = set(".^$*+?{}[]()|\\")
_ESCAPED_LITERAL = set(".^$*+?{}[]()|\\-/ :'\"#&~<>=!@%,;")


def derive_keywords(pattern: str, min_length: int = 3) -> tuple[str, ...]:
    """Literal prefixes that every match of `pattern` must contain, or () if unsure.

    Conservative on purpose: only a top-level alternation whose every branch
    starts with at least `min_length` plain characters yields keywords.
    """
    branches = _top_level_branches(pattern)
    if branches is None:
        return ()
    keywords = []
    for branch in branches:
        literal = _literal_prefix(branch)
        if len(literal) < min_length:
            return ()
        keywords.append(literal.lower())
    return tuple(dict.fromkeys(keywords))


def _top_level_branches(pattern: str) -> list[str] | None:
    branches, depth, start, index = [], 0, 0, 0
    in_class = False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            branches.append(pattern[start:index])
            start = index + 1
        index += 1
    if depth != 0 or in_class:
        return None
    branches.append(pattern[start:])
    return branches


def _literal_prefix(branch: str) -> str:
    branch = branch.removeprefix("^").removeprefix(r"\b")
    chars: list[str] = []
    index = 0
    while index < len(branch):
        char = branch[index]
        if char == "\\" and index + 1 < len(branch) and branch[index + 1] in _ESCAPED_LITERAL:
            literal, width = branch[index + 1], 2
        elif char in _META:
            break
        else:
            literal, width = char, 1
        following = branch[index + width : index + width + 1]
        if following in ("?", "*", "{"):
            break  # this character is optional
        chars.append(literal)
        index += width
    return "".join(chars)
