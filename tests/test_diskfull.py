"""A full data-dir disk: critical notices still reach the admin, no file stalls.

The real cases run on a 2 MB tmpfs, which needs root to mount; elsewhere they are
skipped with a loud reason, and the injected-failure tests below still run.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adminbot.checks.base import CheckReason, CheckResult, CheckState
from adminbot.incidents.book import IncidentBook
from adminbot.incidents.events import Unrecorded
from adminbot.incidents.intake import EventQueue, Intake
from adminbot.models import Checkpoint, Match, Record, Severity, frozen_map
from adminbot.notify.eventlog import EventLog
from adminbot.notify.notices import CheckFlip, LinesUnrecorded, NoticeKind, notice_from_payload
from adminbot.notify.outbox import Outbox
from adminbot.service.runtime import Periods
from adminbot.store.rows import Recorded
from adminbot.store.sqlite import Store
from tests.clocks import FakeClock
from tests.fake_telegram import FakeTelegram
from tests.harness import eventually, make_config, running_bot

ADMIN = 4242
AT = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB filesystem, as a small data-dir disk."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("DISK-FULL TESTS NOT RUN: mounting a 2 MB tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"DISK-FULL TESTS NOT RUN: cannot mount a 2 MB tmpfs: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int = 0) -> Path:
    """Fill the disk, then free `leave` bytes."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass  # ENOSPC: the disk is full
    finally:
        os.close(fd)
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def denied(n: int) -> Match:
    path = f"/srv/descargas/{n:05d}/" + "x" * 200 + ".mp4"
    text = f"2026-11-29 10:00:00,000 ERROR PermissionError: [Errno 13] Permission denied: '{path}'"
    record = Record("/log/bot.log", n, text)
    return Match("permisos", Severity.ERROR, record, frozen_map({"path": path}), path)


def critical(name: str = "disk /data") -> CheckFlip:
    result = CheckResult(name, CheckState.CRITICAL, CheckReason.NOTE, AT)
    return CheckFlip.of(result, CheckState.OK)


def recovered(name: str = "disk /data") -> CheckFlip:
    return CheckFlip.of(CheckResult(name, CheckState.OK, CheckReason.NOTE, AT), CheckState.CRITICAL)


def kinds_in_memory(outbox: Outbox) -> list[str]:
    kinds = []
    while (item := outbox.peek_memory()) is not None:
        notice = notice_from_payload(item.payload)
        kinds.append(notice.kind.value)
        if isinstance(notice, CheckFlip):
            kinds[-1] += f":{notice.state.value}"
        outbox.drop_memory(item)
    return kinds


def intake_on(store: Store, tmp_path: Path, lost: list[Unrecorded]) -> Intake:
    events = EventLog(tmp_path / "events.json")
    return Intake(store, IncidentBook(store), events, EventQueue(), on_unrecorded=lost.append)


def test_a_batch_that_never_fits_the_disk_is_stored_in_parts_and_the_rest_counted(
    tiny_disk: Path, tmp_path: Path
) -> None:
    store = Store(tiny_disk / "adminbot.sqlite3")
    lost: list[Unrecorded] = []
    intake = intake_on(store, tmp_path, lost)
    batch = [denied(n) for n in range(1, 2341)]

    events = intake.submit(batch, Checkpoint("/log/bot.log", 1, 2, "f", 10, 10**6, 2340), 2340)

    stored = store.count_incidents()
    assert 0 < stored == len(events) < 2340
    assert sum(fact.records for fact in lost) == intake.unrecorded_records == 2340 - stored
    [fact] = lost
    assert (fact.source, fact.last_line, fact.rules) == ("/log/bot.log", 2340, ("permisos",))
    assert fact.first_line == stored + 1  # records are tried in order: the tail is what is lost
    store.close()


def test_a_notice_the_full_store_cannot_queue_is_sent_from_memory_after_history_paused(
    tiny_disk: Path,
) -> None:
    store = Store(tiny_disk / "adminbot.sqlite3")
    outbox = Outbox(store, [ADMIN], clock=FakeClock())
    fill(tiny_disk)

    outbox.notice(critical())
    outbox.alert(1)  # an alert is rendered from its stored incident: it cannot wait in memory

    assert kinds_in_memory(outbox) == [NoticeKind.STORE_FULL.value, "check_flip:critical"]
    store.close()


def test_once_the_disk_has_room_history_resumes_and_the_admin_is_told(tiny_disk: Path) -> None:
    store = Store(tiny_disk / "adminbot.sqlite3")
    outbox = Outbox(store, [ADMIN], clock=FakeClock())
    filler = fill(tiny_disk)
    outbox.notice(critical())
    filler.unlink()

    outbox.notice(recovered())

    queued = [notice_from_payload(item.payload) for item in store.due(AT.replace(year=2100))]
    assert [(n.kind.value, getattr(n, "full", None)) for n in queued] == [
        ("check_flip", None),
        ("store_full", False),
    ]
    store.close()


class FullStore(Store):
    """The disk edge, injected: no outbox row fits, nor a batch of more than `room` matches."""

    def __init__(self, path: Path, room: int) -> None:
        super().__init__(path)
        self.room = room

    def enqueue(self, *args: object, **kwargs: object) -> int | None:
        raise sqlite3.OperationalError("database or disk is full")

    def record_matches(
        self, matches: Sequence[Match], now: datetime, token: Callable[[], str]
    ) -> list[Recorded]:
        if len(matches) > self.room or any("99999" in m.key for m in matches):
            raise sqlite3.OperationalError("database or disk is full")
        return super().record_matches(matches, now, token)


def test_the_end_of_a_trouble_that_was_never_told_is_not_announced(tmp_path: Path) -> None:
    store = FullStore(tmp_path / "s.sqlite3", room=0)
    outbox = Outbox(store, [ADMIN], clock=FakeClock(), memory_limit=0)

    outbox.notice(critical())  # neither stored nor kept: memory is full too
    outbox.notice(recovered())

    assert kinds_in_memory(outbox) == []
    store.close()


def test_a_batch_is_split_down_to_single_records_and_only_the_unstorable_one_is_lost(
    tmp_path: Path,
) -> None:
    store = FullStore(tmp_path / "s.sqlite3", room=3)
    lost: list[Unrecorded] = []
    intake = intake_on(store, tmp_path, lost)
    batch = [denied(n) for n in (1, 2, 3, 4, 5, 6, 7, 99999, 9, 10)]
    checkpoint = Checkpoint("/log/bot.log", 1, 2, "f", 10, 5000, 10)

    events = intake.submit(batch, checkpoint, 10)

    assert len(events) == store.count_incidents() == 9
    assert [(f.records, f.first_line, f.last_line) for f in lost] == [(1, 99999, 99999)]
    assert store.load_checkpoints()["/log/bot.log"].offset == 5000
    store.close()


def test_unrecorded_lines_of_one_file_wait_in_memory_as_one_notice(tmp_path: Path) -> None:
    store = FullStore(tmp_path / "s.sqlite3", room=0)
    outbox = Outbox(store, [ADMIN], clock=FakeClock())
    events = EventLog(tmp_path / "events.json")
    intake = Intake(
        store,
        IncidentBook(store),
        events,
        EventQueue(),
        on_unrecorded=lambda fact: outbox.notice(LinesUnrecorded.of(fact)),
    )
    for first in (1, 11):
        intake.submit([denied(n) for n in range(first, first + 10)])

    items = []
    while (item := outbox.peek_memory()) is not None:
        items.append(notice_from_payload(item.payload))
        outbox.drop_memory(item)
    assert [n.kind for n in items] == [NoticeKind.STORE_FULL, NoticeKind.LINES_UNRECORDED]
    assert items[1] == LinesUnrecorded("/log/bot.log", 20, 20, 1, 20, ("permisos",))
    store.close()


class DiskCheck:
    """The data-dir disk check, driven by the test."""

    name = "disk data"

    def __init__(self) -> None:
        self.state = CheckState.OK

    async def run(self) -> CheckResult:
        return CheckResult(self.name, self.state, CheckReason.NOTE, datetime.now(UTC))


async def test_disk_critical_reaches_the_admin_while_the_store_is_full(
    tiny_disk: Path, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram, ADMINBOT_DATA_DIR=str(tiny_disk / "data"))
    check = DiskCheck()
    periods = Periods(check=0.1, delivery_backoff=0.05, drain=1.0)
    async with running_bot(config, checks=[check], periods=periods) as (_app, _runtime):
        await fake_telegram.await_call(
            "sendMessage", lambda c: c.ok and "is up" in c.params["text"]
        )
        filler = fill(tiny_disk)
        check.state = CheckState.CRITICAL
        paused = await fake_telegram.await_call(
            "sendMessage", lambda c: c.ok and "history is paused" in c.params["text"]
        )
        flip = await fake_telegram.await_call(
            "sendMessage", lambda c: c.ok and "disk data" in c.params["text"]
        )
        filler.unlink()
        check.state = CheckState.OK
        await fake_telegram.await_call(
            "sendMessage", lambda c: c.ok and "recovered" in c.params["text"]
        )
        await eventually(
            lambda: any(
                "has room again" in c.params["text"] for c in fake_telegram.calls("sendMessage")
            )
        )
    assert paused.params["chat_id"] == flip.params["chat_id"] == ADMIN


def test_a_full_disk_keeps_no_new_kind_and_records_the_batchs_rule_matches(
    tmp_path: Path,
) -> None:
    """New kinds are worked out inside the batch's transaction: when the disk cannot take
    that transaction, their rows are rolled back with it, so their matches (which name a
    kind by its id) are counted as not recorded, the miner forgets them, and the rule
    matches are still recorded in parts."""
    from datetime import timedelta

    from adminbot.kinds.miner import KindMiner
    from adminbot.rules.builtin import NUEVO_TIPO
    from adminbot.store.kinds import KindStore

    store = FullStore(tmp_path / "s.sqlite3", room=3)
    lost: list[Unrecorded] = []
    intake = intake_on(store, tmp_path, lost)
    miner = KindMiner(KindStore(store), NUEVO_TIPO, warmup=timedelta(0), clock=FakeClock())
    unknown = [
        Record("/log/bot.log", 20 + n, f"2026-11-29 10:00:00,000 ERROR db: deadlock {n}", "ERROR")
        for n in range(2)
    ]

    class NewKinds:
        forgotten = 0

        def matches(self) -> Sequence[Match]:
            return miner.mine(unknown)

        def undo(self) -> None:
            self.forgotten += 1
            miner.forget()

    more = NewKinds()
    events = intake.submit([denied(n) for n in (1, 2, 3, 4)], None, 4, more=more)

    assert len(events) == store.count_incidents() == 4
    assert [(f.records, f.rules) for f in lost] == [(2, ("nuevo_tipo",))]
    assert more.forgotten == 1 and KindStore(store).all() == []
    assert [m.rule for m in miner.mine(unknown)] == ["nuevo_tipo", "nuevo_tipo"]
    assert len(KindStore(store).all()) == 1
    store.close()
