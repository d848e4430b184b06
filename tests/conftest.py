"""Shared fixtures: the fake Telegram Bot API, a real PostgreSQL, a store on either backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adminbot.store.postgres import PgStore
from adminbot.store.sqlite import Store
from tests.fake_telegram import FakeTelegram
from tests.pg import PgCluster, pg_cluster

BACKENDS = ("sqlite", "postgres")


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A started fake Bot API on 127.0.0.1 with one known token, stopped after the test."""
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgCluster]:
    """One throw-away PostgreSQL for the session; a failure to start fails the tests."""
    with pg_cluster() as cluster:
        yield cluster


@pytest.fixture(params=BACKENDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store on each backend, so both are held to the same behaviour."""
    if request.param == "sqlite":
        db = Store(tmp_path / "s.sqlite3", host="h1")
    else:
        cluster: PgCluster = request.getfixturevalue("postgres")
        db = PgStore(cluster.fresh(), host="h1")
    yield db
    db.close()
