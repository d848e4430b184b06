"""Which store a host uses: its own SQLite file, or the PostgreSQL several hosts share."""

from __future__ import annotations

from pathlib import Path

from adminbot.errors import StartupError
from adminbot.store.dburl import redact_url
from adminbot.store.sqlite import Store


def open_store(sqlite_path: Path, database_url: str | None, host: str) -> Store:
    """SQLite when no database URL is configured (no server to install), else PostgreSQL.

    PostgreSQL is migrated first, under its advisory lock, so agents starting together
    migrate once."""
    if database_url is None:
        return Store(sqlite_path, host=host)
    import psycopg  # only hosts that share a database need the driver loaded

    from adminbot.store.postgres import PgStore

    try:
        return PgStore(database_url, host=host)
    except psycopg.OperationalError as exc:
        reason = " ".join(str(exc).split())
        raise StartupError(
            f"cannot open the PostgreSQL store {redact_url(database_url)}: {reason}"
        ) from None
