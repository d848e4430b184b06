"""Kinds of unmatched errors in one file, without a store: what `check-rules` shows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from adminbot.kinds.drain import Drain
from adminbot.kinds.mask import record_tokens
from adminbot.models import Record


@dataclass(frozen=True, slots=True)
class KindCount:
    """One template, how many records it holds and the line of its first."""

    template: str
    count: int
    first_line: int


def tally(records: Iterable[Record], top: int = 10) -> list[KindCount]:
    """The `top` templates of `records`, most frequent first (ties: first seen first)."""
    drain = Drain()
    counts: list[int] = []
    first_lines: list[int] = []
    for record in records:
        placed = drain.add(record_tokens(record))
        if placed is None:
            continue
        if placed.created:
            counts.append(0)
            first_lines.append(record.line_no)
        counts[placed.index] += 1
    found = [
        KindCount(" ".join(drain.template(index)), count, first_lines[index])
        for index, count in enumerate(counts)
    ]
    found.sort(key=lambda kind: (-kind.count, kind.first_line))
    return found[:top]
