"""Kinds of unmatched errors in one file, without a store: what `check-rules` shows."""

from __future__ import annotations

from collections.abc import Sequence
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


def tally(
    records: Sequence[Record], top: int = 10, words: Sequence[tuple[str, ...]] | None = None
) -> list[KindCount]:
    """The `top` templates of `records`, most frequent first (ties: first seen first).

    `words` are the records' `record_tokens`, when they were masked elsewhere."""
    if words is None:
        words = [record_tokens(record) for record in records]
    return tally_words([record.line_no for record in records], words, top)


def tally_words(
    lines: Sequence[int], words: Sequence[tuple[str, ...]], top: int = 10
) -> list[KindCount]:
    """`tally` of records known by their line and masked words only (the processes
    classifying a big file's spans mask their own, and hand back no more)."""
    drain = Drain()
    counts: list[int] = []
    first_lines: list[int] = []
    for line, tokens in zip(lines, words, strict=True):
        placed = drain.add(tokens)
        if placed is None:
            continue
        if placed.created:
            counts.append(0)
            first_lines.append(line)
        counts[placed.index] += 1
    found = [
        KindCount(" ".join(drain.template(index)), count, first_lines[index])
        for index, count in enumerate(counts)
    ]
    found.sort(key=lambda kind: (-kind.count, kind.first_line))
    return found[:top]
