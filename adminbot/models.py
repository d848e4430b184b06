"""Values passed between pipeline stages: frozen, typed, never loose dicts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType


def frozen_map(data: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """Return a read-only copy so a frozen dataclass really is frozen."""
    return MappingProxyType(dict(data or {}))


class Severity(StrEnum):
    """How urgent an incident is; critical ones are marked as such on screen."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2, Severity.CRITICAL: 3}


class IncidentState(StrEnum):
    """Life cycle of an incident; see incidents.TRANSITIONS for the allowed moves."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    FIXING = "fixing"
    RESOLVED = "resolved"
    IGNORED = "ignored"

    @property
    def is_closed(self) -> bool:
        return self in (IncidentState.RESOLVED, IncidentState.IGNORED)


class ActionKind(StrEnum):
    """The fixes a rule can offer; each maps to one planner and one executor in `actions`."""

    RETRY = "retry"
    CHOWN = "chown"
    MKDIR = "mkdir"
    CLEAN_RETRY = "clean_retry"
    QUARANTINE = "quarantine"
    RESTART_CONTAINER = "restart_container"
    RESTART_PROCESS = "restart_process"  # run by adminbot.supervise.child, not by Actions


class Policy(StrEnum):
    """What happens when a rule matches: fix on its own, ask the admin, or only tell."""

    AUTO = "auto"
    ASK = "ask"
    ALERT = "alert"


@dataclass(frozen=True, slots=True)
class Line:
    """One physical line read from a watched file (newline stripped, already decoded)."""

    source: str
    line_no: int
    text: str
    offset: int
    end_offset: int


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where reading of one file stopped, and how to recognise that file again.

    `fingerprint` is a hash of the first `fingerprint_len` bytes: a file whose
    first bytes changed is a different file even if the inode was reused.
    """

    path: str
    device: int
    inode: int
    fingerprint: str
    fingerprint_len: int
    offset: int
    line_no: int


@dataclass(frozen=True, slots=True)
class RecordParts:
    """A record cut into the texts rules look at, in the order they decide."""

    exception: str | None  # the final 'XxxError: ...' line of its traceback
    message: str  # the first line's message (header removed)
    others: tuple[str, ...]  # remaining lines, top to bottom, without frames and code
    has_traceback: bool


@dataclass(frozen=True, slots=True)
class Record:
    """One log record: a line plus its continuation lines (a traceback, indented text)."""

    source: str
    line_no: int
    text: str
    level: str | None = None
    logged_at: datetime | None = None
    parts: RecordParts | None = field(default=None, compare=False, repr=False)
    """The record's parts when whoever assembled it knew them (`rules.records.split_record`
    gives the same), so a storm's records are not cut up twice."""

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0]

    @property
    def last_line(self) -> str:
        return self.text.rstrip("\n").rsplit("\n", 1)[-1]


class Origin(StrEnum):
    """Where an incident's evidence came from: a log line, a health check, the child."""

    LOG = "log"
    CHECK = "check"
    PROCESS = "process"


@dataclass(frozen=True, slots=True)
class Match:
    """A record that a rule classified; `key` groups matches into one incident."""

    rule: str
    severity: Severity
    record: Record
    fields: Mapping[str, str] = field(default_factory=frozen_map)
    key: str = ""
    origin: Origin = Origin.LOG
    host: str = ""
    """The host the incident is about, when not the recording one ("host b silent")."""


@dataclass(frozen=True, slots=True)
class Incident:
    """A group of matches of one rule with the same key, as kept in the store."""

    id: int
    rule: str
    severity: Severity
    key: str
    state: IncidentState
    count: int
    first_seen: datetime
    last_seen: datetime
    source: str
    sample: str
    fields: Mapping[str, str] = field(default_factory=frozen_map)
    token: str = ""
    host: str = ""
    """The host whose log raised it (several hosts may share one store)."""

    @property
    def is_open(self) -> bool:
        return not self.state.is_closed
