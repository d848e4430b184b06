"""The miner: kinds kept across restarts, one incident per new kind, a quiet warm-up."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from adminbot.cli import main
from adminbot.incidents.book import IncidentBook
from adminbot.incidents.events import EventKind
from adminbot.kinds.learn import learn_file
from adminbot.kinds.miner import KindMiner
from adminbot.models import Record, Severity
from adminbot.rules.builtin import NUEVO_TIPO
from adminbot.rules.ruleset import build_ruleset
from adminbot.store.kinds import KindState, KindStore
from adminbot.store.sqlite import Store
from tests.clocks import FakeClock

TOO_BIG = "2026-11-29 10:00:{s:02d},000 ERROR descargas.worker: Download of BAACAgEAAxkBAAI{n}abcdefghijklmnopq failed: File is too big ({n} MB)"  # noqa: E501
LOCKED = "2026-11-29 10:00:00,000 ERROR descargas.db: database is locked"


def _record(text: str, line_no: int = 1) -> Record:
    return Record("/logs/bot.log", line_no, text, "ERROR")


def _too_big(n: int) -> Record:
    return _record(TOO_BIG.format(s=n % 60, n=n), n)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(tmp_path / "s.sqlite3")
    yield db
    db.close()


def _miner(store: Store, clock: FakeClock, warmup: float = 0) -> KindMiner:
    return KindMiner(KindStore(store), NUEVO_TIPO, warmup=timedelta(seconds=warmup), clock=clock)


def test_a_burst_of_one_new_kind_is_one_incident_whose_count_grows(store: Store) -> None:
    clock = FakeClock()
    miner, book = _miner(store, clock), IncidentBook(store, clock)
    events = []
    for start in range(0, 500, 100):  # five batches of 100 lines within a minute
        events += book.record_batch(miner.mine([_too_big(n) for n in range(start, start + 100)]))
        clock.advance(10)
    opened = [e for e in events if e.kind is EventKind.OPENED]
    assert len(opened) == 1
    incident = store.incidents(rule="nuevo_tipo")
    assert len(incident) == 1 and incident[0].count == 500
    assert incident[0].fields["template"] == (
        "Download of <FILE_ID> failed: File is too big (<SIZE>)"
    )
    assert incident[0].sample == TOO_BIG.format(s=499 % 60, n=499)  # the real line


def test_each_new_kind_opens_its_own_incident_keyed_by_its_id(store: Store) -> None:
    clock = FakeClock()
    miner, book = _miner(store, clock), IncidentBook(store, clock)
    book.record_batch(miner.mine([_too_big(1), _record(LOCKED, 2), _too_big(3)]))
    kinds = {k.template: k.id for k in KindStore(store).all()}
    incidents = {i.key: i.count for i in store.incidents(rule="nuevo_tipo")}
    assert incidents == {
        str(kinds["Download of <FILE_ID> failed: File is too big (<SIZE>)"]): 2,
        str(kinds["database is locked"]): 1,
    }


def test_a_new_kind_starts_as_a_warning_and_a_burst_makes_it_an_error(store: Store) -> None:
    clock = FakeClock()
    miner, book = _miner(store, clock), IncidentBook(store, clock)
    book.record_batch(miner.mine([_too_big(n) for n in range(5)]))
    assert store.incidents(rule="nuevo_tipo")[0].severity is Severity.WARNING
    clock.advance(60)
    book.record_batch(miner.mine([_too_big(n) for n in range(5, 20)]))
    assert store.incidents(rule="nuevo_tipo")[0].severity is Severity.ERROR


def test_twenty_occurrences_spread_over_more_than_ten_minutes_stay_a_warning(
    store: Store,
) -> None:
    clock = FakeClock()
    miner, book = _miner(store, clock), IncidentBook(store, clock)
    for _ in range(25):
        book.record_batch(miner.mine([Record("/logs/bot.log", 1, "database is locked", "ERROR")]))
        clock.advance(60)
    incident = store.incidents(rule="nuevo_tipo")[0]
    assert incident.count == 25 and incident.severity is Severity.WARNING


def test_kinds_survive_a_restart_and_a_known_kind_opens_no_new_kind(tmp_path: Path) -> None:
    clock = FakeClock()
    first = Store(tmp_path / "s.sqlite3")
    miner = _miner(first, clock)
    miner.mine([_too_big(1), _too_big(2)])
    first.close()

    again = Store(tmp_path / "s.sqlite3")
    restarted = _miner(again, clock)
    assert len(restarted) == 1
    matches = restarted.mine([_too_big(3)])
    kinds = KindStore(again).all()
    assert len(kinds) == 1 and kinds[0].count == 3
    assert [m.key for m in matches] == [str(kinds[0].id)]  # the same kind, the same incident
    again.close()


def test_a_stored_kind_keeps_two_redacted_samples_and_its_file(store: Store) -> None:
    miner = _miner(store, FakeClock())
    secret = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
    miner.mine([_record(f"2026-11-29 10:00:00,000 ERROR x: bad url /bot{secret}/getFile")])
    miner.mine([_record(f"2026-11-29 10:00:01,000 ERROR x: bad url /bot{secret}/sendVideo")])
    miner.mine([_record(f"2026-11-29 10:00:02,000 ERROR x: bad url /bot{secret}/getMe")])
    (kind,) = KindStore(store).all()
    assert len(kind.samples) == 2
    assert kind.samples[0].endswith("/getFile") and kind.samples[1].endswith("/getMe")
    assert all(secret not in sample for sample in kind.samples)
    assert kind.file == "/logs/bot.log" and kind.state is KindState.NEW


def test_during_the_warm_up_new_kinds_are_learnt_and_never_alert(store: Store) -> None:
    clock = FakeClock()
    miner = _miner(store, clock, warmup=3600)
    assert miner.mine([_record(LOCKED)]) == []
    clock.advance(3601)
    assert miner.mine([_record(LOCKED)]) == []  # learnt while warming up: known
    assert len(miner.mine([_too_big(1)])) == 1  # first seen after the warm-up: new
    learnt = {k.template: k.learned for k in KindStore(store).all()}
    assert learnt == {
        "database is locked": True,
        "Download of <FILE_ID> failed: File is too big (<SIZE>)": False,
    }


def test_the_warm_up_counts_from_when_the_store_began_not_from_each_start(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    store = Store(tmp_path / "s.sqlite3")
    _miner(store, clock, warmup=3600)
    store.close()
    clock.advance(3601)
    store = Store(tmp_path / "s.sqlite3")
    assert len(_miner(store, clock, warmup=3600).mine([_record(LOCKED)])) == 1
    store.close()


def test_a_zero_warm_up_alerts_from_the_start(store: Store) -> None:
    assert len(_miner(store, FakeClock(), warmup=0).mine([_record(LOCKED)])) == 1


def test_learning_a_log_file_records_its_kinds_without_alerting(
    store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "old.log"
    lines = [
        "2026-11-29 10:00:00,000 INFO descargas.bot: arrancado",
        LOCKED,
        TOO_BIG.format(s=1, n=1),
        "2026-11-29 10:00:02,000 ERROR x: PermissionError: [Errno 13] Permission denied: '/a'",
    ]
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    miner = _miner(store, FakeClock())
    learnt = learn_file(log, build_ruleset(), miner)
    assert (learnt.lines, learnt.errors, learnt.new_kinds, learnt.kinds) == (4, 2, 2, 2)
    assert miner.mine([_record(LOCKED), _too_big(7)]) == []  # known now
    assert all(kind.learned for kind in KindStore(store).all())


def test_a_store_failure_leaves_the_tree_as_the_store_has_it(store: Store) -> None:
    miner = _miner(store, FakeClock())
    miner.mine([_record(LOCKED)])
    with store.connection() as db:
        db.execute(
            "CREATE TRIGGER full BEFORE INSERT ON kinds BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        miner.mine([_too_big(1)])
    assert len(miner) == 1  # rebuilt from what was stored before the failure
    with store.connection() as db:
        db.execute("DROP TRIGGER full")
    assert len(miner.mine([_too_big(1)])) == 1  # and the kind is new again, not lost
    assert len(KindStore(store).all()) == 2


def test_adminbot_learn_records_a_files_kinds_and_says_how_many(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ADMINBOT_DATA_DIR", str(tmp_path / "data"))
    log = tmp_path / "old.log"
    log.write_text(f"{LOCKED}\n{TOO_BIG.format(s=1, n=1)}\n{LOCKED}\n", encoding="utf-8")
    assert main(["learn", str(log)]) == 0
    assert "3 lines, 3 errors no rule matched, 2 new kind(s) learnt (2 known)" in (
        capsys.readouterr().out
    )
    store = Store(tmp_path / "data" / "adminbot.sqlite3")
    assert [(k.count, k.learned) for k in KindStore(store).all()] == [(2, True), (1, True)]
    store.close()


def test_adminbot_learn_of_a_missing_file_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ADMINBOT_DATA_DIR", str(tmp_path / "data"))
    assert main(["learn", str(tmp_path / "nope.log")]) == 2
    assert "adminbot learn: cannot read" in capsys.readouterr().err
