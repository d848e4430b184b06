"""What each host keeps for itself in a shared store, on both backends."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from adminbot.models import Checkpoint
from adminbot.store.postgres import PgStore
from adminbot.store.sqlite import Store, host_key
from tests.clocks import T0
from tests.conftest import BACKENDS
from tests.pg import PgCluster


@pytest.fixture(params=BACKENDS)
def two_hosts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two hosts, a and b, sharing one store."""
    if request.param == "sqlite":
        a = Store(tmp_path / "s.sqlite3", host="a")
        b = Store(tmp_path / "s.sqlite3", host="b")
    else:
        cluster: PgCluster = request.getfixturevalue("postgres")
        url = cluster.fresh()
        a, b = PgStore(url, host="a"), PgStore(url, host="b")
    yield a, b
    a.close()
    b.close()


def test_two_hosts_tailing_the_same_path_keep_their_own_checkpoints(
    two_hosts: tuple[Store, Store],
) -> None:
    a, b = two_hosts
    a.save_checkpoint(Checkpoint("/var/log/bot.log", 1, 2, "aaa", 10, 500, 7), T0)
    b.save_checkpoint(Checkpoint("/var/log/bot.log", 3, 4, "bbb", 10, 90, 2), T0)
    a.save_checkpoint(Checkpoint("/var/log/bot.log", 1, 2, "aaa", 10, 600, 8), T0)
    assert a.load_checkpoints()["/var/log/bot.log"].offset == 600
    assert b.load_checkpoints()["/var/log/bot.log"].offset == 90
    assert b.last_checkpoint_at() == T0
    a.save_checkpoint(Checkpoint("/var/log/x.log", 1, 5, "x", 1, 1, 1), T0 + timedelta(hours=1))
    assert b.last_checkpoint_at() == T0


def test_checkpoints_and_host_state_from_before_hosts_become_this_hosts(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    Store(path, host="old").close()
    with sqlite3.connect(path) as db:  # as a store from before hosts left them
        db.execute("UPDATE checkpoints SET host = ''")
        db.execute(
            "INSERT INTO checkpoints (path, device, inode, fingerprint, fingerprint_len, "
            "offset, line_no, updated_at) VALUES ('/log/a.log', 1, 2, 'f', 1, 77, 3, 'x')"
        )
        db.execute("INSERT INTO meta VALUES ('last_alive', '2026-11-30T10:00:00+00:00')")
    store = Store(path, host="h1")
    assert store.load_checkpoints()["/log/a.log"].offset == 77
    assert store.get_meta(host_key("last_alive", "h1")) == "2026-11-30T10:00:00+00:00"
    assert store.get_meta("last_alive") is None
    store.close()
