"""What a classifier worker sends back for one batch, as plain tuples and pickled once.

Pickling `Match` and `Record` objects as they are costs more on the receiving side
than building them from tuples (a storm's batch is thousands of matches, and the
receiver is the busy process). A match's record goes without its `parts`: they are
the classifier's own cut of the record, used to decide and never after; an unmatched
error keeps them (the kind miner masks them).
"""

from __future__ import annotations

import pickle
from datetime import datetime
from types import MappingProxyType
from typing import TypeAlias

from adminbot.models import Match, Record, RecordParts, Severity
from adminbot.rules.classifier import Classified
from adminbot.rules.records import HeldRecord

_SEVERITIES = {severity.value: severity for severity in Severity}

MatchRow: TypeAlias = tuple[str, str, int, str, str | None, datetime | None, dict[str, str], str]
ErrorRow: TypeAlias = tuple[int, str, str | None, datetime | None, RecordParts | None]


def encode(done: Classified, held: HeldRecord | None) -> bytes:
    """One batch's result and what the worker holds back after it."""
    matches: list[MatchRow] = []
    for match in done.matches:
        record = match.record
        matches.append(
            (
                match.rule,
                match.severity.value,
                record.line_no,
                record.text,
                record.level,
                record.logged_at,
                dict(match.fields),
                match.key,
            )
        )
    errors: list[ErrorRow] = [
        (record.line_no, record.text, record.level, record.logged_at, record.parts)
        for record in done.unmatched_errors
    ]
    return pickle.dumps((matches, errors, done.records, held), protocol=pickle.HIGHEST_PROTOCOL)


def decode(source: str, data: bytes) -> tuple[Classified, HeldRecord | None]:
    """What `encode` made, with every record of `source` again."""
    rows, errors, records, held = pickle.loads(data)  # noqa: S301 - our own process's pipe
    severities = _SEVERITIES
    matches = [
        Match(
            rule,
            severities[severity],
            Record(source, line_no, text, level, logged_at),
            MappingProxyType(fields),
            key,
        )
        for rule, severity, line_no, text, level, logged_at, fields, key in rows
    ]
    unmatched = [
        Record(source, line_no, text, level, logged_at, parts)
        for line_no, text, level, logged_at, parts in errors
    ]
    return Classified(matches, unmatched, records), held
