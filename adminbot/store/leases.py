"""Leases: one holder per role, taken and renewed with one compare-and-set on the DB's clock.

A lease row says who holds a role (`holder`), in which term (`epoch`) and until when
(`expires_at`, seconds since 1970 on `db_now()`: PostgreSQL's clock, so hosts whose
clocks disagree still agree on expiry; on SQLite the store's injected clock). A
holder renews before it expires; anyone may take a lapsed lease, which starts a new
term (epoch + 1). The outbox's fenced writes (sqlite.py `claim`) check the same row.

On SQLite one host owns the store (the data dir lock), so the service does not run
the lease there (`adminbot.service.lease.SoleLease`); the queries are portable and
tested on both backends all the same.
"""

from __future__ import annotations

from adminbot.store.api import StoreApi
from adminbot.store.fence import FRONT, Fence

_TAKE = (
    "INSERT INTO leases (role, holder, epoch, expires_at) VALUES (?, ?, 1, db_now() + ?) "
    "ON CONFLICT (role) DO UPDATE SET "
    "epoch = CASE WHEN leases.holder = excluded.holder AND leases.epoch = ? "
    "AND leases.expires_at > db_now() THEN leases.epoch ELSE leases.epoch + 1 END, "
    "holder = excluded.holder, expires_at = excluded.expires_at "
    "WHERE leases.expires_at <= db_now() "
    "OR (leases.holder = excluded.holder AND leases.epoch = ?) "
    "RETURNING epoch"
)


class LeaseStore:
    """The `leases` table, through the store's connection."""

    def __init__(self, store: StoreApi) -> None:
        self._store = store

    def take(self, holder: str, ttl: float, held: Fence | None, role: str = FRONT) -> Fence | None:
        """Renew `held`, or take the role if it is free or lapsed; None while another holds it.

        A renewal that comes after the lease lapsed starts a new term: the fence changes,
        and what was claimed under the old one is another term's."""
        epoch = held.epoch if held is not None and held.holder == holder else None
        with self._store.connection() as db:
            rows = db.execute(_TAKE, (role, holder, ttl, epoch, epoch)).fetchall()
        return Fence(holder, int(rows[0][0]), role) if rows else None

    def give_up(self, fence: Fence, after: float = 0.0) -> bool:
        """End the term `after` seconds from now (a clean stop), so a standby takes over
        without waiting out the lease; `after` covers a long poll still open at Telegram."""
        with self._store.connection() as db:
            cursor = db.execute(
                "UPDATE leases SET expires_at = min(expires_at, db_now() + ?) "
                "WHERE role = ? AND holder = ? AND epoch = ? AND expires_at > db_now()",
                (after, fence.role, fence.holder, fence.epoch),
            )
            return cursor.rowcount == 1

    def current(self, role: str = FRONT) -> tuple[Fence, float] | None:
        """Who holds `role` and for how many more seconds (negative: lapsed), for /status."""
        with self._store.connection() as db:
            row = db.execute(
                "SELECT holder, epoch, expires_at - db_now() AS left FROM leases WHERE role = ?",
                (role,),
            ).fetchone()
        return None if row is None else (Fence(row[0], int(row[1]), role), float(row[2]))
