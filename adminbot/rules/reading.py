"""A log file read offline, from its start (or a span of it), as the tailer reads it.

`read_blocks` gives the file's lines in blocks of decoded texts, a record never cut
between two blocks; `read_line_batches` gives them as the tailer hands them over.
The rule tester (`adminbot.checkrules`), `adminbot learn` (`adminbot.kinds.learn`),
the benchmarks and the tests read files through here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

from adminbot.linetext import LongLine, block_texts, line_text
from adminbot.models import LineBatch
from adminbot.rules.headers import last_record_start
from adminbot.rules.spans import Span

MAX_LINE_BYTES = 64 * 1024
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class TextBlock:
    """Consecutive complete lines of a file, as decoded texts (and their bytes)."""

    line_no: int  # number of the line before the first
    offset: int  # byte offset of the first line
    end: int  # byte offset after the last line's newline (or the file's end)
    texts: list[str]
    joined: str | None = None  # "\n".join(texts), when decoding gave it for free
    data: bytes | None = None  # the lines, newlines between them; None: a line over the cap


def read_blocks(
    path: Path, *, chunk_bytes: int = CHUNK_BYTES, span: Span | None = None
) -> Iterator[TextBlock]:
    """The file's lines as the tailer reads them (`adminbot.linetext`: NULs dropped, a
    final CR too, a line over 64 KiB cut and marked), from binary chunks split on
    newlines; one block per chunk. With a `span`, only its bytes, numbered from its
    first line.

    While more of the file follows, a block ends before the last header line of
    its chunk: that record (a header whose traceback starts in the next chunk)
    goes whole into the next block, as the tailer does. A line longer than the cap
    is held the tailer's way (`LongLine`) and comes as a block of its own.
    """
    line_no = span.line_no if span else 0
    offset = span.start if span else 0  # byte offset where `partial` starts
    left = span.stop - span.start if span and span.stop is not None else None
    partial = b""  # the start of the next lines, as read
    long = LongLine(MAX_LINE_BYTES)  # once `partial` is one line longer than the cap
    long_bytes = 0  # how many bytes of the file it took so far
    with path.open("rb") as handle:
        handle.seek(offset)
        while chunk := handle.read(chunk_bytes if left is None else min(chunk_bytes, left)):
            more = len(chunk) == chunk_bytes and left != len(chunk)
            if left is not None:
                left -= len(chunk)
            if long_bytes:
                ends = chunk.find(b"\n")
                if ends < 0:
                    long.add(chunk)
                    long_bytes += len(chunk)
                    continue
                long_bytes += ends + 1
                yield TextBlock(line_no, offset, offset + long_bytes, [long.finish(chunk[:ends])])
                line_no += 1
                offset += long_bytes
                long_bytes = 0
                chunk = chunk[ends + 1 :]
            data = partial + chunk
            cut = data.rfind(b"\n")
            if cut >= 0:
                texts, joined = block_texts(data[:cut], MAX_LINE_BYTES)
                if more:
                    keep = last_record_start(texts)
                    for _ in range(len(texts) - keep):
                        cut = data.rfind(b"\n", 0, cut)
                    if joined is not None and keep < len(texts):
                        joined = joined[: len(joined) - sum(len(t) + 1 for t in texts[keep:])]
                    del texts[keep:]
                if texts:
                    yield TextBlock(line_no, offset, offset + cut + 1, texts, joined, data[:cut])
                    line_no += len(texts)
                    offset += cut + 1
            partial = data[cut + 1 :]
            if len(partial) > MAX_LINE_BYTES and b"\n" not in partial:
                long.add(partial)
                long_bytes, partial = len(partial), b""
    if long_bytes:
        yield TextBlock(line_no, offset, offset + long_bytes, [long.finish(b"")])
        return
    cut = partial.rfind(b"\n")
    if cut >= 0:
        texts, joined = block_texts(partial[:cut], MAX_LINE_BYTES)
        yield TextBlock(line_no, offset, offset + cut + 1, texts, joined, partial[:cut])
        line_no += len(texts)
        offset += cut + 1
        partial = partial[cut + 1 :]
    if partial:
        last = line_text(partial, MAX_LINE_BYTES)
        yield TextBlock(line_no, offset, offset + len(partial), [last], data=partial)


def read_line_batches(
    path: Path, *, chunk_bytes: int = CHUNK_BYTES, source: str | None = None
) -> Iterator[LineBatch]:
    """`read_blocks` as the tailer hands lines over: one `LineBatch` per block."""
    name = source or str(path)
    for block in read_blocks(path, chunk_bytes=chunk_bytes):
        if block.data is None:
            ends = [block.offset, block.end]
        else:
            lengths = (len(raw) + 1 for raw in block.data.split(b"\n"))
            ends = list(accumulate(lengths, initial=block.offset))
            ends[-1] = block.end
        yield LineBatch(name, block.line_no + 1, block.texts, ends)
