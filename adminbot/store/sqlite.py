"""The embedded SQLite store: incidents, checkpoints, the outbox, audit, storms, mutes.

`Store` is its parts put together: the connection (`sqlbase`), the incidents
(`sqlincidents`), the outbox, alert messages and storms (`sqloutbox`), and here the
small tables (meta, checkpoints, audit, forum topics, mutes). State changes that must
happen once (claiming an outbox row, a button's action) use compare-and-set:
`UPDATE ... WHERE id = ? AND state = ?` and a check of rowcount. The PostgreSQL
backend reuses these queries through a translation layer (`adminbot.store.pgsql`);
the schema's history is in `sqlschema`, the row values in `rows`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from adminbot.models import Checkpoint
from adminbot.store import retention
from adminbot.store.rows import (
    AuditEntry,
    audit_entry_of,
    read_time,
    stored_time,
)
from adminbot.store.sqlincidents import IncidentTables
from adminbot.store.sqloutbox import OutboxTables
from adminbot.store.sqlreads import IncidentReads

logger = logging.getLogger(__name__)

HOST_META = ("last_alive", "quiet_held", "rule_counts_since")
"""Meta keys that are one host's state: stored as `key@host` (`host_key`)."""


def host_key(key: str, host: str) -> str:
    """The meta key of one host's own value (several hosts may share the store)."""
    return f"{key}@{host}"


class Store(IncidentTables, IncidentReads, OutboxTables):
    """Durable state: incidents, checkpoints, the outbox, audit and mutes.

    A damaged file is moved aside and a fresh store started (`SqlStore`); what happened
    is kept as a `Recovery` for the admin (`take_recoveries`).
    """

    def _adopt(self) -> None:
        """Rows from before hosts were recorded are this host's (one host had them)."""
        with self.transaction():
            self._run("UPDATE incidents SET host = ? WHERE host = ''", (self.host,))
            self._run(
                "DELETE FROM checkpoints WHERE host = '' AND path IN "
                "(SELECT path FROM checkpoints WHERE host = ?)",
                (self.host,),
            )
            self._run("UPDATE checkpoints SET host = ? WHERE host = ''", (self.host,))
            self._run("UPDATE rule_counts SET host = ? WHERE host = ''", (self.host,))
            self._run("UPDATE storms SET host = ? WHERE host = ''", (self.host,))
            for key in HOST_META:
                self._run(
                    "UPDATE meta SET key = ? WHERE key = ? AND NOT EXISTS "
                    "(SELECT 1 FROM meta WHERE key = ?)",
                    (host_key(key, self.host), key, host_key(key, self.host)),
                )
                self._run("DELETE FROM meta WHERE key = ?", (key,))

    # -- meta -------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        self._run(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
        self._save_positions()

    def store_now(self, now: datetime) -> datetime:
        """The time on the store's clock: one host's store keeps the injected one."""
        return now

    def claim_host(self, wait: float = 0.0) -> bool:
        """Take this host's name for this process; False if another copy holds it.

        One host's store is guarded by the data dir's lock (`DataDirLock`) already."""
        return True

    def writable(self, now: datetime) -> bool:
        """Whether a write commits now (a full disk or a read-only file say no)."""
        try:
            self.set_meta("alive_at", stored_time(now))
        except sqlite3.Error as exc:
            logger.warning("The store is not writable: %s", exc)
            return False
        return True

    # -- checkpoints -----------------------------------------------------------------

    def load_checkpoints(self) -> dict[str, Checkpoint]:
        """This host's tail positions, by path (other hosts' are theirs)."""
        rows = self._all("SELECT * FROM checkpoints WHERE host = ?", (self.host,))
        return {
            row["path"]: Checkpoint(
                path=row["path"],
                device=row["device"],
                inode=row["inode"],
                fingerprint=row["fingerprint"],
                fingerprint_len=row["fingerprint_len"],
                offset=row["offset"],
                line_no=row["line_no"],
            )
            for row in rows
        }

    def last_checkpoint_at(self) -> datetime | None:
        row = self._one(
            "SELECT max(updated_at) AS at FROM checkpoints WHERE host = ?", (self.host,)
        )
        return read_time(row["at"]) if row else None

    def save_checkpoint(self, checkpoint: Checkpoint, now: datetime) -> None:
        self._run(
            "INSERT INTO checkpoints (path, device, inode, fingerprint, fingerprint_len, "
            "offset, line_no, updated_at, host) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (host, path) DO UPDATE "
            "SET device = excluded.device, inode = excluded.inode, "
            "fingerprint = excluded.fingerprint, fingerprint_len = excluded.fingerprint_len, "
            "offset = excluded.offset, line_no = excluded.line_no, "
            "updated_at = excluded.updated_at",
            (
                checkpoint.path,
                checkpoint.device,
                checkpoint.inode,
                checkpoint.fingerprint,
                checkpoint.fingerprint_len,
                checkpoint.offset,
                checkpoint.line_no,
                stored_time(now),
                self.host,
            ),
        )
        self._save_positions()

    def count_lines(self, now: datetime, lines: int) -> None:
        if lines <= 0:
            return
        hour = stored_time(now.replace(minute=0, second=0, microsecond=0))
        self._run(
            "INSERT INTO line_counts VALUES (?, ?) "
            "ON CONFLICT (hour) DO UPDATE SET lines = line_counts.lines + excluded.lines",
            (hour, lines),
        )

    def lines_since(self, since: datetime) -> int:
        start = stored_time(since.replace(minute=0, second=0, microsecond=0))
        row = self._one(
            "SELECT coalesce(sum(lines), 0) AS n FROM line_counts WHERE hour >= ?", (start,)
        )
        return int(row["n"]) if row else 0

    # -- audit -----------------------------------------------------------------------

    def add_audit(
        self,
        *,
        incident_id: int | None,
        actor: str,
        kind: str,
        operation: str,
        ok: bool,
        summary: str,
        now: datetime,
        exit_code: int | None = None,
        output_tail: str = "",
        duration: float = 0.0,
        detail: Mapping[str, Any] | None = None,
    ) -> int:
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO audit (incident_id, at, actor, kind, operation, exit_code, "
                "output_tail, duration, ok, summary, detail) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    incident_id,
                    stored_time(now),
                    actor,
                    kind,
                    operation,
                    exit_code,
                    output_tail[-2000:],
                    duration,
                    int(ok),
                    summary,
                    None if detail is None else json.dumps(dict(detail), ensure_ascii=False),
                ),
            )
            return int(cursor.lastrowid or 0)

    def audit(
        self, *, since: datetime | None = None, incident_id: int | None = None
    ) -> list[AuditEntry]:
        clauses: list[str] = []
        args: list[str | int] = []
        if since is not None:
            clauses.append("at >= ?")
            args.append(stored_time(since))
        if incident_id is not None:
            clauses.append("incident_id = ?")
            args.append(incident_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._all(f"SELECT * FROM audit {where} ORDER BY id", args)  # noqa: S608 - fixed clauses
        return [audit_entry_of(r) for r in rows]

    # -- retention -------------------------------------------------------------------

    def prune(self, before: datetime) -> retention.Pruned:
        """Forget closed incidents, audit rows and sent messages older than `before`."""
        return retention.prune(self, before)

    def size_bytes(self) -> int:
        """Bytes on disk (database and write-ahead log), for /status and /metrics."""
        return retention.size_bytes(self)

    # -- forum topics ----------------------------------------------------------------

    def topic_thread(self, chat_id: int, name: str) -> int | None:
        """The thread of the chat's topic `name`, None if none was made yet."""
        row = self._one(
            "SELECT thread_id FROM forum_topics WHERE chat_id = ? AND name = ?", (chat_id, name)
        )
        return None if row is None else int(row["thread_id"])

    def save_topic(self, chat_id: int, name: str, thread_id: int) -> None:
        """Remember a topic's thread; the first one remembered for a name stays."""
        self._run(
            "INSERT INTO forum_topics (chat_id, name, thread_id) VALUES (?, ?, ?) "
            "ON CONFLICT (chat_id, name) DO NOTHING",
            (chat_id, name, thread_id),
        )

    # -- mutes -----------------------------------------------------------------------

    def set_mute(self, target: str, until: datetime, by: str) -> None:
        self._run(
            "INSERT INTO mutes VALUES (?, ?, ?) ON CONFLICT (target) DO UPDATE "
            "SET until = excluded.until, by = excluded.by",
            (target, stored_time(until), by),
        )

    def clear_mutes(self, target: str | None = None) -> int:
        if target is None:
            return self._run("DELETE FROM mutes")
        return self._run("DELETE FROM mutes WHERE target = ?", (target,))

    def mutes(self) -> dict[str, datetime]:
        rows = self._all("SELECT target, until FROM mutes ORDER BY until")
        return {r["target"]: datetime.fromisoformat(r["until"]) for r in rows}

    def expire_mutes(self, now: datetime) -> list[str]:
        """Drop mutes that have run out and return their targets (the admin is told)."""
        with self.transaction():
            rows = self._all("SELECT target FROM mutes WHERE until <= ?", (stored_time(now),))
            self._run("DELETE FROM mutes WHERE until <= ?", (stored_time(now),))
        return [r["target"] for r in rows]
