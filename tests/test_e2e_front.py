"""Two instances with one token and one PostgreSQL: exactly one front, and it fails over.

Each instance is `python -m adminbot run` in its own folder (own data dir, own log,
own host name), sharing the database and the fake Bot API, which records which
instance sent each request (`base_url_for`). The standby tails the log the lines are
written to, so its incidents keep coming while the front is killed or frozen; the
front's lease is shortened to a few seconds so a takeover is quick.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fake_telegram import Call, FakeTelegram
from tests.harness import ADMIN, append
from tests.pg import PgCluster
from tests.process import AdminbotProcess, process_env

pytestmark = pytest.mark.fleet

LEASE = 5.0
"""The front lease in these tests: renewed every 5/3 s; a takeover within LEASE * 4/3."""
LINE = (
    "2026-11-29 10:00:00,000 ERROR descargas: PermissionError: [Errno 13] "
    "Permission denied: '/srv/descargas/front/v{n}.mp4'"
)
REPEATED = "Possibly repeated"
WAIT = 90.0
"""Generous: a loaded 2-core machine runs two adminbots, PostgreSQL and the tests."""


class Instance(AdminbotProcess):
    """One adminbot process with its own folder, sharing the token and the database."""

    def __init__(self, root: Path, name: str, fake: FakeTelegram, database_url: str) -> None:
        self.name = name
        folder = root / name
        (folder / "pipeline").mkdir(parents=True)
        self.log = folder / "pipeline" / "bot.log"
        self.log.touch()
        config = folder / "adminbot.toml"
        config.write_text(
            f'database_url = "{database_url}"\nhost_name = "{name}"\n'
            f"front_lease_seconds = {LEASE}\n"
            "[watch]\nbackstop_seconds = 0.5\n"
            "[alerts]\nedit_throttle_seconds = 0.5\nstorm_threshold = 1000\n",
            encoding="utf-8",
        )
        env = {
            "TELEGRAM_TOKEN": fake.token,
            "ADMIN_ID": str(ADMIN),
            "TELEGRAM_API_BASE_URL": fake.base_url_for(name),
            "ADMINBOT_WATCH": str(folder / "pipeline" / "*.log"),
            "ADMINBOT_DATA_DIR": str(folder / "data"),
            "ADMINBOT_CONFIG": str(config),
        }
        super().__init__(folder, process_env(env))


@pytest.fixture
def pair(
    tmp_path: Path, fake_telegram: FakeTelegram, postgres: PgCluster
) -> Iterator[tuple[Instance, Instance]]:
    """Instance a, started first, is the front; b stands by. Both are up when yielded."""
    url = postgres.fresh()
    a = Instance(tmp_path, "a", fake_telegram, url)
    b = Instance(tmp_path, "b", fake_telegram, url)
    try:
        a.start()
        fake_telegram.wait_for("getUpdates", lambda c: c.via == "a", WAIT)
        b.start()
        fake_telegram.wait_for("sendMessage", lambda _c: len(_ups(fake_telegram)) == 2, WAIT)
        yield a, b
    finally:
        for instance in (a, b):
            instance.stop()


def test_one_front_polls_and_a_killed_front_is_replaced_with_every_line_alerted_once(
    fake_telegram: FakeTelegram, pair: tuple[Instance, Instance]
) -> None:
    a, b = pair
    assert not b.said("is now the front")
    _write(b.log, range(0, 5))
    _wait_alerted(fake_telegram, range(0, 5))
    writer = _writer(b.log, range(5, 20))
    _wait_alerted(fake_telegram, range(5, 6))
    a.kill()
    killed = time.monotonic()
    taken = fake_telegram.wait_for("getUpdates", lambda c: c.via == "b", WAIT).started
    writer.join(timeout=WAIT)
    _wait_alerted(fake_telegram, range(0, 20))
    _write(b.log, [99])
    _wait_alerted(fake_telegram, [99])
    print(f"takeover after SIGKILL: {taken - killed:.1f}s")
    assert taken - killed < LEASE * 4 / 3 + 2
    _assert_each_alerted_once(fake_telegram, [*range(0, 20), 99])
    _assert_never_two_pollers(fake_telegram)


def test_a_frozen_front_is_replaced_and_once_continued_sends_nothing_and_stands_by(
    fake_telegram: FakeTelegram, pair: tuple[Instance, Instance]
) -> None:
    a, b = pair
    _write(b.log, range(0, 5))
    _wait_alerted(fake_telegram, range(0, 5))
    writer = _writer(b.log, range(5, 20))
    _wait_alerted(fake_telegram, range(5, 6))
    a.signal(signal.SIGSTOP)
    frozen = time.monotonic()
    taken = fake_telegram.wait_for("getUpdates", lambda c: c.via == "b", WAIT).started
    writer.join(timeout=WAIT)
    _wait_alerted(fake_telegram, range(0, 20))
    a.signal(signal.SIGCONT)
    woke = time.monotonic()
    _until(lambda: a.said("no longer the front"), "the continued front to step down")
    _write(b.log, range(20, 25))
    _wait_alerted(fake_telegram, range(20, 25))
    print(f"takeover after SIGSTOP: {taken - frozen:.1f}s")
    assert taken - frozen < LEASE * 4 / 3 + 2
    sent_after = [c for c in fake_telegram.calls() if c.via == "a" and c.started >= woke]
    assert [c.method for c in sent_after if c.method != "getMe"] == []
    _assert_each_alerted_once(fake_telegram, range(0, 25))
    _assert_never_two_pollers(fake_telegram)
    since = fake_telegram.mark()  # the continued instance stands by: it is the next front
    b.kill()
    fake_telegram.wait_for("getUpdates", lambda c: c.via == "a", WAIT, since=since)
    _write(a.log, [77])
    _wait_alerted(fake_telegram, [77])
    _assert_each_alerted_once(fake_telegram, [*range(0, 25), 77], failovers=2)
    _assert_never_two_pollers(fake_telegram)


def test_a_front_stopped_cleanly_hands_over_without_waiting_out_its_lease(
    fake_telegram: FakeTelegram, pair: tuple[Instance, Instance]
) -> None:
    a, b = pair
    _write(b.log, range(0, 3))
    _wait_alerted(fake_telegram, range(0, 3))
    since = fake_telegram.mark()
    a.signal(signal.SIGTERM)
    stopped = time.monotonic()
    taken = fake_telegram.wait_for("getUpdates", lambda c: c.via == "b", WAIT, since=since)
    assert a.process is not None and a.process.wait(timeout=WAIT) == 0
    _write(b.log, range(3, 6))
    _wait_alerted(fake_telegram, range(0, 6))
    print(f"handover after SIGTERM: {taken.started - stopped:.1f}s")
    _assert_each_alerted_once(fake_telegram, range(0, 6), failovers=0)
    _assert_never_two_pollers(fake_telegram)
    summary = [c for c in fake_telegram.calls("sendMessage") if c.ok and c.seq > since]
    assert summary and summary[0].via == "a"  # the stopping front sent its own summary


# -- helpers ------------------------------------------------------------------------------


def _ups(fake: FakeTelegram) -> list[Call]:
    return [c for c in fake.calls("sendMessage") if c.ok and "adminbot is up" in c.params["text"]]


def _write(log: Path, numbers: Iterator[int] | range | list[int]) -> None:
    append(log, *(LINE.format(n=n) for n in numbers))


def _writer(log: Path, numbers: range) -> threading.Thread:
    """Lines written one by one while the test kills or freezes the front."""

    def write() -> None:
        for n in numbers:
            _write(log, [n])
            time.sleep(0.3)  # a stream, not a burst; correctness never waits on it

    thread = threading.Thread(target=write, name="log-writer")
    thread.start()
    return thread


def _copies(fake: FakeTelegram, n: int) -> list[str]:
    """The texts of every alert for line `n` that Telegram carried out."""
    needle = f"front/v{n}.mp4"
    return [
        c.params["text"] for c in fake.calls("sendMessage") if c.ok and needle in c.params["text"]
    ]


def _wait_alerted(fake: FakeTelegram, numbers: range | list[int]) -> None:
    _until(lambda: all(_copies(fake, n) for n in numbers), f"alerts for lines {list(numbers)}")


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def _assert_each_alerted_once(
    fake: FakeTelegram, numbers: range | list[int], *, failovers: int = 1
) -> None:
    """Once each; a message in flight when a front died may go again, once, marked."""
    repeats = []
    for n in numbers:
        sent = _copies(fake, n)
        assert 1 <= len(sent) <= 2, f"line {n} was alerted {len(sent)} times"
        assert REPEATED not in sent[0]
        if len(sent) == 2:
            assert REPEATED in sent[1]
            repeats.append(n)
    assert len(repeats) <= failovers, f"lines {repeats} were alerted twice"


def _assert_never_two_pollers(fake: FakeTelegram) -> None:
    """Telegram allows one getUpdates at a time per token: no poll overlaps another
    instance's (a poll ended by the same instance's next one is its own business)."""
    polls = fake.calls("getUpdates")
    for first in polls:
        for second in polls:
            if first.via != second.via:
                assert first.time <= second.started or second.time <= first.started, (
                    f"{first.via} and {second.via} polled at once"
                )
