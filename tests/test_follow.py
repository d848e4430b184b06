"""The follower's reading: a chunk's lines decoded at once must be what reading each line
alone gives, with the same numbers and byte offsets, however the chunks fall."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from adminbot.linetext import cut_text
from adminbot.models import Line, LineBatch
from adminbot.tail import follow
from tests.tailing import ODD_PIECES, tailer_lines


def _one_by_one(data: bytes, cap: int) -> list[Line]:
    """The straightforward reading: each complete line alone, NULs dropped, a final CR
    dropped, decoded, or cut at the cap."""
    lines = []
    start = 0
    for number, raw in enumerate(data.split(b"\n")[:-1], start=1):
        end = start + len(raw) + 1
        clean = raw.replace(b"\x00", b"")
        if clean.endswith(b"\r"):
            clean = clean[:-1]
        text = clean.decode("utf-8", "replace") if len(clean) <= cap else cut_text(clean, cap)
        lines.append(Line("f.log", number, text, start, end))
        start = end
    return lines


@pytest.mark.parametrize("seed", range(6))
def test_a_chunk_decoded_at_once_gives_each_line_as_read_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    monkeypatch.setattr(follow, "CHUNK_BYTES", rng.choice([48, 97, 256, 4096]))
    lines = [b"".join(rng.choices(ODD_PIECES, k=rng.randrange(5))) for _ in range(400)]
    data = b"\n".join(lines) + b"\n" + b"a partial line"
    path = tmp_path / "f.log"
    path.write_bytes(data)
    cap = 64
    got = tailer_lines(path, cap, "f.log")
    expected = _one_by_one(data, cap)
    assert [(line.line_no, line.offset, line.end_offset) for line in got] == [
        (line.line_no, line.offset, line.end_offset) for line in expected
    ]
    # Lines over the cap are cut line by line either way (a line cut across chunks
    # counts its final CR too): the texts compared are those of the others.
    within = [i for i, line in enumerate(lines) if len(line) <= cap]
    assert [got[i].text for i in within] == [expected[i].text for i in within]
    assert any(len(line) > cap for line in lines) and any(b"\xc3" in line for line in lines)


def test_a_line_batch_is_a_sequence_of_lines() -> None:
    batch = LineBatch("a.log", 5, ["one", "two", "three"], [10, 14, 18, 24])
    assert len(batch) == 3
    assert batch[0] == Line("a.log", 5, "one", 10, 14)
    assert batch[-1] == Line("a.log", 7, "three", 18, 24)
    assert batch[1:] == [Line("a.log", 6, "two", 14, 18), Line("a.log", 7, "three", 18, 24)]
    assert batch == list(batch) and batch.head(1) == [batch[0]]
    with pytest.raises(IndexError):
        batch[3]
    with pytest.raises(ValueError, match="one offset more"):
        LineBatch("a.log", 1, ["x"], [0])
    assert os.fspath("a.log") in repr(batch)
