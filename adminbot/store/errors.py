"""A shared database out of reach, as the core sees it: a store that takes no write now.

`StoreUnreachable` is an `sqlite3.OperationalError`, so every stage that already
copes with a store that cannot write (issue 9: the intake, the outbox, the tailer
that offers the same lines again) copes with PostgreSQL being down the same way,
without importing the driver.
"""

from __future__ import annotations

import sqlite3


class StoreUnreachable(sqlite3.OperationalError):
    """The PostgreSQL store cannot be reached (down, restarting, network gone)."""
