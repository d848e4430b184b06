"""Monitor: the tailer's sink classifies each batch and hands it to the intake."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest

from adminbot.config import load_config
from adminbot.incidents.book import IncidentBook
from adminbot.incidents.intake import EventQueue, Intake
from adminbot.kinds.miner import KindMiner
from adminbot.models import Checkpoint, Line, LineBatch
from adminbot.notify.eventlog import EventLog
from adminbot.rules.builtin import NUEVO_TIPO
from adminbot.rules.source import RuleSource
from adminbot.service.monitor import Monitor
from adminbot.store.kinds import KindStore
from adminbot.store.sqlite import Store
from tests.clocks import FakeClock


class World:
    def __init__(self, tmp_path: Path, *, kinds: bool = False, ahead: bool | None = None) -> None:
        env = {"ADMINBOT_WATCH": str(tmp_path / "*.log"), "ADMINBOT_DATA_DIR": str(tmp_path / "d")}
        self.config = load_config(env, cwd=tmp_path)
        self.config.data_dir.mkdir()
        clock = FakeClock()
        self.store = Store(self.config.store_path)
        self.queue = EventQueue()
        self.events = EventLog(self.config.event_log)
        intake = Intake(self.store, IncidentBook(self.store, clock), self.events, self.queue)
        self.counted: list[tuple[str, int]] = []
        self.monitor = Monitor(
            self.config,
            self.store,
            intake,
            RuleSource(self.config.rules),
            clock=clock,
            on_lines=lambda path, n: self.counted.append((path, n)),
            kinds=KindMiner(KindStore(self.store), NUEVO_TIPO, warmup=timedelta(0), clock=clock)
            if kinds
            else None,
            ahead=ahead,
            ahead_min_bytes=1,
        )

    def feed(self, path: str, *texts: str) -> None:
        lines = [Line(path, n + 1, text, n * 100, n * 100 + 99) for n, text in enumerate(texts)]
        checkpoint = Checkpoint(path, 1, 1, "f", 0, len(texts) * 100, len(texts))
        self.monitor.handle_batch(path, lines, checkpoint)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path)
    yield built
    built.events.close()
    built.store.close()


def test_a_batch_becomes_incidents_a_checkpoint_and_a_line_count(world: World) -> None:
    world.feed(
        "/log/bot.log",
        "2026-11-29 10:00:00,000 INFO main: ok",
        "2026-11-29 10:00:01,000 ERROR main: OSError: [Errno 28] No space left on device",
    )
    [event] = world.queue.drain()
    assert event.incident.rule == "disco_lleno"
    assert world.store.load_checkpoints()["/log/bot.log"].line_no == 2
    assert world.counted == [("/log/bot.log", 2)]
    assert world.monitor.stats.lines == 2


def test_adminbots_own_files_are_never_classified(world: World) -> None:
    own = str(world.config.event_log)
    world.feed(own, '{"rule": "disco_lleno", "text": "No space left on device"}')
    assert world.queue.drain() == []
    assert own in world.store.load_checkpoints()


def test_a_traceback_split_over_two_batches_is_one_record(world: World) -> None:
    world.feed(
        "/log/bot.log",
        "2026-11-29 10:00:01,000 ERROR main: download failed",
        "Traceback (most recent call last):",
        '  File "/opt/bot/main.py", line 3, in <module>',
    )
    assert world.queue.drain() == []  # held back: the traceback is not finished
    world.feed("/log/bot.log", "PermissionError: [Errno 13] Permission denied: '/srv/a.mp4'")
    [event] = world.queue.drain()
    assert (event.incident.rule, event.match.record.line_no) == ("permisos", 1)


def test_an_unfinished_traceback_is_emitted_by_the_timer(world: World) -> None:
    world.feed(
        "/log/bot.log",
        "2026-11-29 10:00:01,000 ERROR main: Permission denied: '/srv/a.mp4'",
        "Traceback (most recent call last):",
        '  File "/opt/bot/main.py", line 3, in <module>',
    )
    assert world.queue.drain() == []
    world.monitor.flush_stale(older_than=0.0)
    [event] = world.queue.drain()
    assert event.incident.rule == "permisos"


HEADER = "2026-11-29 10:00:01,000 ERROR main: Permission denied: '/srv/a.mp4'"
TRACE_HEAD = [
    "Traceback (most recent call last):",
    '  File "/opt/bot/main.py", line 3, in <module>',
]
TRACE_END = "PermissionError: [Errno 13] Permission denied: '/srv/a.mp4'"


def test_a_held_record_is_not_flushed_while_the_batch_going_on_with_it_is_in_flight(
    tmp_path: Path,
) -> None:
    """The timer must not cut a traceback whose next lines a worker is classifying."""
    world = World(tmp_path, ahead=True)
    try:
        world.feed("/log/bot.log", HEADER, *TRACE_HEAD)
        rest = ["    os.chown(path, 1000, 1000)", TRACE_END]
        batch = LineBatch("/log/bot.log", 4, rest, [300, 400, 500])
        world.monitor.prepare("/log/bot.log", batch)
        world.monitor.flush_stale(older_than=0.0)
        assert world.queue.drain() == []
        world.monitor.handle_batch(
            "/log/bot.log", batch, Checkpoint("/log/bot.log", 1, 1, "f", 0, 500, 5)
        )
        [event] = world.queue.drain()
        assert event.match.record.text == "\n".join([HEADER, *TRACE_HEAD, *rest])
        assert world.monitor.ahead is not None and world.monitor.ahead.taken == 1
    finally:
        world.monitor.stop()
        world.events.close()
        world.store.close()


def test_a_held_record_keeps_the_saved_checkpoint_at_its_first_line(world: World) -> None:
    world.feed("/log/bot.log", "2026-11-29 10:00:00,000 INFO main: ok", HEADER, *TRACE_HEAD)
    saved = world.store.load_checkpoints()["/log/bot.log"]
    assert (saved.offset, saved.line_no) == (100, 1)  # the header is line 2, at byte 100


def test_a_held_record_emitted_by_the_timer_saves_the_position_past_it(world: World) -> None:
    world.feed("/log/bot.log", HEADER, *TRACE_HEAD)
    world.monitor.flush_stale(older_than=0.0)
    [event] = world.queue.drain()
    assert event.match.record.line_no == 1
    saved = world.store.load_checkpoints()["/log/bot.log"]
    assert (saved.offset, saved.line_no) == (300, 3)


def test_a_held_record_emitted_at_shutdown_saves_the_position_past_it(world: World) -> None:
    world.feed("/log/bot.log", HEADER, *TRACE_HEAD)
    world.monitor.stop()
    assert len(world.queue.drain()) == 1
    assert world.store.load_checkpoints()["/log/bot.log"].line_no == 3


def test_a_held_record_survives_sigkill_and_is_one_whole_incident(tmp_path: Path) -> None:
    log = tmp_path / "bot.log"
    log.write_text("")
    child = [sys.executable, str(Path(__file__).with_name("monitor_child.py"))]
    args = [str(tmp_path / "data"), str(log)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    with subprocess.Popen(
        [*child, *args, "read", "3"], stdout=subprocess.PIPE, text=True, env=env
    ) as reader:
        assert reader.stdout is not None
        assert reader.stdout.readline() == "started\n"
        log.write_text("\n".join([HEADER, *TRACE_HEAD]) + "\n")
        assert reader.stdout.readline() == "ready\n"
        reader.send_signal(signal.SIGKILL)
    with log.open("a") as f:
        f.write(TRACE_END + "\n")

    finished = subprocess.run(
        [*child, *args, "finish"], capture_output=True, text=True, env=env, check=True, timeout=60
    )

    [incident] = json.loads(finished.stdout)
    assert incident["rule"] == "permisos"
    assert incident["count"] == 1
    assert incident["text"] == "\n".join([HEADER, *TRACE_HEAD, TRACE_END])


def test_every_line_a_writer_appends_to_its_renamed_log_is_read(
    world: World, tmp_path: Path
) -> None:
    log = tmp_path / "bot.log"
    log.write_text("")
    tailer = world.monitor.tailer
    tailer.poll()
    writer = log.open("a")  # a plain FileHandler: it never reopens its file
    log.rename(tmp_path / "bot.log.1")
    log.write_text("")  # logrotate `create`
    tailer.poll()
    for n in range(1000):
        writer.write(f"2026-11-29 10:00:00,000 INFO main: line {n}\n")
        writer.flush()
        if n % 100 == 0:
            tailer.poll()
    writer.close()
    tailer.poll()
    assert world.monitor.stats.lines == 1000


def test_errors_no_rule_knows_become_one_new_kind_incident_per_kind(tmp_path: Path) -> None:
    world = World(tmp_path, kinds=True)
    try:
        world.feed(
            "/log/bot.log",
            *(
                f"2026-11-29 10:00:0{n},000 ERROR db: deadlock detected in transaction {n}"
                for n in range(5)
            ),
            "2026-11-29 10:00:09,000 ERROR main: OSError: [Errno 28] No space left on device",
        )
        (kind,) = world.store.incidents(rule="nuevo_tipo")
        assert kind.count == 5
        assert kind.fields["template"] == "deadlock detected in transaction <NUM>"
        assert world.store.incidents(rule="disco_lleno")[0].count == 1  # a rule's match, not a kind
        world.feed(
            "/log/bot.log",
            "2026-11-29 10:00:10,000 ERROR cola: fallo al guardar la tarea",
            "Traceback (most recent call last):",
            '  File "/opt/bot/cola.py", line 88, in guardar',
        )
        assert len(world.store.incidents(rule="nuevo_tipo")) == 1  # held: the traceback goes on
        world.monitor.stop()  # what is pending at the stop is mined too
        assert len(world.store.incidents(rule="nuevo_tipo")) == 2
    finally:
        world.events.close()
        world.store.close()


@pytest.mark.parametrize("lost", ["unreachable", "cannot write"])
def test_a_batch_the_store_refused_is_counted_once_when_it_is_read_again(
    world: World, monkeypatch: pytest.MonkeyPatch, lost: str
) -> None:
    """The tailer offers a refused batch again once the store is back: the session's
    line and match counts must not hold it twice (a full disk, PostgreSQL gone)."""
    from adminbot.store.errors import StoreUnreachable

    line = "2026-11-29 10:00:01,000 ERROR main: OSError: [Errno 28] No space left on device"
    real = world.store.save_checkpoint
    error: type[Exception] = StoreUnreachable if lost == "unreachable" else sqlite3.OperationalError

    def unreachable(*args: object, **kwargs: object) -> None:
        raise error("the server went away")

    monkeypatch.setattr(world.store, "save_checkpoint", unreachable)
    with pytest.raises(error):
        world.feed("/log/bot.log", "2026-11-29 10:00:00,000 INFO main: ok", line)
    monkeypatch.setattr(world.store, "save_checkpoint", real)
    world.feed("/log/bot.log", "2026-11-29 10:00:00,000 INFO main: ok", line)
    assert world.monitor.stats.lines == 2
    assert dict(world.monitor.stats.matches) == {"disco_lleno": 1}
    assert world.monitor.stats.records == 2


def test_a_batch_the_store_refused_counts_its_kinds_once_when_it_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kinds of a batch are stored in the batch's own transaction: when the store is
    lost before that transaction commits, nothing of the batch stays, and the batch read
    again counts each kind's sightings once."""
    from adminbot.store.errors import StoreUnreachable

    world = World(tmp_path, kinds=True)
    try:
        texts = [
            f"2026-11-29 10:00:0{n},000 ERROR db: deadlock detected in transaction {n}"
            for n in range(3)
        ]
        real = world.store.save_checkpoint

        def unreachable(*args: object, **kwargs: object) -> None:
            raise StoreUnreachable("the server went away")

        monkeypatch.setattr(world.store, "save_checkpoint", unreachable)
        with pytest.raises(StoreUnreachable):
            world.feed("/log/bot.log", *texts)
        assert KindStore(world.store).all() == []
        monkeypatch.setattr(world.store, "save_checkpoint", real)
        world.feed("/log/bot.log", *texts)
        (kind,) = KindStore(world.store).all()
        assert kind.count == 3
        (incident,) = world.store.incidents(rule="nuevo_tipo")
        assert incident.count == 3
        world.feed(
            "/log/bot.log", "2026-11-29 10:00:05,000 ERROR db: deadlock detected in transaction 9"
        )
        assert KindStore(world.store).all()[0].count == 4
    finally:
        world.events.close()
        world.store.close()


def test_a_held_record_the_store_refused_at_its_stale_flush_is_flushed_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record held for its traceback is emitted by the timer when no more lines come;
    if the store is lost right then, the record is held again (the tailer has moved past
    its lines and will not offer them again) and stored at the next flush."""
    from adminbot.store.errors import StoreUnreachable

    world.feed(
        "/log/bot.log",
        "2026-11-29 10:00:00,000 ERROR main: OSError: [Errno 28] No space left on device",
        "Traceback (most recent call last):",
        '  File "/opt/bot/guardar.py", line 57, in guardar',
    )
    assert world.store.incidents(rule="disco_lleno") == []  # held: the traceback goes on
    real = world.store.save_checkpoint

    def unreachable(*args: object, **kwargs: object) -> None:
        raise StoreUnreachable("the server went away")

    monkeypatch.setattr(world.store, "save_checkpoint", unreachable)
    with pytest.raises(StoreUnreachable):
        world.monitor.flush_stale(0.0)
    monkeypatch.setattr(world.store, "save_checkpoint", real)
    world.monitor.flush_stale(0.0)
    (incident,) = world.store.incidents(rule="disco_lleno")
    assert incident.count == 1
    assert dict(world.monitor.stats.matches) == {"disco_lleno": 1}
    assert world.store.load_checkpoints()["/log/bot.log"].offset == 300


def test_of_two_held_records_only_the_one_the_store_refused_is_held_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adminbot.store.errors import StoreUnreachable

    held = [
        "2026-11-29 10:00:00,000 ERROR main: OSError: [Errno 28] No space left on device",
        "Traceback (most recent call last):",
        '  File "/opt/bot/guardar.py", line 57, in guardar',
    ]
    world.feed("/log/a.log", *held)
    world.feed("/log/b.log", *held)
    real = world.store.save_checkpoint

    def lost_for_b(checkpoint: Checkpoint, now: datetime) -> None:
        if checkpoint.path == "/log/b.log":
            raise StoreUnreachable("the server went away")
        real(checkpoint, now)

    monkeypatch.setattr(world.store, "save_checkpoint", lost_for_b)
    with pytest.raises(StoreUnreachable):
        world.monitor.flush_stale(0.0)
    assert [i.source for i in world.store.incidents(rule="disco_lleno")] == ["/log/a.log"]
    assert dict(world.monitor.stats.matches) == {"disco_lleno": 1}
    assert world.monitor.classifier.holding() == ["/log/b.log"]
    monkeypatch.setattr(world.store, "save_checkpoint", real)
    world.monitor.flush_stale(0.0)
    (incident,) = world.store.incidents(rule="disco_lleno")
    assert incident.count == 2 and incident.source == "/log/b.log"
    assert dict(world.monitor.stats.matches) == {"disco_lleno": 2}
    assert world.monitor.stats.records == 2


def _storm_log(path: Path) -> None:
    """A log of ~1.3 MB (six chunks) from the classifier's randomized corpus."""
    from adminbot.rules.reference import corpus

    path.write_text("\n".join(corpus(12_000, seed=21)) + "\n", encoding="utf-8")


class Kept(NamedTuple):
    """What a read left in the store and in the session's counts."""

    incidents: list[tuple[str, str, int, str, dict[str, str]]]
    counted: tuple[int, int, int, dict[str, int]]
    by_rule: dict[str, tuple[int, int]]


def _kept(world: World) -> Kept:
    incidents = world.store.incidents(limit=100_000)
    facts = sorted((i.rule, i.key, i.count, i.sample, dict(i.fields)) for i in incidents)
    stats = world.monitor.stats
    counted = (stats.lines, stats.records, stats.unmatched_errors, dict(stats.matches))
    return Kept(facts, counted, world.store.incident_counts())


def _read_storm(tmp_path: Path, name: str, *, ahead: bool, refuse_at: int = 0) -> Kept:
    """Read the storm log from its start with a monitor; the store is lost once at the
    `refuse_at`-th checkpoint, and the tailer offers the batch again."""
    from adminbot.store.errors import StoreUnreachable

    folder = tmp_path / name
    folder.mkdir()
    _storm_log(folder / "app.log")
    (folder / "adminbot.toml").write_text("[watch]\nfrom_beginning = true\n")
    world = World(folder, kinds=True, ahead=ahead)
    real = world.store.save_checkpoint
    calls = [0]

    def lost_once(checkpoint: Checkpoint, now: datetime) -> None:
        calls[0] += 1
        if calls[0] == refuse_at:
            raise StoreUnreachable("the server went away")
        real(checkpoint, now)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(world.store, "save_checkpoint", lost_once)
        try:
            while world.monitor.tailer.poll():
                pass
            if world.monitor.ahead is not None:
                assert world.monitor.ahead.taken > 0
            world.monitor.stop()
            assert calls[0] > refuse_at  # the lost batch was offered again, and more after it
            return _kept(world)
        finally:
            world.events.close()
            world.store.close()


def test_a_storm_classified_ahead_in_a_worker_is_kept_as_when_classified_here(
    tmp_path: Path,
) -> None:
    here = _read_storm(tmp_path, "here", ahead=False)
    assert sum(here.counted[3].values()) > 1_000
    assert _read_storm(tmp_path, "ahead", ahead=True) == here


def test_a_batch_the_store_lost_while_the_next_was_classified_ahead_is_kept_once(
    tmp_path: Path,
) -> None:
    here = _read_storm(tmp_path, "here", ahead=False)
    assert _read_storm(tmp_path, "lost", ahead=True, refuse_at=4) == here
