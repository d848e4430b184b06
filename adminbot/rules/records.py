"""Group a file's physical lines into log records (a line plus its traceback).

Second half of the sources stage: the tailer yields `Line`s; rules need whole
records, because a traceback's meaning is in its last line (`PermissionError:
[Errno 13] ...`) while its level and time are in the header line above it. Which
lines are headers, and what they say, is in `headers`.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from adminbot.models import Line, Record, RecordParts
from adminbot.rules.headers import (
    LEVEL_RANK,
    LEVEL_WORDS,
    HeaderFilter,
    header_match,
    header_message,
    header_prefixes,
    logger_and_message,
    normalise_level,
    parse_timestamp,
)

logger = logging.getLogger(__name__)

TRACEBACK_START = "Traceback (most recent call last):"
_GROUP_TRACEBACK = "Exception Group Traceback (most recent call last):"
_CHAIN_MARKERS = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
# Unindented lines that still belong to the record above: PostgreSQL's details of
# an error message, asyncio's "future: <Task ...>" under "Task exception was never retrieved".
_ATTACHED = re.compile(r"(?:DETAIL|HINT|CONTEXT|QUERY|WHERE|LINE \d+):|future: <")

# A record that grows beyond this keeps its head and its tail (the final
# exception line matters most) and notes how many lines were left out.
MAX_RECORD_LINES = 400


class LineKind(Enum):
    """The role of a physical line inside a record; decides what may follow it."""

    HEAD = "head"  # first line: a header, or a stderr line
    TRACEBACK = "traceback"  # Traceback (most recent call last):
    FRAME = "frame"  # '  File "...", line N, in f'
    CODE = "code"  # indented source line or ^^^ markers under a frame
    EXCEPTION = "exception"  # the 'XxxError: ...' line that ends a traceback
    CHAIN = "chain"  # 'During handling of the above exception ...'
    CONTINUATION = "continuation"  # any other indented or attached line
    BLANK = "blank"


# After these, the record visibly has more to come (the traceback has no final line yet).
_INCOMPLETE = frozenset({LineKind.TRACEBACK, LineKind.FRAME, LineKind.CODE, LineKind.CHAIN})
_IN_FRAMES = frozenset({LineKind.TRACEBACK, LineKind.FRAME, LineKind.CODE})


def _is_traceback_start(text: str) -> bool:
    return text.startswith((TRACEBACK_START, _GROUP_TRACEBACK))


def continuation_kind(text: str, previous: LineKind) -> LineKind | None:
    """How a header-less line continues a record whose last meaningful line was
    `previous`; None if it starts a record of its own."""
    if not text or text.isspace():
        return LineKind.BLANK
    if _is_traceback_start(text):
        return LineKind.TRACEBACK
    if text in _CHAIN_MARKERS:
        return LineKind.CHAIN
    if text[0] in " \t":
        if text.lstrip().startswith('File "'):
            return LineKind.FRAME
        in_frame = previous in (LineKind.FRAME, LineKind.CODE)
        return LineKind.CODE if in_frame else LineKind.CONTINUATION
    if previous in _IN_FRAMES:
        return LineKind.EXCEPTION
    if _ATTACHED.match(text):
        return LineKind.CONTINUATION
    return None


def _traceback_run(*, ended: bool) -> re.Pattern[str]:
    """A "\\n"-prefixed traceback whose lines need no look one by one: its start line,
    indented lines beginning with a frame, and the exception line ending it. Every
    indented line in it is a frame, source code or blank, so none is a note; a line
    this refuses takes the line-by-line path, which decides the same lines alike.
    `ended`: a header line must follow it, so its record ends with it."""
    not_exception = "|".join(
        [
            header_prefixes(set(LEVEL_RANK)),
            re.escape(TRACEBACK_START),
            re.escape(_GROUP_TRACEBACK),
            *map(re.escape, _CHAIN_MARKERS),
        ]
    )
    return re.compile(
        rf"\n{re.escape(TRACEBACK_START)}\n[ \t]+File \"[^\n]*(?:\n[ \t][^\n]*)*"
        rf"\n(?!{not_exception})(?P<exception>[^\s][^\n]*)"
        + (rf"(?=\n(?:{header_prefixes(set(LEVEL_RANK))}))" if ended else "")
    )


_TRACEBACK_RUN = _traceback_run(ended=False)
_ENDED_TRACEBACK_RUN = _traceback_run(ended=True)


def _first_kind(text: str) -> LineKind:
    if _is_traceback_start(text):
        return LineKind.TRACEBACK
    if text in _CHAIN_MARKERS:
        return LineKind.CHAIN
    return LineKind.HEAD


@dataclass(slots=True)
class HeldRecord:
    """The record being assembled; only its assembler mutates it. It is a plain value
    so a worker process can hand it back (`RecordAssembler.held`)."""

    source: str
    line_no: int
    level: str | None
    logged_at: datetime | None
    lines: list[str]
    last_kind: LineKind
    touched: float
    # A traceback joins a header line (logger.exception) or a line announcing it
    # ("Exception in thread X:"), not an unrelated stderr line before it.
    takes_traceback: bool
    message: str  # as split_record reads it from the first line
    has_traceback: bool
    tail: deque[str] | None = None  # the last lines of a record over MAX_RECORD_LINES
    omitted: int = 0
    # Exception and continuation lines in order (True: an exception line): the parts
    # split_record would find, gathered while the lines arrive.
    notes: list[tuple[bool, str]] = field(default_factory=list)

    def joins(self, kind: LineKind) -> bool:
        """A new traceback joins only where it is announced; after a finished one it
        needs a chain marker ("During handling of the above exception ...")."""
        if kind is not LineKind.TRACEBACK or self.last_kind is LineKind.CHAIN:
            return True
        return self.takes_traceback and self.last_kind is not LineKind.EXCEPTION

    def add(self, text: str, kind: LineKind) -> None:
        if len(self.lines) < MAX_RECORD_LINES // 2:
            self.lines.append(text)
        else:
            tail = self.tail
            if tail is None:
                tail = self.tail = deque(maxlen=MAX_RECORD_LINES // 2)
            elif len(tail) == tail.maxlen:
                self.omitted += 1
            tail.append(text)
        if kind is LineKind.EXCEPTION or kind is LineKind.CONTINUATION:
            self.notes.append((kind is LineKind.EXCEPTION, text))
        elif kind is LineKind.TRACEBACK:
            self.has_traceback = True
        if kind is not LineKind.BLANK:
            self.last_kind = kind

    @property
    def incomplete(self) -> bool:
        return self.last_kind in _INCOMPLETE

    def to_record(self) -> Record:
        lines = self.lines
        if self.tail:
            gap = [f"    ... {self.omitted} lines omitted ..."] if self.omitted else []
            lines = [*lines, *gap, *self.tail]
        while lines and (not lines[-1] or lines[-1].isspace()):
            lines = lines[:-1]
        text = "\n".join(lines)
        parts = None if self.tail else self._parts()  # a shortened record is split anew
        return Record(self.source, self.line_no, text, self.level, self.logged_at, parts)

    def _parts(self) -> RecordParts:
        notes = self.notes
        if not notes:
            return RecordParts(None, self.message, (), self.has_traceback)
        if len(notes) == 1 and notes[0][0]:
            return RecordParts(notes[0][1].strip(), self.message, (), self.has_traceback)
        final = next((i for i in range(len(notes) - 1, -1, -1) if notes[i][0]), None)
        others = (text.strip() for i, (_, text) in enumerate(notes) if i != final)
        return RecordParts(
            exception=notes[final][1].strip() if final is not None else None,
            message=self.message,
            others=tuple(text for text in others if text),
            has_traceback=self.has_traceback,
        )


_LEVELS = {word: normalise_level(word) for word in LEVEL_WORDS}


def _ended_traceback(block: str, position: int, header: re.Match[str]) -> re.Match[str] | None:
    """The traceback at `position` when it is the whole rest of the record whose header
    `feed_block` holds (the record then stays under `MAX_RECORD_LINES // 2` lines)."""
    if not block.startswith(TRACEBACK_START, position + 1):
        return None
    run = _ENDED_TRACEBACK_RUN.match(block, position)
    if run is None or block.count("\n", header.start(), run.end()) > MAX_RECORD_LINES // 2:
        return None
    return run


class RecordAssembler:
    """Turns one file's lines into records; one instance per source.

    A header line starts a record; tracebacks, chained exceptions and indented
    lines join the record before them; any other header-less line is a record of
    its own (level None). A record is emitted when the next one starts, at the end
    of a batch unless its traceback is visibly unfinished, or when it goes stale.
    """

    def __init__(
        self,
        source: str,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        times: bool = True,
    ) -> None:
        self.source = source
        self._monotonic = monotonic
        self._pending: HeldRecord | None = None
        # Without `times` records carry no `logged_at` (check-rules shows none).
        self._time: Callable[[str | None], datetime | None] = parse_timestamp if times else _no_time

    @property
    def has_pending(self) -> bool:
        return self._pending is not None

    @property
    def pending_line_no(self) -> int | None:
        """Line number of the first line of the record not yet emitted, if any."""
        return self._pending.line_no if self._pending is not None else None

    def held(self) -> HeldRecord | None:
        """The record not emitted yet (shared, not copied: a caller pickles it)."""
        return self._pending

    def hold(self, held: HeldRecord | None) -> None:
        """Go on from `held`, which another assembler of this source held."""
        self._pending = held

    def feed(self, line: Line) -> list[Record]:
        """Add one line; return the records it completed (zero or one)."""
        return self.feed_text(line.text, line.line_no)

    def feed_text(self, text: str, line_no: int) -> list[Record]:
        """Add one line given as its text and number (see `feed`)."""
        return self._feed_parsed(text, line_no, header_match(text))

    def _feed_parsed(
        self, text: str, line_no: int, found: tuple[str, re.Match[str]] | None
    ) -> list[Record]:
        if found is not None:
            done = self._emit()
            form, match = found
            level = normalise_level(match["level"])
            message = logger_and_message(text, form, match)[1]
            self._start(text, line_no, level, match.groupdict().get("ts"), message)
            return done
        pending = self._pending
        if pending is not None:
            kind = continuation_kind(text, pending.last_kind)
            if kind is not None and pending.joins(kind):
                pending.add(text, kind)
                return []
        done = self._emit()
        if text and not text.isspace():
            self._start(text, line_no, None, None, text.strip())
        return done

    def feed_block(
        self, block: str, texts: Sequence[str], first_line_no: int, needs: HeaderFilter
    ) -> tuple[list[Record], int]:
        """Feed consecutive lines, given as their texts and as "\\n" + "\\n".join(texts);
        return the records completed and how many header lines were skipped as records
        nobody needs (`needs`). What comes out is what feeding every line gives, but for
        the skipped records.

        One pass over the block (`needs.scan`) finds every line but the headers at a level
        no rule looks at, and parses the header lines it finds; a header followed by
        another is a one-line record made at once. Only the other lines (tracebacks,
        stderr) go through `feed_text`, a skipped header with them when they follow it.
        """
        records: list[Record] = []
        skipped = 0
        done = 0  # texts[:done] are accounted for, but for a header `held`
        held: tuple[int, re.Match[str]] | None = None  # a header: do lines follow it?
        newlines = 0
        last = 0
        count = block.count
        search = needs.scan.search
        at = 0
        while (found := search(block, at)) is not None:
            at = found.end()
            position = found.start()
            newlines += count("\n", last, position + 1)
            last = position + 1
            index = newlines - 1
            other = found.lastgroup == "other"
            if held is not None:
                followed = other and index == done
                run = _ended_traceback(block, position, held[1]) if followed else None
                skipped += self._settle(held, texts, first_line_no, needs, records, followed, run)
                held = None
                if run is not None:
                    at = run.end()
                    done = index + count("\n", position, at)
                    continue
            if index > done:  # skipped headers; the last is fed if its lines follow
                records.extend(self._emit())
                skipped += index - done
                if other:
                    skipped -= 1
                    header = texts[index - 1]
                    number = first_line_no + index - 1
                    records.extend(self._feed_parsed(header, number, header_match(header)))
            done = index + 1
            if other:
                taken = self._take_traceback(block, position, texts, index)
                if taken is not None:
                    at, lines = taken
                    done = index + lines
                    continue
                records.extend(self._feed_parsed(texts[index], first_line_no + index, None))
            else:
                held = (index, found)
        if held is not None:
            skipped += self._settle(held, texts, first_line_no, needs, records, False)
        if done < len(texts):
            records.extend(self._emit())
            skipped += len(texts) - done
        return records, skipped

    def _take_traceback(
        self, block: str, position: int, texts: Sequence[str], index: int
    ) -> tuple[int, int] | None:
        """Add the traceback starting at `texts[index]` (at `position` in the block) to the
        pending record in one go, when it is a `_TRACEBACK_RUN` the record takes whole;
        its end in the block and its number of lines, or None: go line by line."""
        pending = self._pending
        if (
            pending is None
            or not block.startswith(TRACEBACK_START, position + 1)
            or not pending.joins(LineKind.TRACEBACK)
        ):
            return None
        run = _TRACEBACK_RUN.match(block, position)
        if run is None:
            return None
        end = run.end()
        lines = block.count("\n", position, end)
        if len(pending.lines) + lines > MAX_RECORD_LINES // 2:
            return None
        taken = texts[index : index + lines]
        pending.lines.extend(taken)
        pending.notes.append((True, taken[-1]))
        pending.has_traceback = True
        pending.last_kind = LineKind.EXCEPTION
        return end, lines

    def _settle(
        self,
        held: tuple[int, re.Match[str]],
        texts: Sequence[str],
        first_line_no: int,
        needs: HeaderFilter,
        records: list[Record],
        followed: bool,
        run: re.Match[str] | None = None,
    ) -> int:
        """Feed a header `feed_block` found, now that it is known whether lines of its
        record follow it (`run`: they are an `_ENDED_TRACEBACK_RUN`, the whole rest of
        the record); 1 if it was skipped (a gated header matching no rule)."""
        index, found = held
        text = texts[index]
        level_group, stamp_group = needs.groups[found.lastgroup or ""]
        level = _LEVELS[found[level_group]]
        if not followed and level in needs.gated and not needs.matches(text):
            self._emit_into(records)
            return 1
        stamp = found[stamp_group] if stamp_group is not None else None
        message = text[found.end() - found.start() - 1 :].strip()
        self._emit_into(records)
        if run is not None:
            whole = run.string[found.start() + 1 : run.end()]
            parts = RecordParts(run["exception"].strip(), message, (), True)
        elif followed or index + 1 == len(texts):  # its record may go on
            self._start(text, first_line_no + index, level, stamp, message)
            return 0
        else:  # a header next: a record of one line
            whole, parts = text, RecordParts(None, message, (), False)
        number = first_line_no + index
        records.append(Record(self.source, number, whole, level, self._time(stamp), parts))
        return 0

    def _emit_into(self, records: list[Record]) -> None:
        pending = self._pending
        if pending is not None:
            self._pending = None
            records.append(pending.to_record())

    def end_of_batch(self) -> list[Record]:
        """Emit the pending record unless its traceback has not reached its last line."""
        pending = self._pending
        if pending is None:
            return []
        if pending.incomplete:
            pending.touched = self._monotonic()
            return []
        return self._emit()

    def flush_stale(self, older_than: float, now: float) -> list[Record]:
        """Emit a record held back for `older_than` seconds without new lines."""
        pending = self._pending
        if pending is not None and now - pending.touched >= older_than:
            logger.debug("Emitting stale record from %s:%d", self.source, pending.line_no)
            return self._emit()
        return []

    def flush(self) -> list[Record]:
        """Emit whatever is pending (shutdown, file rotated or removed)."""
        return self._emit()

    def _start(
        self, text: str, line_no: int, level: str | None, stamp: str | None, message: str
    ) -> None:
        first = LineKind.HEAD if level else _first_kind(text)
        self._pending = HeldRecord(
            source=self.source,
            line_no=line_no,
            level=level,
            logged_at=self._time(stamp),
            lines=[text],
            last_kind=first,
            takes_traceback=bool(level) or text.rstrip().endswith(":"),
            touched=self._monotonic(),
            message=message,
            has_traceback=first is LineKind.TRACEBACK,
        )

    def _emit(self) -> list[Record]:
        pending, self._pending = self._pending, None
        return [pending.to_record()] if pending is not None else []


def _no_time(stamp: str | None) -> None:
    return None


def split_record(text: str) -> RecordParts:
    """Find the final exception line, the message and the other meaningful lines.

    Frames and source lines are left out: code such as `os.chown(path)` in a frame
    says nothing about what went wrong.
    """
    if "\n" not in text:
        message = header_message(text)
        kind = LineKind.HEAD if message is not None else _first_kind(text)
        return RecordParts(
            exception=None,
            message=text.strip() if message is None else message,
            others=(),
            has_traceback=kind is LineKind.TRACEBACK,
        )
    lines = text.split("\n")
    message = header_message(lines[0])
    previous = LineKind.HEAD if message is not None else _first_kind(lines[0])
    if message is None:
        message = lines[0].strip()
    in_traceback = previous is LineKind.TRACEBACK
    exceptions: list[int] = []
    kept: list[int] = []
    for index, line in enumerate(lines[1:], start=1):
        kind = continuation_kind(line, previous) or LineKind.CONTINUATION
        if kind is LineKind.EXCEPTION:
            exceptions.append(index)
        elif kind is LineKind.CONTINUATION:
            kept.append(index)
        if kind is LineKind.TRACEBACK:
            in_traceback = True
        if kind is not LineKind.BLANK:
            previous = kind
    final = exceptions[-1] if exceptions else None
    others = sorted([*kept, *exceptions[:-1]])
    return RecordParts(
        exception=lines[final].strip() if final is not None else None,
        message=message,
        others=tuple(lines[i].strip() for i in others if lines[i].strip()),
        has_traceback=in_traceback,
    )


def assemble(lines: Sequence[Line], source: str | None = None) -> list[Record]:
    """Records of a complete sequence of lines (tests, offline tools)."""
    if not lines:
        return []
    assembler = RecordAssembler(source or lines[0].source)
    records: list[Record] = []
    for line in lines:
        records.extend(assembler.feed(line))
    records.extend(assembler.flush())
    return records
