"""Dashboard login links already used: the `used_logins` table.

A link's nonce is kept until the link would have expired, so a link opens one
session even after a restart, and once on any host sharing the store. Runs on the
`Store`'s connection, like `userrules.py`.
"""

from __future__ import annotations

from adminbot.store.sqlite import Store


class UsedLogins:
    """Claims a link's nonce once (compare-and-set on the primary key)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def claim(self, nonce: str, expires: int, now: float) -> bool:
        """True the first time `nonce` is claimed; links expired by `now` are forgotten."""
        with self._store.connection() as db:
            db.execute("DELETE FROM used_logins WHERE expires <= ?", (int(now),))
            cursor = db.execute(
                "INSERT INTO used_logins (nonce, expires) VALUES (?, ?) "
                "ON CONFLICT (nonce) DO NOTHING",
                (nonce, expires),
            )
            return cursor.rowcount == 1

    def count(self) -> int:
        with self._store.connection() as db:
            row = db.execute("SELECT count(*) AS n FROM used_logins").fetchone()
        return int(row["n"])
