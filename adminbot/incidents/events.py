"""What recording matches did: an event per match for the notifiers, and the matches
a full store could not take. Values only, so every stage may read them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from adminbot.models import Incident, Match


class EventKind(StrEnum):
    OPENED = "opened"
    REPEATED = "repeated"


class Hold(StrEnum):
    """Why an incident is recorded but neither told nor fixed automatically (yet)."""

    MAINTENANCE = "maintenance"
    THRESHOLD = "threshold"


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    """What one match did to the incident book; notifiers decide what to say about it.

    `muted` silences messages only; `held` (a maintenance window, a threshold not
    reached) also keeps the policy's automatic fix from running."""

    kind: EventKind
    incident: Incident
    match: Match
    muted: bool
    held: Hold | None = None


@dataclass(frozen=True, slots=True)
class Unrecorded:
    """Matched records of one file that the full store could not take even one at a time.

    They were read and classified, and reading went on past them; their incidents,
    occurrences and alerts are missing."""

    source: str
    records: int
    lines: int
    first_line: int
    last_line: int
    rules: tuple[str, ...]

    @classmethod
    def of(cls, matches: Sequence[Match]) -> Unrecorded:
        spans = [(m.record.line_no, m.record.text.rstrip("\n").count("\n") + 1) for m in matches]
        return cls(
            source=matches[0].record.source,
            records=len(matches),
            lines=sum(n for _, n in spans),
            first_line=min(start for start, _ in spans),
            last_line=max(start + n - 1 for start, n in spans),
            rules=tuple(sorted({m.rule for m in matches})),
        )
