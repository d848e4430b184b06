"""What a log file's bytes become as lines of text, for the tailer and check-rules alike.

NUL bytes are dropped (a file truncated or preallocated under its writer holds runs
of them), then one final CR (a CRLF file); a line over the cap keeps its first `cap`
bytes, whole characters only, and says how many bytes it lost. The tailer and the
offline reader both go through here, so one file gives the live bot and
`check-rules` the same lines, whatever is in it and however it is read.
"""

from __future__ import annotations

NUL = b"\x00"


def line_text(raw: bytes, cap: int) -> str:
    """One line's text, from its bytes without the newline."""
    clean = raw.replace(NUL, b"")
    if clean[-1:] == b"\r":
        clean = clean[:-1]
    return clean.decode("utf-8", "replace") if len(clean) <= cap else cut_text(clean, cap)


def block_texts(block: bytes, cap: int) -> tuple[list[str], str | None]:
    """`line_text` of each line of newline-separated bytes, and their text joined by
    newlines when one decoding gave it. Decoding them together gives the same as line
    by line, since a newline is never part of a character and NULs go before the
    decoding, as long as no line is over the cap."""
    if NUL not in block and b"\r" not in block:
        joined = block.decode("utf-8", "replace")
        texts = joined.split("\n")
        if max(map(len, texts)) <= cap // 4:  # no line of so few characters is over the cap
            return texts, joined
    lines = block.split(b"\n")
    if max(map(len, lines)) > cap:
        return [line_text(raw, cap) for raw in lines], None
    if NUL in block:
        block = block.replace(NUL, b"")
    texts = block.decode("utf-8", "replace").split("\n")
    if b"\r" in block:
        texts = [text[:-1] if text[-1:] == "\r" else text for text in texts]
    return texts, None


def cut_text(clean: bytes, cap: int, lost: int = 0) -> str:
    """A line's first `cap` bytes (`clean`: its bytes so far, NULs and final CR gone),
    whole characters only, and how many bytes were cut (`lost`: more not in `clean`)."""
    kept = whole_chars(clean[:cap])
    return f"{kept.decode('utf-8', 'replace')} …[cut {lost + len(clean) - len(kept)} bytes]"


def whole_chars(data: bytes) -> bytes:
    """Drop an incomplete UTF-8 character left at the end by a cut, so no U+FFFD appears."""
    k = len(data)
    # Step back over continuation bytes (10xxxxxx) to a lead byte, at most 3.
    while k > 0 and len(data) - k < 3 and data[k - 1] & 0xC0 == 0x80:
        k -= 1
    if k > 0 and data[k - 1] >= 0xC0:
        lead = data[k - 1]
        size = 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
        if len(data) - (k - 1) < size:
            return data[: k - 1]
    return data


class LongLine:
    """A line not ended yet, held across reads in at most `cap` + 1 bytes: its first
    bytes with NULs dropped, how many more there were, and whether the last was a CR.
    An endless line costs no more memory than a long one; its text is `line_text`'s."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._head = b""
        self._lost = 0
        self._cr = False

    def __bool__(self) -> bool:
        """Whether it holds any byte (NULs alone are nothing)."""
        return bool(self._head)

    def add(self, piece: bytes) -> None:
        clean = piece.replace(NUL, b"")
        if not clean:
            return
        self._cr = clean[-1:] == b"\r"
        room = self.cap + 1 - len(self._head)
        if room > 0:
            self._head += clean[:room]
        self._lost += max(len(clean) - max(room, 0), 0)

    def finish(self, last: bytes) -> str:
        """The line's text, `last` being its final piece; the line is then forgotten."""
        self.add(last)
        head, lost, cr = self._head, self._lost, self._cr
        self._head, self._lost, self._cr = b"", 0, False
        if cr and not lost:
            head = head[:-1]
        size = len(head) + lost - (cr and lost > 0)
        if size <= self.cap:
            return head.decode("utf-8", "replace")
        return cut_text(head[: self.cap], self.cap, size - self.cap)
