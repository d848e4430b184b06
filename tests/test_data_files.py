"""The data dir is 0700 and the store and logs in it are 0600, even under umask 022."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from adminbot.notify.eventlog import EventLog, setup_logging
from adminbot.store.sqlite import Store
from adminbot.supervise.childlog import LogWriter
from tests.fake_telegram import FakeTelegram
from tests.harness import make_config, running_bot


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_022")
def test_store_event_log_and_pipeline_log_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = Store(data / "adminbot.sqlite3")
    store.set_meta("k", "v")
    events = EventLog(data / "descarga_errors.json")
    events.write({"type": "x"})
    writer = LogWriter(data / "pipeline.log", reopen_check_seconds=1.0)
    writer.write("line")
    writer.close()
    events.close()

    assert mode(data) == 0o700
    for name in ("adminbot.sqlite3", "adminbot.sqlite3-wal", "descarga_errors.json"):
        assert mode(data / name) == 0o600, name
    assert mode(data / "pipeline.log") == 0o600
    store.close()


@pytest.mark.usefixtures("umask_022")
def test_the_monitor_log_and_its_rotations_are_private(tmp_path: Path) -> None:
    log = tmp_path / "data" / "monitor.log"
    setup_logging(log, "INFO")
    try:
        ours = [h for h in logging.getLogger().handlers if getattr(h, "_adminbot", False)]
        logging.getLogger("adminbot.test").warning("hello")
        for handler in ours:
            assert isinstance(handler, logging.handlers.RotatingFileHandler)
            handler.doRollover()
    finally:
        for handler in ours:
            logging.getLogger().removeHandler(handler)
            handler.close()
    assert mode(log.parent) == 0o700
    assert mode(log) == 0o600
    assert mode(log.with_name("monitor.log.1")) == 0o600


def test_a_stricter_umask_still_wins(tmp_path: Path) -> None:
    previous = os.umask(0o077)
    try:
        Store(tmp_path / "data" / "s.sqlite3").close()
    finally:
        os.umask(previous)
    assert mode(tmp_path / "data" / "s.sqlite3") == 0o600
    assert mode(tmp_path / "data") == 0o700


@pytest.mark.usefixtures("umask_022")
async def test_a_running_adminbot_leaves_nothing_readable_by_others(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    config = make_config(tmp_path, fake_telegram)
    async with running_bot(config):
        await fake_telegram.await_call("sendMessage", lambda c: "adminbot" in c.params["text"])
    assert mode(config.data_dir) == 0o700
    leaking = [p.name for p in config.data_dir.iterdir() if p.is_file() and mode(p) & 0o077]
    assert leaking == []
