"""A line's bytes become the same text however they arrive: whole, or piece by piece."""

from __future__ import annotations

import random

import pytest

from adminbot.linetext import LongLine, line_text

_BYTES = [b"a", b"\xc3\xb1", b"\xe2\x98\x83", b"\xc3", b"\xff", b"\x00", b"\r", b" ", b"x" * 20]


@pytest.mark.parametrize("cap", [1, 5, 16, 64])
def test_a_line_held_across_reads_reads_as_the_whole_line(cap: int) -> None:
    """NULs dropped, one final CR dropped, cut at the cap on a whole character with the
    bytes lost counted: random lines cut into random pieces, held in `cap` + 1 bytes."""
    rng = random.Random(cap)
    held = LongLine(cap)
    for _ in range(3000):
        line = b"".join(rng.choices(_BYTES, k=rng.randrange(12)))
        cuts = sorted(rng.sample(range(len(line) + 1), k=min(3, len(line) + 1)))
        pieces = [line[a:b] for a, b in zip([0, *cuts], [*cuts, len(line)], strict=True)]
        for piece in pieces[:-1]:
            held.add(piece)
        assert held.finish(pieces[-1]) == line_text(line, cap), line
        assert not held


def test_a_cut_line_keeps_whole_characters_and_says_how_much_it_lost() -> None:
    assert line_text("añb".encode() + b"\r", 2) == "a …[cut 3 bytes]"
    assert line_text(b"\x00ab\x00\r", 2) == "ab"
    assert line_text(b"abc\r\r", 3) == "abc …[cut 1 bytes]"
