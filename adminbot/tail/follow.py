"""Follow one open log file: turn appended bytes into lines and know the file again.

The tailer (`adminbot.tail.tailer`) decides which files to follow and when; this
module only reads. A `Follower` owns one file descriptor, so after a rename
it keeps reading the same file (by identity, not by name) until told to stop.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

from adminbot.linetext import LongLine, block_texts
from adminbot.models import Checkpoint, LineBatch
from adminbot.rules.headers import last_record_start

logger = logging.getLogger(__name__)

FINGERPRINT_BYTES = 256
CHUNK_BYTES = 256 * 1024
SCAN_CHUNK_BYTES = 1024 * 1024

_NEWLINE = b"\n"


class NotRegularFile(OSError):
    """The path names a directory, FIFO or device: reading it as a log would block or fail."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Which file this is: (device, inode) plus a hash of its first bytes (inodes get reused)."""

    device: int
    inode: int
    fingerprint: str
    fingerprint_len: int

    def same_file(self, st: os.stat_result) -> bool:
        """Tell whether a fresh stat names the same inode (the fingerprint is checked apart)."""
        return (st.st_dev, st.st_ino) == (self.device, self.inode)


def rotated_key(path: str) -> str:
    """The checkpoint name of the renamed-away file still read for `path`: both files are
    read at once after a rotation, so each keeps its own position. No path holds a NUL."""
    return f"{path}\x00rotated"


def fingerprint_of(head: bytes) -> str:
    """Hash the first bytes of a file; sha1 is plenty to tell two log files apart."""
    return hashlib.sha1(head, usedforsecurity=False).hexdigest()


def open_regular(path: str) -> tuple[int, os.stat_result]:
    """Open a path for reading and refuse anything but a regular file.

    O_NONBLOCK keeps a FIFO that matches a glob from hanging the worker thread.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(f"{path} is not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def identify(fd: int, st: os.stat_result) -> Identity:
    """Fingerprint an open file by its first up-to-FINGERPRINT_BYTES bytes."""
    head = os.pread(fd, FINGERPRINT_BYTES, 0)
    return Identity(st.st_dev, st.st_ino, fingerprint_of(head), len(head))


def prefix_matches(fd: int, fingerprint: str, length: int) -> bool:
    """Tell whether the file still starts with the bytes a checkpoint fingerprinted."""
    head = os.pread(fd, length, 0)
    return len(head) == length and fingerprint_of(head) == fingerprint


def end_position(fd: int) -> tuple[int, int]:
    """Return (offset after the last newline, number of newlines) for a start at the end.

    Counting every newline keeps `Line.line_no` a true physical line number; it
    is one pass of `bytes.count` over large chunks, so a 1 GB log costs well
    under a second, once, at start-up.
    """
    pos = 0
    last_end = 0
    count = 0
    while True:
        chunk = os.pread(fd, SCAN_CHUNK_BYTES, pos)
        if not chunk:
            return last_end, count
        count += chunk.count(_NEWLINE)
        i = chunk.rfind(_NEWLINE)
        if i >= 0:
            last_end = pos + i + 1
        pos += len(chunk)


def count_newlines(fd: int, upto: int) -> int:
    """Number of newlines in the file's first `upto` bytes (a cut-short file's line count)."""
    count = 0
    pos = 0
    while pos < upto:
        chunk = os.pread(fd, min(SCAN_CHUNK_BYTES, upto - pos), pos)
        if not chunk:
            break
        count += chunk.count(_NEWLINE)
        pos += len(chunk)
    return count


def cut_short(fd: int, st: os.stat_result, fingerprint: str, length: int) -> bool:
    """Tell whether a file shrank but kept the first bytes we fingerprinted (truncated to a
    non-zero size): reading goes on from its new end, nothing before it is read again."""
    return 0 < length <= st.st_size and prefix_matches(fd, fingerprint, length)


def find_rotated(path: str, cp: Checkpoint, max_line_bytes: int) -> Follower | None:
    """Find the file a checkpoint names beside `path` (e.g. `bot.log.1`), to finish reading it.

    Used at start-up when `path` now names another file: it was rotated while
    we were stopped. The inode must match and the first bytes too (inodes get
    reused); the follower keeps `path` as the lines' source.
    """
    folder = Path(path).parent
    try:
        with os.scandir(folder) as entries:
            candidates = [e.path for e in entries if e.inode() == cp.inode]
    except OSError as exc:
        logger.warning("cannot list %s to find the rotated %s: %s", folder, path, exc)
        return None
    for candidate in candidates:
        try:
            fd, st = open_regular(candidate)
        except OSError as exc:
            logger.debug("cannot open %s to check it: %s", candidate, exc)
            continue
        same = (st.st_dev, st.st_ino) == (cp.device, cp.inode) and cp.offset <= st.st_size
        if same and prefix_matches(fd, cp.fingerprint, cp.fingerprint_len):
            logger.info("%s was rotated while we were stopped; finishing %s first", path, candidate)
            return Follower(
                path,
                fd,
                identify(fd, st),
                offset=cp.offset,
                line_no=cp.line_no,
                max_line_bytes=max_line_bytes,
            )
        os.close(fd)
    logger.info("%s was replaced while we were stopped; reading the new file from 0", path)
    return None


class Follower:
    """Reads one open file from a committed position and yields complete lines in batches.

    Two positions are kept: the committed one (what the sink has stored, the
    checkpoint) and the read one, which runs ahead by the lines offered but not
    yet committed plus a partial last line. `rollback()` throws the read one
    away when the sink fails, so the same lines are offered again.
    """

    def __init__(
        self,
        source: str,
        fd: int,
        identity: Identity,
        *,
        offset: int = 0,
        line_no: int = 0,
        max_line_bytes: int = 65536,
    ) -> None:
        self.source = source
        self.key = source  # the store's name for its checkpoint (see `rotated_key`)
        self.identity = identity
        self.offset = offset
        self.line_no = line_no
        self.size = 0
        self._fd: int | None = fd
        self._max = max_line_bytes
        self.rollback()

    # -- positions ---------------------------------------------------------

    def checkpoint(self) -> Checkpoint:
        """Describe the committed position in the form the store keeps."""
        return self._checkpoint(self.offset, self.line_no)

    def _checkpoint(self, offset: int, line_no: int) -> Checkpoint:
        ident = self.identity
        return Checkpoint(
            path=self.key,
            device=ident.device,
            inode=ident.inode,
            fingerprint=ident.fingerprint,
            fingerprint_len=ident.fingerprint_len,
            offset=offset,
            line_no=line_no,
        )

    def commit(self, checkpoint: Checkpoint) -> None:
        """Adopt a checkpoint the sink has stored as the committed position."""
        self.offset = checkpoint.offset
        self.line_no = checkpoint.line_no

    def rollback(self) -> None:
        """Forget everything read past the committed position (the sink did not store it)."""
        self._pos = self.offset  # next byte to read
        self._line_start = self.offset  # where the partial line begins
        self._line_no = self.line_no  # line number of the last line offered
        self._partial = LongLine(self._max)  # the line not ended yet

    def _cut_to(self, size: int) -> None:
        if size < self.offset:
            logger.info("%s was cut to %d bytes; reading on from there", self.source, size)
            self.offset, self.line_no = size, count_newlines(self.fd, size)
        self.rollback()

    def restart(self) -> None:
        """Read the file again from its first byte (it was truncated or rewritten)."""
        self.identity = identify(self.fd, os.fstat(self.fd))
        self.offset = 0
        self.line_no = 0
        self.rollback()

    # -- reading -----------------------------------------------------------

    @property
    def fd(self) -> int:
        if self._fd is None:
            raise ValueError(f"follower of {self.source} is closed")
        return self._fd

    def stat(self) -> os.stat_result:
        """Stat the open file (not the path: the path may already name a newer file)."""
        st = os.fstat(self.fd)
        self.size = st.st_size
        return st

    def was_rewritten(self) -> bool:
        """Tell whether the file shrank below what was read or its first bytes changed.

        Both mean copytruncate or truncation: the content we counted is gone. A
        file cut to a smaller size with its first bytes intact is not rewritten:
        reading goes on from its new end (or from the committed position, if only
        lines not yet stored were cut).
        As the file grows the fingerprint is lengthened up to FINGERPRINT_BYTES,
        after checking that the bytes it already covered are unchanged.
        """
        st = self.stat()
        ident = self.identity
        if st.st_size < self._pos:
            if not cut_short(self.fd, st, ident.fingerprint, ident.fingerprint_len):
                return True
            self._cut_to(st.st_size)
            return False
        if ident.fingerprint_len >= FINGERPRINT_BYTES and st.st_size == self._pos:
            return False  # nothing new since the last read and nothing lost
        head = os.pread(self.fd, FINGERPRINT_BYTES, 0)
        if fingerprint_of(head[: ident.fingerprint_len]) != ident.fingerprint:
            return True
        if len(head) > ident.fingerprint_len:
            self.identity = Identity(ident.device, ident.inode, fingerprint_of(head), len(head))
        return False

    def read_batch(self) -> tuple[LineBatch, Checkpoint] | None:
        """Read one chunk; return its complete lines and the checkpoint after them.

        Returns None at end of file. The lines may be empty while a line has no
        newline yet; the checkpoint then equals the committed one.
        """
        data = os.pread(self.fd, CHUNK_BYTES, self._pos)
        if not data:
            return None
        end = self._pos
        self._pos += len(data)
        parts = data.split(_NEWLINE)
        tail = parts.pop()
        texts: list[str] = []
        offsets = [self._line_start]
        if parts:
            first = 0
            if self._partial:
                end += len(parts[0]) + 1
                texts.append(self._partial.finish(parts[0]))
                offsets.append(end)
                first = 1
            rest = parts[first:] if first else parts
            if rest:
                lengths = [len(raw) + 1 for raw in rest]
                ends = accumulate(lengths, initial=end)
                next(ends)  # `end` itself, where the first of them starts: there already
                offsets += ends
                block = data[len(data) - len(tail) - sum(lengths) : -len(tail) - 1]
                texts += block_texts(block, self._max)[0]
        self._partial.add(tail)
        batch = LineBatch(self.source, self._line_no + 1, texts, offsets)
        self._line_no += len(texts)
        self._line_start = offsets[-1]
        if len(data) == CHUNK_BYTES:
            batch = self._hold_last_record(batch)
        return batch, self._checkpoint(self._line_start, self._line_no)

    def _hold_last_record(self, batch: LineBatch) -> LineBatch:
        """More of the file follows this full chunk: keep its last record (from its
        last header line on) for the next read, so a header is not closed before
        the traceback the next chunk starts with. Nothing is held if the only
        header is the first line."""
        index = last_record_start(batch.texts)
        if index == len(batch):
            return batch
        self._pos = self._line_start = batch.offsets[index]
        self._line_no = batch.first_line_no + index - 1
        self._partial = LongLine(self._max)
        return batch.head(index)

    def close(self) -> None:
        """Close the descriptor; safe to call twice."""
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError as exc:
                logger.warning("closing %s failed: %s", self.source, exc)
            self._fd = None
