"""A real PostgreSQL for the tests: started once per session from the pgserver wheel, thrown away.

Each test gets a fresh database cloned from a migrated template, so a test costs a
CREATE DATABASE (milliseconds), not a migration. If the server cannot start, the
tests that need it fail loudly: they are never skipped.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from pgserver import get_server  # type: ignore[attr-defined]  # not re-exported by name
from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # untyped helper module

from adminbot.store.pgschema import migrate

TEMPLATE = "adminbot_template"
_numbers = itertools.count(1)


class PgCluster:
    """One throw-away server: hands out empty or migrated databases by URL."""

    def __init__(self, root: Path) -> None:
        self._server = get_server(root, cleanup_mode="delete")
        self.admin_url = self._server.get_uri()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            # a test database need not survive a power cut: commits skip the disk flush
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                conn.execute(f"ALTER SYSTEM SET {setting} = off".encode())
            conn.execute("SELECT pg_reload_conf()")
        migrate(self.url(TEMPLATE, create=True))

    def url(self, name: str, *, create: bool = False, template: str | None = None) -> str:
        """The URL of database `name`, created first when asked (from `template`, if given)."""
        if create:
            clause = f" TEMPLATE {template}" if template else ""
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"{clause}'.encode())
        return self.admin_url.replace("/postgres?", f"/{name}?", 1)

    def fresh(self, *, migrated: bool = True) -> str:
        """A new database of its own, already migrated unless asked otherwise."""
        name = f"t{next(_numbers)}"
        return self.url(name, create=True, template=TEMPLATE if migrated else None)

    def stop(self) -> None:
        self._server.cleanup()

    @contextmanager
    def outage(self) -> Iterator[None]:
        """The server is stopped (its sessions cut off) for the block, then started again."""
        server = self._server
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
        try:
            yield
        finally:
            server.ensure_postgres_running()


@contextmanager
def pg_cluster() -> Iterator[PgCluster]:
    """Start a PostgreSQL in a temporary folder; remove it all afterwards."""
    with tempfile.TemporaryDirectory(prefix="adminbot-pg-") as root:
        cluster = PgCluster(Path(root) / "data")
        try:
            yield cluster
        finally:
            cluster.stop()
