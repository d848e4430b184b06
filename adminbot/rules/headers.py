"""Log header lines: which formats start a record, and what their level, time and
message are.

Header formats understood (the level must be upper case, as `logging` writes it):

- `%(asctime)s %(levelname)s %(name)s: %(message)s` (also `[LEVEL]`, loguru's `| LEVEL |`)
- python-telegram-bot's `%(asctime)s - %(name)s - %(levelname)s - %(message)s`
- `[2026-11-29 10:00:01,123] [ERROR] name: message` (or `[name]`)
- `logging.basicConfig`'s default `ERROR:name:message` (no time)

Anything else is header-less: a stderr line, or part of the record before it. The
formats are data, built once for one line (`parse_header`) and once for a whole
block (`block_scan`), so both always agree on what a header is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

LEVEL_RANK = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
_LEVEL_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL", "EXCEPTION": "ERROR"}
# Longest first, so WARNING wins over WARN.
LEVEL_WORDS = ("WARNING", "WARN", "CRITICAL", "EXCEPTION", "FATAL", "ERROR", "DEBUG", "INFO")

# [0-9], not \d: only ASCII digits, and sre checks a small set faster than a category.
_TS = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]{1,9})?"
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
_LOGGER_NAME = r"[A-Za-z_][\w.-]*"
# What may follow a level word: a separator, or nothing at all.
_LEVEL_END = r"(?=[\s\]|:-]|$)"


def _formats(levels: str, named: bool, suffix: str = "") -> dict[str, str]:
    """Anchored header prefixes, each up to and including the level word.

    Built twice from the same pieces: for one line (`parse_header`) and for a whole
    block (`BLOCK_HEADERS`), so both always agree on what a header is.
    """
    ts, tails = _pieces(levels, named, suffix)
    return {
        "plain": ts + tails["plain"],
        "ptb": ts + tails["ptb"],
        "bracket": r"\[" + ts + tails["bracket"],
        "basic": tails["basic"],
    }


def _pieces(levels: str, named: bool, suffix: str = "") -> tuple[str, dict[str, str]]:
    """The timestamp and what follows it in each format (see `_formats`); `suffix` is
    added to the group names (one regex holding every format needs distinct names)."""

    def group(name: str, body: str) -> str:
        return f"(?P<{name}{suffix}>{body})" if named else f"(?:{body})"

    level = group("level", levels) + _LEVEL_END
    return group("ts", _TS), {
        # `2026-11-29 10:00:01,123 ERROR name: msg`, `... [ERROR] ...`, `... | ERROR | ...`
        "plain": r"(?:[ \t]+\[?|[ \t]+\|[ \t]*)" + level,
        # python-telegram-bot: `2026-11-29 10:00:01,123 - name - ERROR - msg`
        "ptb": r" - " + group("logger", r"\S+") + r" - " + level,
        # `[2026-11-29 10:00:01,123] [ERROR] ...`
        "bracket": r"\][ \t]*\[" + level + r"\]",
        # logging.basicConfig default: `ERROR:name:msg`
        "basic": level + ":" + group("logger", r"[\w.-]*") + ":",
    }


_LEVEL_ALTERNATION = "|".join(LEVEL_WORDS)
_PARSE = {
    kind: re.compile(prefix) for kind, prefix in _formats(_LEVEL_ALTERNATION, named=True).items()
}
# Optional logger right after the level in the plain and bracketed formats.
_PLAIN_REST = re.compile(rf"\]?:?[ \t]*(?:\|[ \t]*(?P<lg2>\S+) - |(?P<lg>{_LOGGER_NAME}):\s)?")
_BRACKET_REST = re.compile(rf"[ \t]*(?:\[(?P<lg>[^\]]*)\][ \t]*|(?P<lg2>{_LOGGER_NAME}):\s)?")
_PTB_REST = re.compile(r" - ")

# The same rests inside a block of lines: what stopped at the end of the line stops at
# its newline (`\s` and `[^\]]` would run into the next line).
_BLOCK_RESTS = {
    "plain": rf"\]?:?[ \t]*(?:\|[ \t]*\S+ - |{_LOGGER_NAME}:[^\S\n])?",
    "ptb": r"(?: - )?",
    "bracket": rf"[ \t]*(?:\[[^\]\n]*\][ \t]*|{_LOGGER_NAME}:[^\S\n])?",
    "basic": "",
}


def block_scan(skip: Collection[str]) -> re.Pattern[str]:
    """Finds every line of a "\\n"-prefixed block but the header lines at a `skip` level:
    a header line from its newline to its message, in a group named after its format
    (the formats in `header_match`'s order), any other line as the empty group `other`.

    A line at a `skip` level is refused first, by one look at its start; the timestamp
    is read once for the two formats that start with it (only one reading of it can be
    followed by the blank both need)."""
    levels = "|".join(w for w in LEVEL_WORDS if normalise_level(w) not in skip)

    def piece(kind: str, stamp: str) -> tuple[str, str]:
        """(the timestamp, the format's tail and rest), groups suffixed by the format."""
        tails = _pieces(levels, named=True, suffix="_" + kind)[1]
        return _pieces(levels, named=True, suffix=stamp)[0], tails[kind] + _BLOCK_RESTS[kind]

    ts, plain = piece("plain", "_dated")
    _, ptb = piece("ptb", "_dated")
    bracket_ts, bracket = piece("bracket", "_bracket")
    _, basic = piece("basic", "")
    dated = f"{ts}(?:(?P<plain>{plain})|(?P<ptb>{ptb}))"
    bracket = rf"(?P<bracket>\[{bracket_ts}{bracket})"
    basic = f"(?P<basic>{basic})"
    refuse = f"(?!{header_prefixes(skip)})" if skip else ""
    return re.compile(rf"\n{refuse}(?:{dated}|{bracket}|{basic}|(?P<other>))")


@dataclass(frozen=True, slots=True)
class HeaderFilter:
    """Which header lines nobody needs as records (the classifier's rules decide).

    A header at a `skip` level is never needed (`scan` does not even find it); at a
    `gated` level only if, alone as a one-line record, it matches a rule (`matches`).
    Either is fed all the same when more lines of its record follow it."""

    scan: re.Pattern[str]  # block_scan(skip)
    gated: frozenset[str]
    matches: Callable[[str], bool]
    groups: dict[str, tuple[int, int | None]]  # per format: its level's group, its time's

    @classmethod
    def of(
        cls, skip: Collection[str], gated: Collection[str], matches: Callable[[str], bool]
    ) -> HeaderFilter:
        scan = block_scan(skip)
        stamps = {"plain": "ts_dated", "ptb": "ts_dated", "bracket": "ts_bracket"}
        groups = {
            kind: (scan.groupindex[f"level_{kind}"], scan.groupindex.get(stamps.get(kind, "")))
            for kind in _BLOCK_RESTS
        }
        return cls(scan, frozenset(gated), matches, groups)


@dataclass(frozen=True, slots=True)
class Header:
    """What the first line of a record says about it."""

    level: str | None
    logged_at: datetime | None
    logger: str | None
    message: str


def normalise_level(word: str) -> str:
    """Map a level word to DEBUG/INFO/WARNING/ERROR/CRITICAL."""
    upper = word.upper()
    return _LEVEL_ALIASES.get(upper, upper)


def parse_timestamp(text: str | None) -> datetime | None:
    """Parse a log timestamp; naive times are taken as UTC, impossible ones as unknown."""
    if not text:
        return None
    naive = len(text) == 19 or (text[19:20] in (".", ",") and text[-1].isdigit())
    if naive and "+" not in text and "-" not in text[10:]:
        try:  # a zone appended: `replace(tzinfo=UTC)` would cost five times the parse
            return datetime.fromisoformat(text + "+00:00")
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def header_match(line: str) -> tuple[str, re.Match[str]] | None:
    """Find which header format a line uses; the first character picks the candidates."""
    if not line:
        return None
    first = line[0]
    if first.isdigit():
        for kind in ("plain", "ptb"):
            match = _PARSE[kind].match(line)
            if match:
                return kind, match
        return None
    if first == "[":
        match = _PARSE["bracket"].match(line)
        return ("bracket", match) if match else None
    if first.isupper():
        match = _PARSE["basic"].match(line)
        return ("basic", match) if match else None
    return None


def is_header(line: str) -> bool:
    """True when the line starts a new record with a level (cheaper than parse_header)."""
    return header_match(line) is not None


def last_record_start(texts: Sequence[str]) -> int:
    """Index of the last header line (it starts the record that may go on in the
    next chunk), or len(texts) when only the first line is one (nothing to hold)."""
    for index in range(len(texts) - 1, 0, -1):
        if is_header(texts[index]):
            return index
    return len(texts)


def parse_header(line: str) -> Header | None:
    """Split a header line into level, time, logger and message; None if it is not one."""
    found = header_match(line)
    if found is None:
        return None
    kind, match = found
    logger_name, message = logger_and_message(line, kind, match)
    return Header(
        normalise_level(match["level"]),
        parse_timestamp(match.groupdict().get("ts")),
        logger_name,
        message,
    )


def header_message(line: str) -> str | None:
    """The message part of a header line (no time parsing); None if it is not one."""
    found = header_match(line)
    return logger_and_message(line, *found)[1] if found is not None else None


_LEADING_TS = re.compile(r"(\[?)" + _TS)


def header_tail(line: str) -> tuple[int, str]:
    """The line without its leading timestamp, and which prefix it had (0: none, 1: a
    timestamp, 2: "[" and a timestamp). Lines with the same shape and tail have the
    same level, logger and message: a header's timestamp is always followed by a
    blank, " - " or "]", which no shorter reading of the timestamp leaves next."""
    found = _LEADING_TS.match(line)
    if found is None:
        return 0, line
    return (2 if found.group(1) else 1), line[found.end() :]


def header_level_and_message(line: str) -> tuple[str, str] | None:
    """The normalised level and the message of a header line (no time parsing)."""
    found = header_match(line)
    if found is None:
        return None
    kind, match = found
    return normalise_level(match["level"]), logger_and_message(line, kind, match)[1]


def logger_and_message(line: str, kind: str, match: re.Match[str]) -> tuple[str | None, str]:
    rest_at = match.end()
    logger_name: str | None = match.groupdict().get("logger")
    rest: re.Match[str] | None = None
    if kind == "plain":
        rest = _PLAIN_REST.match(line, rest_at)
    elif kind == "bracket":
        rest = _BRACKET_REST.match(line, rest_at)
    elif kind == "ptb":
        rest = _PTB_REST.match(line, rest_at)
    if rest is not None:
        rest_at = rest.end()
        if kind != "ptb":
            logger_name = rest["lg"] or rest["lg2"]
    return logger_name or None, line[rest_at:].strip()


def header_prefixes(levels: Collection[str]) -> str:
    """A regex (no groups) matching the start of a header line at one of `levels`, up to
    and including the level word; the same pieces as `parse_header`, so both agree."""
    words = [w for w in LEVEL_WORDS if normalise_level(w) in levels]
    ts, tails = _pieces("|".join(words), named=False)
    # The timestamp is matched once for the formats that start with it.
    dated = f"{ts}(?:{tails['plain']}|{tails['ptb']})"
    bracketed = rf"\[{ts}{tails['bracket']}"
    return f"{dated}|{bracketed}|{tails['basic']}"
