"""Values passed between pipeline stages: frozen, typed, never loose dicts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import overload


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


class LineBatch(Sequence[Line]):
    """Consecutive lines of one file as their texts and byte offsets; each `Line` is made
    only when asked for (a chunk is thousands of lines, and a rule needs their texts).

    `offsets` has one more item than `texts`: line i spans offsets[i] to offsets[i + 1].
    """

    __slots__ = ("first_line_no", "offsets", "source", "texts")

    def __init__(
        self, source: str, first_line_no: int, texts: list[str], offsets: list[int]
    ) -> None:
        if len(offsets) != len(texts) + 1:
            raise ValueError("a batch needs one offset more than it has lines")
        self.source = source
        self.first_line_no = first_line_no
        self.texts = texts
        self.offsets = offsets

    def __len__(self) -> int:
        return len(self.texts)

    @overload
    def __getitem__(self, index: int) -> Line: ...

    @overload
    def __getitem__(self, index: slice) -> list[Line]: ...

    def __getitem__(self, index: int | slice) -> Line | list[Line]:
        if isinstance(index, slice):
            return [self._line(i) for i in range(*index.indices(len(self.texts)))]
        if index < 0:
            index += len(self.texts)
        if not 0 <= index < len(self.texts):
            raise IndexError("line index out of range")
        return self._line(index)

    def __iter__(self) -> Iterator[Line]:
        return map(self._line, range(len(self.texts)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to lists, which are not hashable

    def __repr__(self) -> str:
        return f"LineBatch({self.source!r}, lines {self.first_line_no}+{len(self.texts)})"

    def head(self, count: int) -> LineBatch:
        """The first `count` lines."""
        return LineBatch(
            self.source, self.first_line_no, self.texts[:count], self.offsets[: count + 1]
        )

    def _line(self, index: int) -> Line:
        offsets = self.offsets
        return Line(
            self.source,
            self.first_line_no + index,
            self.texts[index],
            offsets[index],
            offsets[index + 1],
        )


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
