"""Button data: a frozen value per tap, encoded and parsed in this one place.

An incident tap is `verb:incident_id:token[:extra]`; the token is random per
incident, so a forged or replayed tap for another incident is refused. A page tap is
`page:n:size:rule`. Telegram allows 64 bytes of data; no path or log text goes in.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from adminbot.models import Incident
from adminbot.service.verbs import MUTE_HOURS as MUTE_HOURS  # the choices on an alert

MAX_DATA_BYTES = 64


class Verb(StrEnum):
    ACT = "act"
    IGNORE = "ign"
    RESOLVE = "res"
    MUTE = "mute"
    UNMUTE = "unm"
    ACK = "ack"
    OPEN = "open"
    CONTEXT = "ctx"
    LOG = "log"
    KIND_IGNORE = "kign"
    MAKE_RULE = "mkr"
    RULE_CONFIRM = "mkok"
    BACK = "back"
    """Back from a choice (the Mute durations) to the alert's own buttons."""


PAGE = "page"
"""What the Mute button offers; a Mute tap's extra is one of these, as "8h"."""
MUTE_LIST = "unmk"
"""A tap on one mute of the /unmute list."""


def pattern(verb: str) -> re.Pattern[str]:
    """What a CallbackQueryHandler for `verb` matches."""
    return re.compile(rf"^{re.escape(verb)}:")


_EXTRA = re.compile(r"[a-z0-9_]{1,24}")
_WITH_EXTRA = frozenset({Verb.ACT, Verb.RULE_CONFIRM})
"""Verbs whose tap carries an extra part: the action, the digest of the rule shown."""
_MAY_EXTRA = frozenset({Verb.MUTE})
"""Verbs whose tap may carry one: Mute alone offers durations, Mute with one mutes."""
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,16}")


@dataclass(frozen=True)
class Tap:
    """A tap on an incident's button."""

    verb: Verb
    incident_id: int
    token: str
    extra: str = ""

    def encode(self) -> str:
        data = f"{self.verb.value}:{self.incident_id}:{self.token}"
        return f"{data}:{self.extra}" if self.extra else data

    @classmethod
    def parse(cls, data: str) -> Tap | None:
        """The tap `data` describes, or None for anything malformed."""
        parts = data.split(":")
        if len(parts) not in (3, 4) or not parts[1].isdigit():
            return None
        try:
            verb = Verb(parts[0])
        except ValueError:
            return None
        extra = parts[3] if len(parts) == 4 else ""
        if not _TOKEN.fullmatch(parts[2]) or (extra and not _EXTRA.fullmatch(extra)):
            return None
        if verb not in _MAY_EXTRA and (verb in _WITH_EXTRA) != bool(extra):
            return None
        return cls(verb, int(parts[1]), parts[2], extra)


def callback(verb: str, incident: Incident, extra: str = "") -> str:
    """Opaque callback data: a verb, the incident id and its random token; never a path."""
    return Tap(Verb(verb), incident.id, incident.token, extra).encode()


HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
"""A host name as /errors host= and its page buttons accept it."""


@dataclass(frozen=True)
class PageTap:
    """A tap on a page button of /errors."""

    page: int
    size: int
    rule: str | None
    host: str | None = None
    """`/errors host=b`: one host's incidents (several hosts share the store)."""

    def encode(self) -> str:
        data = f"{PAGE}:{self.page}:{self.size}:{self.rule or '*'}"
        return f"{data}:{self.host}" if self.host else data

    @classmethod
    def parse(cls, data: str) -> PageTap | None:
        parts = data.split(":")
        if len(parts) not in (4, 5) or parts[0] != PAGE:
            return None
        if not (parts[1].isdigit() and parts[2].isdigit()):
            return None
        rule = None if parts[3] == "*" else parts[3]
        if rule is not None and not re.fullmatch(r"[a-z0-9_]{1,64}", rule):
            return None
        host = parts[4] if len(parts) == 5 else None
        if host is not None and not HOST_NAME.fullmatch(host):
            return None
        return cls(int(parts[1]), int(parts[2]), rule, host)


_DIGEST = re.compile(r"[0-9a-f]{12}")


@dataclass(frozen=True)
class MuteTap:
    """A tap on one mute of the /unmute list: the target's digest, since a key mute's
    target holds a path, which never goes into button data."""

    digest: str

    @classmethod
    def of(cls, target: str) -> MuteTap:
        return cls(hashlib.sha256(target.encode()).hexdigest()[:12])

    def encode(self) -> str:
        return f"{MUTE_LIST}:{self.digest}"

    @classmethod
    def parse(cls, data: str) -> MuteTap | None:
        prefix, _, digest = data.partition(":")
        return cls(digest) if prefix == MUTE_LIST and _DIGEST.fullmatch(digest) else None

    def names(self, target: str) -> bool:
        return MuteTap.of(target) == self


def mute_hours(tap: Tap) -> int | None:
    """The hours a Mute tap chose, or None for the tap that asks for the choice."""
    hours = tap.extra.removesuffix("h")
    if tap.verb is Verb.MUTE and hours.isdigit() and int(hours) in MUTE_HOURS:
        return int(hours)
    return None


def incident_of(
    tap: Tap | None, verb: Verb, lookup: Callable[[int], Incident | None]
) -> Incident | None:
    """The incident a tap of `verb` names, if it exists and the tap carries its token:
    the one check every button handler makes before trusting a tap."""
    if tap is None or tap.verb is not verb:
        return None
    incident = lookup(tap.incident_id)
    if incident is None or incident.token != tap.token:
        return None
    return incident
