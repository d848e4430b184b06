"""The store's file on an unlucky day: emptied, damaged, not SQLite at all, deleted.

Each case runs the real monitor and tailer over a real log: what counts is how many
lines written around the damage end up recorded, and what the admin is told.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adminbot.config import Config, load_config
from adminbot.errors import ConfigError, StoreError
from adminbot.incidents.book import IncidentBook
from adminbot.incidents.intake import EventQueue, Intake
from adminbot.notify.eventlog import EventLog
from adminbot.rules.source import RuleSource
from adminbot.service.monitor import Monitor
from adminbot.store.damage import DamageReason, ResumeFrom, move_aside
from adminbot.store.positions import positions_path, read_positions
from adminbot.store.sqlite import Store, host_key


def error_line(n: int) -> str:
    return (
        f"2026-11-29 10:00:00,000 ERROR main: PermissionError: [Errno 13] "
        f"Permission denied: '/srv/descargas/v{n}.mp4'"
    )


class Session:
    """One run of adminbot's first stages: store, intake, monitor with its real tailer."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.store = Store(config.store_path)
        self.events = EventLog(config.event_log)
        book = IncidentBook(self.store)
        self.intake = Intake(self.store, book, self.events, EventQueue())
        self.monitor = Monitor(config, self.store, self.intake, RuleSource(config.rules))
        self.monitor.heartbeat()

    def read(self) -> int:
        """One tailer pass in this thread; the lines it delivered."""
        return self.monitor.tailer.poll()

    def incidents(self) -> int:
        return self.store.count_incidents()

    def stop(self) -> None:
        self.monitor.stop()
        self.events.close()
        self.store.close()


def make_config(tmp_path: Path) -> Config:
    env = {
        "ADMINBOT_WATCH": str(tmp_path / "logs" / "*.log"),
        "ADMINBOT_DATA_DIR": str(tmp_path / "data"),
    }
    (tmp_path / "logs").mkdir(exist_ok=True)
    return load_config(env, cwd=tmp_path)


def append(log: Path, first: int, count: int) -> None:
    with log.open("a", encoding="utf-8") as handle:
        for n in range(first, first + count):
            handle.write(error_line(n) + "\n")


def first_run(tmp_path: Path) -> tuple[Config, Path]:
    """A run that read a log with 3 errors and stopped cleanly."""
    config = make_config(tmp_path)
    log = tmp_path / "logs" / "bot.log"
    log.touch()
    session = Session(config)
    session.read()
    append(log, 0, 3)
    session.read()
    assert session.incidents() == 3
    session.stop()
    return config, log


def damaged_copies(config: Config) -> list[Path]:
    """The moved-aside stores (their -wal and -shm, when kept, end in those suffixes)."""
    return sorted(config.data_dir.glob(f"{config.store_path.name}.damaged-*Z"))


def scribble(path: Path, size: int = 8192) -> None:
    """Write `size` bytes of garbage in the middle of a file."""
    with path.open("r+b") as handle:
        handle.seek(path.stat().st_size // 2)
        handle.write(os.urandom(size))


def scribble_while_open(path: Path, size: int) -> None:
    """Garbage in a store another process has open: a write by a second connection
    makes that process drop its page cache, as any later change would."""
    scribble(path, size)
    with sqlite3.connect(path) as other:
        other.execute("INSERT OR REPLACE INTO meta VALUES ('poke', '1')")


def test_a_store_emptied_while_stopped_loses_none_of_the_lines_written_meanwhile(
    tmp_path: Path,
) -> None:
    config, log = first_run(tmp_path)
    os.truncate(config.store_path, 0)
    append(log, 100, 100)

    session = Session(config)
    session.read()

    assert session.incidents() == 100
    [recovery] = session.store.take_recoveries()
    assert recovery.reason is DamageReason.EMPTY
    assert recovery.resume is ResumeFrom.POSITIONS and recovery.files >= 1
    [copy] = damaged_copies(config)
    assert recovery.moved_to == str(copy)
    session.stop()


def test_a_store_deleted_while_stopped_resumes_from_the_saved_positions(tmp_path: Path) -> None:
    config, log = first_run(tmp_path)
    config.store_path.unlink()
    append(log, 100, 10)

    session = Session(config)
    session.read()

    assert session.incidents() == 10
    [recovery] = session.store.take_recoveries()
    assert (recovery.reason, recovery.moved_to) == (DamageReason.MISSING, None)
    session.stop()


def big_store(config: Config, incidents: int = 400) -> None:
    """A store with enough pages that garbage in its middle hits real data."""
    log = config.watch.patterns[0].replace("*", "bot")
    Path(log).touch()
    session = Session(config)
    session.read()
    append(Path(log), 0, incidents)
    session.read()
    session.stop()


def test_garbage_in_the_middle_of_the_store_is_moved_aside_at_start_and_later_lines_recorded(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path)
    big_store(config)
    scribble(config.store_path)
    log = tmp_path / "logs" / "bot.log"
    append(log, 1000, 200)

    session = Session(config)
    session.read()

    assert session.incidents() == 200
    [recovery] = session.store.take_recoveries()
    assert recovery.reason is DamageReason.CHECK_FAILED
    assert recovery.resume is ResumeFrom.POSITIONS
    [copy] = damaged_copies(config)
    assert copy.stat().st_size > 8192
    session.stop()


def test_a_store_damaged_while_running_is_replaced_and_the_refused_batch_recorded_next(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(tmp_path)
    big_store(config)
    session = Session(config)  # opened sound: the damage comes while it runs
    scribble_while_open(config.store_path, size=64 * 1024)
    log = tmp_path / "logs" / "bot.log"
    append(log, 1000, 200)

    with caplog.at_level(logging.ERROR):
        session.read()  # the first batch meets the damage and is offered again
        session.read()

    assert session.store.count_incidents() == 200
    [recovery] = session.store.take_recoveries()
    assert (recovery.reason, recovery.resume) == (DamageReason.MALFORMED, ResumeFrom.CURRENT)
    assert len(damaged_copies(config)) == 1
    assert any("a fresh store started" in r.getMessage() for r in caplog.records)
    session.stop()


def test_the_damaged_copy_keeps_its_wal_and_shm_beside_it_under_sqlites_names(
    tmp_path: Path,
) -> None:
    store_path = tmp_path / "adminbot.sqlite3"
    for name in ("adminbot.sqlite3", "adminbot.sqlite3-wal", "adminbot.sqlite3-shm"):
        (tmp_path / name).write_text(name, encoding="utf-8")

    copy = move_aside(store_path, datetime(2026, 11, 29, 10, 0, 5, tzinfo=UTC))

    assert copy.name == "adminbot.sqlite3.damaged-20261129T100005.000000Z"
    assert copy.with_name(copy.name + "-wal").read_text(encoding="utf-8").endswith("-wal")
    assert copy.with_name(copy.name + "-shm").exists()
    assert not store_path.exists()


def test_an_empty_store_file_without_a_previous_run_is_simply_a_new_store(
    tmp_path: Path,
) -> None:
    store_path = tmp_path / "adminbot.sqlite3"
    store_path.touch()
    store = Store(store_path)
    assert store.take_recoveries() == []
    assert store.schema_version > 0
    assert list(tmp_path.glob("*.damaged-*")) == []
    store.close()


def test_a_file_that_is_not_sqlite_at_the_store_path_is_refused_and_left_untouched(
    tmp_path: Path,
) -> None:
    store_path = tmp_path / "adminbot.sqlite3"
    store_path.write_text("these are somebody's notes\n", encoding="utf-8")
    with pytest.raises(StoreError) as refused:
        Store(store_path)
    assert isinstance(refused.value, ConfigError)
    assert "not an SQLite database" in str(refused.value)
    assert store_path.read_text(encoding="utf-8") == "these are somebody's notes\n"


def test_the_positions_copy_follows_the_committed_checkpoints(tmp_path: Path) -> None:
    config, _log = first_run(tmp_path)
    saved = read_positions(positions_path(config.store_path))
    assert saved is not None
    [checkpoint] = saved.checkpoints
    assert checkpoint.line_no == 3
    assert host_key("last_alive", config.host_name) in saved.meta


def test_a_damaged_file_error_outside_a_write_also_replaces_the_store(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    big_store(config)
    store = Store(config.store_path)
    scribble_while_open(config.store_path, size=64 * 1024)
    with pytest.raises(sqlite3.DatabaseError):
        store.incidents(limit=10_000)
    assert store.count_incidents() == 0  # the fresh store answers
    assert [r.reason for r in store.take_recoveries()] == [DamageReason.MALFORMED]
    store.close()
