"""The tailer: every complete line once, through rotation, restarts and bad bytes.

Most tests drive `Tailer.poll()` for determinism; a few start the real
watchdog observer (inotify and polling) and wait for a line to arrive.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adminbot.models import Checkpoint, Line, Match
from adminbot.rules.classifier import Classifier
from adminbot.rules.ruleset import build_ruleset
from adminbot.tail import tracking
from adminbot.tail.follow import CHUNK_BYTES
from adminbot.tail.tailer import Tailer


class Recorder:
    """A sink that behaves like the store: lines and checkpoint saved together, or neither."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.checkpoints: dict[str, Checkpoint] = {}
        self.calls = 0
        self.failures_left = 0
        self.failure: Exception = RuntimeError("database is locked")
        self.threads: set[str] = set()

    def __call__(self, path: str, lines: Sequence[Line], checkpoint: Checkpoint) -> None:
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        if self.failures_left:
            self.failures_left -= 1
            raise self.failure
        self.lines.extend(lines)
        self.checkpoints[checkpoint.path] = checkpoint  # keyed like the store

    def texts(self, source: str | None = None) -> list[str]:
        return [line.text for line in self.lines if source is None or line.source == source]


class Problems:
    """An on_problem callback that remembers what it was told, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def __call__(self, path: str, message: str | None) -> None:
        self.calls.append((path, message))


MakeTailer = Callable[..., Tailer]


@pytest.fixture
def make_tailer() -> Iterator[MakeTailer]:
    """Build tailers over a recorder's checkpoints; every one is stopped after the test."""
    made: list[Tailer] = []

    def make(patterns: list[str], recorder: Recorder, **kwargs: Any) -> Tailer:
        kwargs.setdefault("backstop_seconds", 0.2)
        tailer = Tailer(patterns, recorder, dict(recorder.checkpoints), **kwargs)
        made.append(tailer)
        return tailer

    yield make
    for tailer in made:
        tailer.stop()


def append(path: Path, data: str | bytes) -> None:
    """Append like a logger does: one write at the end of the file."""
    raw = data.encode() if isinstance(data, str) else data
    with path.open("ab") as f:
        f.write(raw)


def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Poll a condition (the observer tests' only waiting); no fixed sleeps."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# -- start-up positions ------------------------------------------------------


def test_first_start_skips_existing_content_and_saves_the_position(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    log = tmp_path / "bot.log"
    log.write_text("old 1\nold 2\npartial")
    rec = Recorder()
    tailer = make_tailer([str(log)], rec)

    assert tailer.poll() == 0
    saved = rec.checkpoints[str(log)]
    assert (saved.offset, saved.line_no) == (len("old 1\nold 2\n"), 2)

    append(log, " end\nnew\n")
    tailer.poll()
    assert rec.texts() == ["partial end", "new"]
    assert [line.line_no for line in rec.lines] == [3, 4]


def test_from_beginning_reads_existing_content(tmp_path: Path, make_tailer: MakeTailer) -> None:
    log = tmp_path / "bot.log"
    log.write_text("one\ntwo\n")
    rec = Recorder()
    make_tailer([str(log)], rec, from_beginning=True).poll()
    assert rec.texts() == ["one", "two"]


def test_lines_carry_their_line_number_and_byte_offsets(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    log = tmp_path / "bot.log"
    log.write_bytes("a\r\nñé\nlast\n".encode())
    rec = Recorder()
    make_tailer([str(log)], rec, from_beginning=True).poll()
    assert [(ln.line_no, ln.text, ln.offset, ln.end_offset) for ln in rec.lines] == [
        (1, "a", 0, 3),
        (2, "ñé", 3, 8),
        (3, "last", 8, 13),
    ]
    assert rec.checkpoints[str(log)].offset == 13


# -- reading -----------------------------------------------------------------


def test_partial_line_is_held_until_its_newline(tmp_path: Path, make_tailer: MakeTailer) -> None:
    log = tmp_path / "bot.log"
    log.touch()
    rec = Recorder()
    tailer = make_tailer([str(log)], rec)
    tailer.poll()

    append(log, "first\nsecond ha")
    tailer.poll()
    assert rec.texts() == ["first"]
    assert rec.checkpoints[str(log)].offset == len("first\n")  # never past a complete line

    append(log, "lf done\n")
    tailer.poll()
    assert rec.texts() == ["first", "second half done"]


def test_invalid_utf8_is_replaced_and_reading_goes_on(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    log = tmp_path / "bot.log"
    log.write_bytes(b"bad \xff\xfe bytes\nfine\n")
    rec = Recorder()
    make_tailer([str(log)], rec, from_beginning=True).poll()
    assert rec.texts() == ["bad \ufffd\ufffd bytes", "fine"]


def test_nul_bytes_are_dropped_and_harmless(tmp_path: Path, make_tailer: MakeTailer) -> None:
    log = tmp_path / "bot.log"
    # What a writer without O_APPEND leaves after copytruncate: a hole of NULs.
    log.write_bytes(b"\x00" * 5000 + b"after hole\nmid\x00dle\n")
    rec = Recorder()
    make_tailer([str(log)], rec, from_beginning=True).poll()
    assert rec.texts() == ["after hole", "middle"]
    assert rec.lines[1].line_no == 2


def test_megabyte_line_is_cut_with_a_marker_and_the_next_line_is_intact(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    log = tmp_path / "bot.log"
    log.touch()
    rec = Recorder()
    tailer = make_tailer([str(log)], rec, max_line_bytes=1000)
    tailer.poll()

    huge = b"x" * (1024 * 1024)
    append(log, huge[:300_000])  # arrives in pieces, no newline yet
    tailer.poll()
    assert rec.texts() == []
    append(log, huge[300_000:] + b"\nnext line\n")
    tailer.poll()

    assert rec.texts() == [f"{'x' * 1000} …[cut {1024 * 1024 - 1000} bytes]", "next line"]
    assert [line.line_no for line in rec.lines] == [1, 2]
    assert rec.lines[1].offset == 1024 * 1024 + 1


def test_cut_never_splits_a_character(tmp_path: Path, make_tailer: MakeTailer) -> None:
    log = tmp_path / "bot.log"
    log.write_bytes(("é" * 10 + "\n").encode())  # 20 bytes, cut at an odd byte
    rec = Recorder()
    make_tailer([str(log)], rec, from_beginning=True, max_line_bytes=7).poll()
    assert rec.texts() == ["ééé …[cut 14 bytes]"]


def test_large_backlog_is_read_completely_by_one_poll(
    tmp_path: Path, make_tailer: MakeTailer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tracking, "MAX_CHUNKS_PER_PASS", 1)  # force several passes
    log = tmp_path / "bot.log"
    log.write_text("".join(f"line {i:06d} {'.' * 100}\n" for i in range(10_000)))
    rec = Recorder()
    assert make_tailer([str(log)], rec, from_beginning=True).poll() == 10_000
    assert [line.line_no for line in rec.lines] == list(range(1, 10_001))


def test_relative_pattern_keeps_the_path_as_the_glob_spells_it(
    tmp_path: Path, make_tailer: MakeTailer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.log").write_text("hi\n")
    rec = Recorder()
    make_tailer(["logs/*.log"], rec, from_beginning=True).poll()
    assert [(line.source, line.text) for line in rec.lines] == [("logs/a.log", "hi")]
    assert list(rec.checkpoints) == ["logs/a.log"]


def test_naive_resume_since_is_refused_at_once(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Tailer([str(tmp_path / "*.log")], Recorder(), {}, resume_since=datetime(2024, 1, 1))


# -- rotation ----------------------------------------------------------------


def test_rotation_by_rename_and_create_keeps_every_line(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    log = tmp_path / "bot.log"
    log.write_text("")
    rec = Recorder()
    tailer = make_tailer([str(log)], rec)
    tailer.poll()
    writer = log.open("a")
    writer.write("a1\n")
    writer.flush()
    tailer.poll()

    writer.write("a2\n")
    writer.flush()
    log.rename(tmp_path / "bot.log.1")
    writer.write("a3 written after the rename\n")  # the writer has not reopened yet
    writer.close()
    log.write_text("b1\nb2\n")
    tailer.poll()

    assert rec.texts() == ["a1", "a2", "a3 written after the rename", "b1", "b2"]
    assert [line.line_no for line in rec.lines] == [1, 2, 3, 1, 2]
    assert {line.source for line in rec.lines} == {str(log)}
    assert rec.checkpoints[str(log)].inode == log.stat().st_ino


def test_copytruncate_starts_again_at_zero(tmp_path: Path, make_tailer: MakeTailer) -> None:
    log = tmp_path / "bot.log"
    log.write_text("")
    rec = Recorder()
    tailer = make_tailer([str(log)], rec)
    tailer.poll()
    append(log, "before 1\nbefore 2\n")
    tailer.poll()

    shutil.copyfile(log, tmp_path / "bot.log.1")
    with log.open("r+") as f:
        f.truncate(0)
    append(log, "after\n")
    tailer.poll()

    assert rec.texts() == ["before 1", "before 2", "after"]
    assert rec.lines[-1].line_no == 1
    assert rec.checkpoints[str(log)].offset == len("after\n")


def test_truncation_is_seen_by_fingerprint_even_when_the_file_regrew(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    log = tmp_path / "bot.log"
    log.write_text("")
    rec = Recorder()
    tailer = make_tailer([str(log)], rec)
    tailer.poll()
    append(log, "2024-01-01 first\n")
    tailer.poll()

    # Truncated and written past the old offset before we looked again.
    log.write_text("2024-01-02 quite a bit longer first line\nsecond\n")
    tailer.poll()

    assert rec.texts() == [
        "2024-01-01 first",
        "2024-01-02 quite a bit longer first line",
        "second",
    ]


def numbered_lines(first: int, count: int) -> str:
    return "".join(f"2024-01-01 line {n:05d} of a busy log\n" for n in range(first, first + count))


def test_truncation_to_a_smaller_size_goes_on_from_the_new_end_without_repeating(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    log = tmp_path / "bot.log"
    log.write_text("")
    rec = Recorder()
    tailer = make_tailer([str(log)], rec)
    tailer.poll()
    append(log, numbered_lines(0, 1000))
    tailer.poll()

    with log.open("r+") as f:
        f.truncate(log.stat().st_size // 2)  # e.g. `truncate -s`, or a logger's own cut
    tailer.poll()
    append(log, numbered_lines(1000, 1000))
    tailer.poll()

    texts = rec.texts()
    assert len(texts) == len(set(texts)) == 2000
    cut_at = len(numbered_lines(0, 500))
    assert rec.lines[1000].line_no == 501
    assert rec.checkpoints[str(log)].offset == cut_at + len(numbered_lines(1000, 1000))


def test_delete_and_recreate_follows_the_new_file(tmp_path: Path, make_tailer: MakeTailer) -> None:
    log = tmp_path / "bot.log"
    log.write_text("")
    rec = Recorder()
    tailer = make_tailer([str(log)], rec)
    tailer.poll()
    append(log, "old\n")
    tailer.poll()

    log.unlink()
    log.write_text("new 1\nnew 2\n")
    tailer.poll()

    assert rec.texts() == ["old", "new 1", "new 2"]
    assert [line.line_no for line in rec.lines] == [1, 1, 2]


def test_rotate_grace_reads_the_old_file_on_while_the_new_one_is_read_too(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    log = tmp_path / "bot.log"
    log.write_text("")
    rec = Recorder()
    tailer = make_tailer([str(log)], rec, rotate_grace_seconds=0.3)
    tailer.poll()
    writer = log.open("a")
    log.rename(tmp_path / "bot.log.1")
    log.write_text("new\n")  # logrotate `create`; the writer only reopens on its signal
    tailer.poll()
    writer.write("late\n")
    writer.close()
    tailer.poll()
    assert rec.texts() == ["new", "late"]

    time.sleep(0.35)
    tailer.poll()  # quiet for the grace period: the old file is let go
    writer = (tmp_path / "bot.log.1").open("a")
    writer.write("too late\n")
    writer.close()
    tailer.poll()
    assert rec.texts() == ["new", "late"]


def test_restart_while_a_renamed_file_is_read_on_keeps_both_positions(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    log = tmp_path / "bot.log"
    log.write_text("")
    rec = Recorder()
    first = make_tailer([str(log)], rec, rotate_grace_seconds=60)
    first.poll()
    writer = log.open("a")
    writer.write("a1\n")
    writer.flush()
    first.poll()
    log.rename(tmp_path / "bot.log.1")
    log.write_text("b1\n")
    first.poll()
    first.stop()
    writer.write("a2 while stopped\n")
    writer.close()
    append(log, "b2 while stopped\n")

    make_tailer([str(log)], rec, rotate_grace_seconds=60).poll()

    assert sorted(rec.texts()) == ["a1", "a2 while stopped", "b1", "b2 while stopped"]


def test_new_file_matching_the_glob_is_read_from_its_start(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    (tmp_path / "bot-2024-01-01.log").write_text("yesterday\n")
    rec = Recorder()
    tailer = make_tailer([str(tmp_path / "bot-*.log")], rec)
    tailer.poll()
    assert rec.texts() == []

    today = tmp_path / "bot-2024-01-02.log"
    today.write_text("today 1\ntoday 2\n")
    (tmp_path / "other.txt").write_text("not matched\n")
    tailer.poll()

    assert rec.texts() == ["today 1", "today 2"]
    assert rec.lines[0].source == str(today)


def test_recursive_glob_finds_files_in_new_subfolders(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    rec = Recorder()
    tailer = make_tailer([str(tmp_path / "**" / "*.log")], rec)
    tailer.poll()
    (tmp_path / "worker" / "2").mkdir(parents=True)
    (tmp_path / "worker" / "2" / "job.log").write_text("deep\n")
    (tmp_path / "top.log").write_text("top\n")
    tailer.poll()
    assert sorted(rec.texts()) == ["deep", "top"]


# -- restarts ------------------------------------------------------------------


def test_restart_reads_lines_written_while_stopped_once(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    log = tmp_path / "bot.log"
    log.write_text("before start\n")
    rec = Recorder()
    first = make_tailer([str(log)], rec)
    first.poll()
    append(log, "seen 1\nseen 2\nhalf")
    first.poll()
    first.stop()

    append(log, " done\nwhile down\n")
    make_tailer([str(log)], rec).poll()

    assert rec.texts() == ["seen 1", "seen 2", "half done", "while down"]
    assert [line.line_no for line in rec.lines] == [2, 3, 4, 5]


def test_restart_after_rotation_while_stopped_finishes_the_rotated_file_first(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    log = tmp_path / "bot.log"
    log.write_text("")
    rec = Recorder()
    first = make_tailer([str(log)], rec)
    first.poll()
    append(log, "a1\n")
    first.poll()
    first.stop()

    append(log, "a2 unread when we stopped\n")
    log.rename(tmp_path / "bot.log.1")
    log.write_text("b1\n")
    make_tailer([str(log)], rec).poll()

    assert rec.texts() == ["a1", "a2 unread when we stopped", "b1"]
    assert {line.source for line in rec.lines} == {str(log)}
    assert rec.checkpoints[str(log)].inode == log.stat().st_ino


def test_restart_after_rotation_reads_new_file_from_zero_when_old_one_is_gone(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    log = tmp_path / "bot.log"
    log.write_text("a1\n")
    rec = Recorder()
    make_tailer([str(log)], rec).poll()
    log.unlink()
    log.write_text("b1\nb2\n")
    make_tailer([str(log)], rec).poll()
    assert rec.texts() == ["b1", "b2"]


def test_restart_reads_unknown_files_changed_while_stopped_and_skips_old_ones(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    known = tmp_path / "bot.log"
    known.write_text("")
    rec = Recorder()
    make_tailer([str(known)], rec).poll()
    stopped_at = datetime.now(UTC)

    old = tmp_path / "old.log"
    old.write_text("long ago\n")
    past = (stopped_at - timedelta(hours=1)).timestamp()
    os.utime(old, (past, past))
    fresh = tmp_path / "fresh.log"
    fresh.write_text("written while down\n")
    make_tailer([str(tmp_path / "*.log")], rec, resume_since=stopped_at).poll()

    assert rec.texts() == ["written while down"]
    assert rec.checkpoints[str(old)].offset == len("long ago\n")


def test_restart_with_a_truncated_file_reads_it_from_zero(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    log = tmp_path / "bot.log"
    log.write_text("first content line\n")
    rec = Recorder()
    make_tailer([str(log)], rec).poll()
    with log.open("r+") as f:
        f.truncate(0)
    append(log, "x\n")
    make_tailer([str(log)], rec).poll()
    assert rec.texts() == ["x"]


# -- problems ------------------------------------------------------------------


def test_vanished_file_is_reported_once_and_recovery_once(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    log = tmp_path / "bot.log"
    log.write_text("")
    rec, problems = Recorder(), Problems()
    tailer = make_tailer([str(log)], rec, on_problem=problems)
    tailer.poll()

    log.unlink()
    tailer.poll()
    tailer.poll()
    assert len(problems.calls) == 1
    assert problems.calls[0][0] == str(log)
    assert tailer.status()[0].problem is not None

    log.write_text("back\n")
    tailer.poll()
    tailer.poll()
    assert problems.calls[1:] == [(str(log), None)]
    assert rec.texts() == ["back"]


def test_path_that_becomes_a_folder_is_reported_then_recovered(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    log = tmp_path / "bot.log"
    log.write_text("")
    rec, problems = Recorder(), Problems()
    tailer = make_tailer([str(log)], rec, on_problem=problems)
    tailer.poll()
    log.unlink()
    log.mkdir()
    tailer.poll()
    tailer.poll()
    assert problems.calls == [(str(log), "not a regular file")]

    log.rmdir()
    log.write_text("file again\n")
    tailer.poll()
    assert problems.calls[1:] == [(str(log), None)]
    assert rec.texts() == ["file again"]


def test_unreadable_file_is_reported_once_then_recovered(
    tmp_path: Path, make_tailer: MakeTailer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, where chmod 000 does not stop reading, so EACCES is
    # provoked at the edge: os.open refuses this one path.
    log = tmp_path / "bot.log"
    log.write_text("")
    real_open = os.open

    def refusing_open(path: str, flags: int, *args: int) -> int:
        if str(path) == str(log):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    rec, problems = Recorder(), Problems()
    tailer = make_tailer([str(log)], rec, on_problem=problems)
    with monkeypatch.context() as patch:
        patch.setattr(os, "open", refusing_open)
        tailer.poll()
        tailer.poll()
    assert problems.calls == [(str(log), "cannot open: Permission denied")]

    append(log, "readable now\n")
    tailer.poll()
    assert problems.calls[1:] == [(str(log), None)]
    assert rec.texts() == []  # first start: it existed, so we start at its end
    append(log, "next\n")
    tailer.poll()
    assert rec.texts() == ["next"]


def test_read_error_is_reported_once_and_recovery_once(
    tmp_path: Path, make_tailer: MakeTailer, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "bot.log"
    log.write_text("")
    rec, problems = Recorder(), Problems()
    tailer = make_tailer([str(log)], rec, on_problem=problems)
    tailer.poll()
    append(log, "kept\n")

    def failing_pread(fd: int, size: int, offset: int) -> bytes:
        raise OSError(5, "Input/output error")  # what a stale network volume answers

    with monkeypatch.context() as patch:
        patch.setattr(os, "pread", failing_pread)
        tailer.poll()
        tailer.poll()
    assert problems.calls == [(str(log), "cannot read: Input/output error")]

    tailer.poll()
    assert problems.calls[1:] == [(str(log), None)]
    assert rec.texts() == ["kept"]


def test_globbed_file_that_is_deleted_is_dropped_quietly(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    old = tmp_path / "bot-1.log"
    old.write_text("x\n")
    rec, problems = Recorder(), Problems()
    tailer = make_tailer([str(tmp_path / "bot-*.log")], rec, on_problem=problems)
    tailer.poll()
    old.unlink()  # retention removing an old dated log is not a problem
    tailer.poll()
    assert problems.calls == []
    assert tailer.status() == []


def test_missing_folder_is_reported_once_and_its_files_read_once_it_exists(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    folder = tmp_path / "later"
    rec, problems = Recorder(), Problems()
    tailer = make_tailer([str(folder / "*.log")], rec, on_problem=problems)
    tailer.poll()
    tailer.poll()
    assert problems.calls == [(str(folder), problems.calls[0][1])]
    assert problems.calls[0][1]

    folder.mkdir()
    (folder / "bot.log").write_text("hello\n")
    tailer.poll()
    assert problems.calls[1:] == [(str(folder), None)]
    assert rec.texts() == ["hello"]


def test_sink_failure_does_not_advance_the_position(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    log = tmp_path / "bot.log"
    log.write_text("")
    rec = Recorder()
    tailer = make_tailer([str(log)], rec)
    tailer.poll()
    saved = rec.checkpoints[str(log)]

    append(log, "one\ntwo\n")
    rec.failures_left = 1
    assert tailer.poll() == 0
    assert rec.checkpoints[str(log)] == saved

    assert tailer.poll() == 2
    assert rec.texts() == ["one", "two"]
    assert tailer.poll() == 0
    assert rec.texts() == ["one", "two"]


def test_a_store_that_cannot_write_is_told_once_and_its_return_once(
    tmp_path: Path, make_tailer: MakeTailer, caplog: pytest.LogCaptureFixture
) -> None:
    log = tmp_path / "bot.log"
    log.write_text("")
    rec = Recorder()
    tailer = make_tailer([str(log)], rec)
    tailer.poll()
    append(log, "one\n")
    rec.failures_left = 5
    rec.failure = sqlite3.OperationalError("the connection to PostgreSQL was lost")
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="adminbot.tail.tracking"):
        for _ in range(5):
            assert tailer.poll() == 0
        assert tailer.poll() == 1
    ours = [r for r in caplog.records if r.name == "adminbot.tail.tracking"]
    said = [(r.levelno, r.getMessage()) for r in ours if r.levelno >= logging.INFO]
    assert [level for level, _ in said] == [logging.WARNING, logging.INFO]
    assert "cannot store" in said[0][1] and "stored again" in said[1][1]
    assert not any(r.exc_info for r in ours)  # an outage is not a bug: no traceback
    assert rec.texts() == ["one"]


def test_sink_failure_while_finishing_a_rotated_file_loses_nothing(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    log = tmp_path / "bot.log"
    log.write_text("")
    rec = Recorder()
    make_tailer([str(log)], rec).poll()
    append(log, "old tail\n")
    log.rename(tmp_path / "bot.log.1")
    log.write_text("new\n")

    tailer = make_tailer([str(log)], rec)
    rec.failures_left = 1  # storing the rotated file's remainder fails once
    tailer.poll()
    assert rec.texts() == []
    tailer.poll()
    assert rec.texts() == ["old tail", "new"]


def test_status_shows_size_lines_and_last_line_time(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    log = tmp_path / "bot.log"
    log.write_text("")
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    rec = Recorder()
    tailer = make_tailer([str(log)], rec, clock=lambda: now)
    tailer.poll()
    append(log, "a\nb\n")
    tailer.poll()
    [row] = tailer.status()
    assert (row.path, row.size, row.lines_read, row.last_line_at, row.problem) == (
        str(log),
        4,
        2,
        now,
        None,
    )


# -- with the real observer ------------------------------------------------------


@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
def test_started_tailer_delivers_appended_lines_and_new_files(
    tmp_path: Path, make_tailer: MakeTailer, polling: bool
) -> None:
    log = tmp_path / "bot.log"
    log.write_text("existing\n")
    rec = Recorder()
    # A long backstop, so only watchdog's events can explain a quick delivery.
    tailer = make_tailer([str(tmp_path / "*.log")], rec, polling=polling, backstop_seconds=30)
    tailer.start()
    assert wait_for(lambda: str(log) in rec.checkpoints)

    append(log, "appended\n")
    assert wait_for(lambda: rec.texts() == ["appended"], timeout=2.5)
    (tmp_path / "new.log").write_text("new file\n")
    assert wait_for(lambda: rec.texts() == ["appended", "new file"], timeout=2.5)

    started = time.monotonic()
    append(log, "just before stop\n")
    tailer.stop()
    assert time.monotonic() - started < 2.5
    assert rec.texts()[-1] == "just before stop"
    assert rec.threads == {"adminbot-tailer"}  # never watchdog's thread, never the caller's


def test_started_tailer_watches_a_folder_created_or_recreated_later(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    folder = tmp_path / "logs"
    rec, problems = Recorder(), Problems()
    tailer = make_tailer([str(folder / "*.log")], rec, on_problem=problems, backstop_seconds=0.3)
    tailer.start()
    assert wait_for(lambda: len(problems.calls) == 1)

    folder.mkdir()
    (folder / "a.log").write_text("first\n")
    assert wait_for(lambda: rec.texts() == ["first"])
    assert problems.calls[1:] == [(str(folder), None)]

    shutil.rmtree(folder)
    folder.mkdir()
    (folder / "a.log").write_text("second\n")
    assert wait_for(lambda: rec.texts() == ["first", "second"])
    append(folder / "a.log", "third\n")
    assert wait_for(lambda: rec.texts() == ["first", "second", "third"])


def test_a_record_cut_by_a_full_read_chunk_reaches_the_classifier_whole(
    tmp_path: Path, make_tailer: MakeTailer
) -> None:
    """A header ending one chunk waits for the traceback the next chunk starts with."""
    header = "2026-11-29 10:00:01,000 ERROR x: saving failed\n"
    filler = "2026-11-29 10:00:00,000 INFO x: " + "." * 60 + "\n"
    room = CHUNK_BYTES - len(header)
    first = "y" * (room % len(filler) - 1) + "\n" if room % len(filler) else ""
    traceback = (
        "Traceback (most recent call last):\n"
        '  File "/opt/bot/a.py", line 1, in save\n'
        "    os.rename(a, b)\n"
        "PermissionError: [Errno 13] Permission denied: '/srv/a.mp4'\n"
    )
    log = tmp_path / "bot.log"
    log.write_text(first + filler * (room // len(filler)) + header + traceback + filler)
    assert log.read_bytes()[:CHUNK_BYTES].endswith(header.encode())
    classifier = Classifier(build_ruleset())
    matches: list[Match] = []

    class Classifying(Recorder):
        def __call__(self, path: str, lines: Sequence[Line], checkpoint: Checkpoint) -> None:
            super().__call__(path, lines, checkpoint)
            matches.extend(classifier.feed(path, lines).matches)

    rec = Classifying()
    assert make_tailer([str(log)], rec, from_beginning=True).poll() == len(rec.lines)
    matches.extend(classifier.flush().matches)
    assert [(m.rule, m.record.text) for m in matches] == [("permisos", header + traceback.strip())]
    assert [line.line_no for line in rec.lines] == list(range(1, len(rec.lines) + 1))
    assert rec.calls >= 2


MANY_FILES_SCRIPT = """
import json, resource, socket, sys
from pathlib import Path

resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
from adminbot.tail.tailer import Tailer

folder = Path(sys.argv[1])
lines = [0]
def sink(path, batch, checkpoint):
    lines[0] += len(batch)
for n in range(1100):
    (folder / f"f{n:04d}.log").write_text("one\\ntwo\\nthree\\n")
tailer = Tailer([str(folder / "*.log")], sink, {}, from_beginning=True)
tailer.poll()
for n in range(1100):
    with open(folder / f"f{n:04d}.log", "a") as f:
        f.write("four\\nfive\\n")
tailer.poll()
try:
    socket.socketpair()
    sockets = True
except OSError:
    sockets = False
problems = sum(1 for row in tailer.status() if row.problem)
tailer.stop()
print(json.dumps({"lines": lines[0], "problems": problems, "sockets": sockets}))
"""


def test_1100_files_under_a_limit_of_256_descriptors_are_all_read_and_sockets_still_open(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", MANY_FILES_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert json.loads(result.stdout) == {"lines": 1100 * 5, "problems": 0, "sockets": True}


# -- reading ahead -------------------------------------------------------------


class Ahead:
    """A prepare callback that notes each batch it hears of, and the sink's calls between."""

    def __init__(self, recorder: Recorder) -> None:
        self.events: list[tuple[str, int]] = []
        self.recorder = recorder
        self.fail_at_prepare = -1
        self.refuse_at_sink = -1

    def prepare(self, path: str, lines: Sequence[Line]) -> None:
        self.events.append(("prepare", lines[0].line_no))
        if len(self.events) == self.fail_at_prepare:
            raise RuntimeError("a bug in prepare")

    def sink(self, path: str, lines: Sequence[Line], checkpoint: Checkpoint) -> None:
        first = lines[0].line_no if lines else 0
        if sum(1 for kind, _ in self.events if kind == "sink") + 1 == self.refuse_at_sink:
            self.events.append(("refused", first))
            self.refuse_at_sink = -1
            raise RuntimeError("database is locked")
        self.events.append(("sink", first))
        self.recorder(path, lines, checkpoint)


def _read_ahead(tmp_path: Path, **faults: int) -> tuple[Recorder, Ahead, Tailer]:
    """A tailer that reads ahead over 10,000 lines (1.1 MB: five chunks) from their start."""
    log = tmp_path / "bot.log"
    log.write_text("".join(f"line {i:06d} {'.' * 100}\n" for i in range(1, 10_001)))
    rec = Recorder()
    ahead = Ahead(rec)
    for name, value in faults.items():
        setattr(ahead, name, value)
    tailer = Tailer([str(log)], ahead.sink, {}, from_beginning=True, prepare=ahead.prepare)
    return rec, ahead, tailer


def test_each_batch_is_prepared_before_the_one_before_it_is_handed_over(tmp_path: Path) -> None:
    rec, ahead, tailer = _read_ahead(tmp_path)
    assert tailer.poll() == 10_000
    prepared = [n for kind, n in ahead.events if kind == "prepare"]
    sunk = [n for kind, n in ahead.events if kind == "sink" and n]  # 0: the start position
    assert prepared == sunk and len(sunk) == 5
    for index, first in enumerate(sunk):
        at = ahead.events.index(("sink", first))
        if index + 1 < len(sunk):  # the next one was heard of already
            assert ahead.events.index(("prepare", sunk[index + 1])) < at
    assert [line.line_no for line in rec.lines] == list(range(1, 10_001))


def test_a_refused_batch_and_the_one_read_ahead_are_offered_again(tmp_path: Path) -> None:
    rec, ahead, tailer = _read_ahead(tmp_path, refuse_at_sink=2)
    tailer.poll()
    tailer.poll()
    assert [line.line_no for line in rec.lines] == list(range(1, 10_001))
    refused = next(n for kind, n in ahead.events if kind == "refused")
    again = [n for kind, n in ahead.events if kind == "prepare" and n == refused]
    assert len(again) == 2  # prepared, refused, prepared again when offered again


def test_a_failing_prepare_is_logged_and_the_lines_still_reach_the_sink(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rec, _, tailer = _read_ahead(tmp_path, fail_at_prepare=2)
    with caplog.at_level(logging.ERROR, logger="adminbot.tail.tracking"):
        assert tailer.poll() == 10_000
    assert "preparing a batch" in caplog.text
    assert [line.line_no for line in rec.lines] == list(range(1, 10_001))


def test_a_read_error_on_the_chunk_read_ahead_loses_nothing_read_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chunk before was read and prepared, not handed over yet: it is handed over
    before the pass reports the error, and reading goes on from after it."""
    rec, ahead, tailer = _read_ahead(tmp_path)
    real, reads = os.pread, [0]

    def failing_second_read(fd: int, size: int, offset: int) -> bytes:
        if size == CHUNK_BYTES:
            reads[0] += 1
            if reads[0] == 2:
                raise OSError(5, "Input/output error")
        return real(fd, size, offset)

    with monkeypatch.context() as patch:
        patch.setattr(os, "pread", failing_second_read)
        tailer.poll()
    assert [line.line_no for line in rec.lines] == list(range(1, len(rec.lines) + 1))
    assert rec.lines  # the first chunk, handed over despite the error after it
    tailer.poll()
    assert [line.line_no for line in rec.lines] == list(range(1, 10_001))
    assert [n for kind, n in ahead.events if kind == "sink" and n] == sorted(
        {n for kind, n in ahead.events if kind == "prepare"}
    )


def test_a_line_longer_than_a_pass_of_chunks_leaves_the_pass_to_come_back(
    tmp_path: Path, make_tailer: MakeTailer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks that end no line count toward the pass's cap like any other: a hostile
    line of hundreds of megabytes must not hold the tailer in one file."""
    monkeypatch.setattr(tracking, "MAX_CHUNKS_PER_PASS", 3)
    log = tmp_path / "bot.log"
    log.write_bytes(b"x" * (5 * CHUNK_BYTES) + b"\nafter\n")
    rec = Recorder()
    tailer = make_tailer([str(log)], rec, from_beginning=True)
    real, reads = os.pread, [0]

    def counted(fd: int, size: int, offset: int) -> bytes:
        reads[0] += size == CHUNK_BYTES
        return real(fd, size, offset)

    monkeypatch.setattr(os, "pread", counted)
    tailer._pass(full=True)
    assert reads[0] == 3 and tailer._again  # the cap, and more to read next pass
    tailer.poll()
    assert rec.texts()[-1] == "after"
