"""The embedded SQLite store: incidents, checkpoints, the outbox, audit, storms, mutes.

One connection in WAL mode, shared by the tailer thread and the event loop behind a
lock; every statement is short, so the lock is never held for long. State changes
that must happen once (claiming an outbox row, a button's action) use
compare-and-set: `UPDATE ... WHERE id = ? AND state = ?` and a check of rowcount.

Over ~400 lines: the core aggregates' queries are here on purpose, since the
PostgreSQL backend reuses them through a translation layer (`adminbot.store.pgsql`).
The schema's history is in `sqlschema`, the row values in `rows`; the smaller tables
have modules of their own beside it; splitting the incidents from the outbox is next.
"""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from adminbot.clock import Clock, utcnow
from adminbot.models import Checkpoint, Incident, IncidentState, Match, Severity, frozen_map
from adminbot.store import retention
from adminbot.store.damage import Recovery, is_damage
from adminbot.store.fence import Fence
from adminbot.store.rows import (
    AuditEntry,
    Closing,
    OutboxItem,
    Recorded,
    SentRef,
    StormFacts,
    Transition,
    audit_entry_of,
    incident_of,
    outbox_item_of,
    read_time,
    stored_time,
)
from adminbot.store.sqlschema import MIGRATIONS
from adminbot.store.storefile import StoreFile

logger = logging.getLogger(__name__)

MAX_OCCURRENCES = 20
SAMPLE_CHARS = 4000

HOST_META = ("last_alive", "quiet_held", "rule_counts_since")
"""Meta keys that are one host's state: stored as `key@host` (`host_key`)."""


def host_key(key: str, host: str) -> str:
    """The meta key of one host's own value (several hosts may share the store)."""
    return f"{key}@{host}"


class Store:
    """Durable state: incidents, checkpoints, the outbox, audit and mutes.

    At open, and whenever SQLite calls the file malformed, a damaged store is moved
    aside and a fresh one starts from the saved tail positions (`positions.py`); what
    happened is kept as a `Recovery` for the admin (`take_recoveries`).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        clock: Clock = utcnow,
        positions_every: float = 5.0,
        host: str | None = None,
    ) -> None:
        self.path = str(path)
        self.host = host or socket.gethostname()
        self._file = StoreFile(self.path, MIGRATIONS, clock, positions_every=positions_every)
        self._lock = threading.RLock()
        self._after_commit: list[Callable[[], None]] = []
        self._writing = False  # inside transaction(): its handler recovers, not _guard
        self._db = self._file.open()
        self._closed = False
        self._adopt()

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

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._file.save_positions(self._db, force=True)
            self._db.close()
            self._closed = True

    def take_recoveries(self) -> list[Recovery]:
        """The store recoveries not yet told to the admin, oldest first."""
        with self._lock:
            return self._file.take_recoveries()

    def _recover(self, exc: BaseException) -> None:
        """SQLite called the open store damaged: swap in a fresh one (the caller re-raises)."""
        if not isinstance(exc, sqlite3.DatabaseError) or not is_damage(exc):
            return
        with self._lock:
            try:
                self._db = self._file.replace(self._db, exc)
            except (OSError, sqlite3.Error):
                logger.exception("Could not replace the damaged store %s", self.path)

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Outside a transaction, a damaged-file error swaps in a fresh store, then re-raises."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if not self._writing:
                self._recover(exc)
            raise

    def _save_positions(self) -> None:
        with self._lock:
            if not self._closed:
                self._file.save_positions(self._db)

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes atomically; nested use joins the outer transaction."""
        with self._lock:
            if self._db.in_transaction:
                yield
                return
            try:
                self._writing = True
                self._db.execute("BEGIN IMMEDIATE")
                yield
                self._db.execute("COMMIT")
            except BaseException as exc:
                self._rollback()
                self._after_commit.clear()
                self._recover(exc)
                raise
            finally:
                self._writing = False
            callbacks, self._after_commit = self._after_commit, []
        self._save_positions()
        for callback in callbacks:
            callback()

    def _rollback(self) -> None:
        """Undo what failed; SQLite may have rolled back already (disk full, I/O error)."""
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            logger.debug("Rollback after a failed transaction: %s", exc)

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the store's lock, for the store package's other modules."""
        with self._lock:
            yield self._db

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the current transaction commits (now, if there is none).

        Waking the outbox sender before the commit would make it wait on our lock."""
        with self._lock:
            if self._db.in_transaction:
                if callback not in self._after_commit:
                    self._after_commit.append(callback)
                return
        callback()

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock, self._guard():
            return self._db.execute(sql, args).fetchall()

    def _one(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Row | None:
        with self._lock, self._guard():
            row: sqlite3.Row | None = self._db.execute(sql, args).fetchone()
            return row

    def _run(self, sql: str, args: Sequence[Any] = ()) -> int:
        with self._lock, self._guard():
            return self._db.execute(sql, args).rowcount

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

    # -- incidents -------------------------------------------------------------------

    def record_match(self, match: Match, now: datetime, token: str) -> Recorded:
        """Add one occurrence: bump the live incident for (rule, key) or open a new one.

        An ignored incident keeps absorbing its repeats (the admin said so); a
        resolved one does not, so a recurrence after a fix opens a fresh incident.
        """
        return self.record_matches([match], now, lambda: token)[0]

    def record_matches(
        self, matches: Sequence[Match], now: datetime, token: Callable[[], str]
    ) -> list[Recorded]:
        """Record a batch of matches, one `Recorded` per match, in their order.

        Matches of one incident cost one write however many there are (a storm
        repeats the same few): its count grows by their number, its sample,
        source and fields are the last one's, and only the occurrences that
        stay among the last MAX_OCCURRENCES are written. A storm of distinct
        incidents costs a few statements per batch, not several per incident:
        the live incidents are read, the new ones inserted, the repeats updated
        and the occurrences and transitions written, each for the whole batch.
        Each `Recorded` shows the incident as it was right after its match.
        """
        groups: dict[tuple[str, str, str], list[int]] = {}
        for index, match in enumerate(matches):
            triple = (match.rule, match.key, match.host or self.host)
            groups.setdefault(triple, []).append(index)
        seen = stored_time(now)
        seen_at = datetime.fromisoformat(seen)
        results: list[Recorded | None] = [None] * len(matches)
        with self.transaction():
            live = self._live_incidents(groups)
            fresh = [triple for triple in groups if triple not in live]
            opened = self._open_incidents(fresh, groups, matches, seen, seen_at, token)
            self._update_incidents(live, groups, matches, seen, seen_at)
            kept: list[tuple[Any, ...]] = []
            trim: list[tuple[int, int, int]] = []
            for triple, indexes in groups.items():
                incident = opened.get(triple) or live[triple]
                group = [matches[i] for i in indexes]
                kept.extend(_occurrence(incident.id, seen, m) for m in group[-MAX_OCCURRENCES:])
                if triple in live and incident.count > MAX_OCCURRENCES:
                    trim.append((incident.id, incident.id, MAX_OCCURRENCES))
                _snapshots(incident, indexes, group, triple in opened, results)
            self._many(
                "INSERT INTO occurrences (incident_id, seen_at, source, line_no, text) "
                "VALUES (?, ?, ?, ?, ?)",
                kept,
            )
            self._many(
                "DELETE FROM occurrences WHERE incident_id = ? AND id NOT IN "
                "(SELECT id FROM occurrences WHERE incident_id = ? ORDER BY id DESC LIMIT ?)",
                trim,
            )
        return [r for r in results if r is not None]

    def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self._lock, self._guard():
                self._db.executemany(sql, rows)

    def _live_incidents(
        self, groups: Mapping[tuple[str, str, str], object]
    ) -> dict[tuple[str, str, str], Incident]:
        """The newest incident not resolved of each (rule, key, host), read in chunks."""
        wanted: dict[tuple[str, str], list[str]] = {}
        for rule, key, host in groups:
            wanted.setdefault((rule, host), []).append(key)
        found: dict[tuple[str, str, str], Incident] = {}
        for (rule, host), keys in wanted.items():
            for chunk in _chunks(keys):
                marks = ", ".join("?" * len(chunk))
                rows = self._all(
                    _LIVE_INCIDENTS.format(marks=marks),
                    (rule, host, IncidentState.RESOLVED.value, *chunk),
                )
                for row in rows:  # by id: the newest of a key is kept
                    found[(rule, row["key"], host)] = incident_of(row)
        return found

    def _open_incidents(
        self,
        fresh: Sequence[tuple[str, str, str]],
        groups: Mapping[tuple[str, str, str], list[int]],
        matches: Sequence[Match],
        seen: str,
        seen_at: datetime,
        token: Callable[[], str],
    ) -> dict[tuple[str, str, str], Incident]:
        """Insert the batch's new incidents, a multi-row INSERT per chunk; each as its
        first match (rule, severity, key) showing its last (sample, source, fields)."""
        opened: dict[tuple[str, str, str], Incident] = {}
        for chunk in _chunks(fresh):
            rows = []
            for rule, key, host in chunk:
                indexes = groups[(rule, key, host)]
                first, last = matches[indexes[0]], matches[indexes[-1]]
                rows.append(
                    (rule, first.severity, key, len(indexes), last, token(), host),
                )
            marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
            values = [value for row in rows for value in _incident_row(*row, seen)]
            ids = {
                (found["rule"], found["key"], found["host"]): int(found["id"])
                for found in self._all(_OPEN_INCIDENTS.format(marks=marks), values)
            }
            for rule, severity, key, count, last, opened_token, host in rows:
                opened[(rule, key, host)] = Incident(
                    id=ids[(rule, key, host)],
                    rule=rule,
                    severity=severity,
                    key=key,
                    state=IncidentState.OPEN,
                    count=count,
                    first_seen=seen_at,
                    last_seen=seen_at,
                    source=last.record.source,
                    sample=last.record.text[:SAMPLE_CHARS],
                    fields=frozen_map(last.fields),
                    token=opened_token,
                    host=host,
                )
        self._many(
            "INSERT INTO transitions (incident_id, at, old_state, new_state, actor, note) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(i.id, seen, None, IncidentState.OPEN.value, "monitor", "") for i in opened.values()],
        )
        return opened

    def _update_incidents(
        self,
        live: dict[tuple[str, str, str], Incident],
        groups: Mapping[tuple[str, str, str], list[int]],
        matches: Sequence[Match],
        seen: str,
        seen_at: datetime,
    ) -> None:
        """Bump the batch's repeated incidents (in `live`, replaced by their new state)."""
        updates = []
        for triple, incident in live.items():
            indexes = groups[triple]
            last = matches[indexes[-1]]
            sample = last.record.text[:SAMPLE_CHARS]
            fields = json.dumps(dict(last.fields), ensure_ascii=False)
            updates.append((len(indexes), seen, sample, last.record.source, fields, incident.id))
            live[triple] = replace(
                incident,
                count=incident.count + len(indexes),
                last_seen=seen_at,
                sample=sample,
                source=last.record.source,
                fields=frozen_map(last.fields),
            )
        self._many(
            "UPDATE incidents SET count = count + ?, last_seen = ?, sample = ?, "
            "source = ?, fields = ? WHERE id = ?",
            updates,
        )

    def _add_transition(
        self,
        incident_id: int,
        old: IncidentState | None,
        new: IncidentState,
        actor: str,
        note: str,
        now: datetime,
    ) -> None:
        self._run(
            "INSERT INTO transitions (incident_id, at, old_state, new_state, actor, note) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (incident_id, stored_time(now), old.value if old else None, new.value, actor, note),
        )

    def set_state(
        self,
        incident_id: int,
        expected: Sequence[IncidentState],
        new: IncidentState,
        actor: str,
        now: datetime,
        note: str = "",
    ) -> bool:
        """Move an incident to `new` only if it is still in one of `expected` (compare-and-set)."""
        with self.transaction():
            row = self._one("SELECT state FROM incidents WHERE id = ?", (incident_id,))
            if row is None or IncidentState(row["state"]) not in expected:
                return False
            old = IncidentState(row["state"])
            resolved_at = stored_time(now) if new.is_closed else None
            changed = self._run(
                "UPDATE incidents SET state = ?, resolved_at = ? WHERE id = ? AND state = ?",
                (new.value, resolved_at, incident_id, old.value),
            )
            if changed != 1:
                return False
            self._add_transition(incident_id, old, new, actor, note, now)
        return True

    def incident(self, incident_id: int) -> Incident | None:
        row = self._one("SELECT * FROM incidents WHERE id = ?", (incident_id,))
        return None if row is None else incident_of(row)

    def incidents(
        self,
        *,
        rule: str | None = None,
        states: Sequence[IncidentState] | None = None,
        since: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
        host: str | None = None,
    ) -> list[Incident]:
        """Incidents, the latest first; `host` keeps one host's only."""
        clauses, args = _filters(rule, states, since, host)
        rows = self._all(
            f"SELECT * FROM incidents {clauses} ORDER BY last_seen DESC, id DESC LIMIT ? OFFSET ?",  # noqa: S608 - clauses are built from fixed text, values are bound
            (*args, limit, offset),
        )
        return [incident_of(row) for row in rows]

    def closings(self, incident: Incident, limit: int) -> list[Closing]:
        """`incident` and the earlier incidents of its rule, key and host, newest first,
        with when each opened and was closed (a crash loop, a flapping outage)."""
        rows = self._all(
            "SELECT id, first_seen, resolved_at, (SELECT actor FROM transitions t "
            "WHERE t.incident_id = incidents.id ORDER BY t.id DESC LIMIT 1) AS closed_by "
            "FROM incidents WHERE rule = ? AND key = ? AND host = ? AND id <= ? "
            "ORDER BY id DESC LIMIT ?",
            (incident.rule, incident.key, incident.host, incident.id, limit),
        )
        return [
            Closing(
                int(r["id"]),
                datetime.fromisoformat(r["first_seen"]),
                read_time(r["resolved_at"]),
                r["closed_by"] or "" if r["resolved_at"] is not None else "",
            )
            for r in rows
        ]

    def count_incidents(
        self,
        *,
        rule: str | None = None,
        states: Sequence[IncidentState] | None = None,
        since: datetime | None = None,
        host: str | None = None,
    ) -> int:
        clauses, args = _filters(rule, states, since, host)
        row = self._one(f"SELECT count(*) AS n FROM incidents {clauses}", args)  # noqa: S608 - as above
        return int(row["n"]) if row else 0

    def incident_counts(self, since: datetime | None = None) -> dict[str, tuple[int, int]]:
        """Per rule: (incidents, occurrences) whose last occurrence is at or after `since`."""
        clauses, args = _filters(None, None, since)
        rows = self._all(
            f"SELECT rule, count(*) AS n, sum(count) AS hits FROM incidents {clauses} "  # noqa: S608 - as above
            "GROUP BY rule",
            args,
        )
        return {row["rule"]: (int(row["n"]), int(row["hits"])) for row in rows}

    def host_counts(self, since: datetime | None = None) -> dict[str, tuple[int, int]]:
        """Per host: (incidents, occurrences) whose last occurrence is at or after `since`."""
        clauses, args = _filters(None, None, since)
        rows = self._all(
            f"SELECT host, count(*) AS n, sum(count) AS hits FROM incidents {clauses} "  # noqa: S608 - as above
            "GROUP BY host",
            args,
        )
        return {row["host"]: (int(row["n"]), int(row["hits"])) for row in rows}

    def open_counts(self) -> dict[str, int]:
        open_states = [s.value for s in IncidentState if not s.is_closed]
        marks = ",".join("?" * len(open_states))
        rows = self._all(
            f"SELECT rule, count(*) AS n FROM incidents WHERE state IN ({marks}) GROUP BY rule",  # noqa: S608 - placeholders only
            open_states,
        )
        return {row["rule"]: int(row["n"]) for row in rows}

    def state_counts(self) -> dict[tuple[str, str], int]:
        """This host's incidents per (rule, state), for its metrics endpoint: every host of
        a fleet is scraped, so each counts its own and their sum is the fleet's."""
        rows = self._all(
            "SELECT rule, state, count(*) AS n FROM incidents WHERE host = ? GROUP BY rule, state",
            (self.host,),
        )
        return {(r["rule"], r["state"]): int(r["n"]) for r in rows}

    def resolution_seconds(self, since: datetime) -> list[float]:
        rows = self._all(
            "SELECT first_seen, resolved_at FROM incidents WHERE state = ? AND resolved_at >= ?",
            (IncidentState.RESOLVED.value, stored_time(since)),
        )
        return [
            (
                datetime.fromisoformat(r["resolved_at"]) - datetime.fromisoformat(r["first_seen"])
            ).total_seconds()
            for r in rows
        ]

    def occurrences(self, incident_id: int, limit: int = 5) -> list[tuple[datetime, str, int, str]]:
        rows = self._all(
            "SELECT seen_at, source, line_no, text FROM occurrences WHERE incident_id = ? "
            "ORDER BY id DESC LIMIT ?",
            (incident_id, limit),
        )
        return [(datetime.fromisoformat(r[0]), r[1], r[2], r[3]) for r in rows]

    def transitions(self, incident_id: int) -> list[Transition]:
        rows = self._all(
            "SELECT at, old_state, new_state, actor, note FROM transitions "
            "WHERE incident_id = ? ORDER BY id",
            (incident_id,),
        )
        return [
            Transition(
                at=datetime.fromisoformat(r["at"]),
                old_state=IncidentState(r["old_state"]) if r["old_state"] else None,
                new_state=IncidentState(r["new_state"]),
                actor=r["actor"],
                note=r["note"],
            )
            for r in rows
        ]

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

    # -- outbox ----------------------------------------------------------------------

    def enqueue(
        self,
        kind: str,
        payload: Mapping[str, Any],
        now: datetime,
        *,
        chat_id: int | None = None,
        incident_id: int | None = None,
        not_before: datetime | None = None,
        coalesce: bool = False,
        priority: int = 2,
        storm_id: int | None = None,
    ) -> int | None:
        """Queue a notification for one chat.

        With `coalesce`, a pending row for the same incident (or storm) and chat absorbs
        this one: the sender renders the incident as it is at send time, so one row
        carries every change. The row keeps its place unless this one is due sooner or
        more urgent (a lower `priority`); an alert turns a pending update into an alert.
        """
        due_at = stored_time(not_before or now)
        with self.transaction():
            if coalesce and (incident_id is not None or storm_id is not None):
                row = self._coalescible(incident_id, storm_id, chat_id)
                if row is not None:
                    self._run(
                        "UPDATE outbox SET not_before = min(not_before, ?), "
                        "priority = min(priority, ?), "
                        "kind = CASE WHEN ? = 'alert' THEN 'alert' ELSE kind END WHERE id = ?",
                        (due_at, priority, kind, row["id"]),
                    )
                    return None
            with self._lock:
                cursor = self._db.execute(
                    "INSERT INTO outbox (created_at, kind, chat_id, incident_id, payload, state, "
                    "not_before, priority, storm_id) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
                    (
                        stored_time(now),
                        kind,
                        chat_id,
                        incident_id,
                        json.dumps(dict(payload), ensure_ascii=False),
                        due_at,
                        priority,
                        storm_id,
                    ),
                )
                return int(cursor.lastrowid or 0)

    def _coalescible(
        self, incident_id: int | None, storm_id: int | None, chat_id: int | None
    ) -> sqlite3.Row | None:
        if storm_id is not None:
            return self._one(
                "SELECT id FROM outbox WHERE storm_id = ? AND chat_id IS ? AND state = 'pending'",
                (storm_id, chat_id),
            )
        return self._one(
            "SELECT id FROM outbox WHERE incident_id = ? AND chat_id IS ? "
            "AND kind IN ('alert', 'update') AND state = 'pending'",
            (incident_id, chat_id),
        )

    def due(self, now: datetime, limit: int = 20) -> list[OutboxItem]:
        """Pending notifications that may be sent now: the most urgent first, then oldest."""
        rows = self._all(
            "SELECT * FROM outbox WHERE state = 'pending' AND not_before <= ? "
            "ORDER BY priority, id LIMIT ?",
            (stored_time(now), limit),
        )
        return [outbox_item_of(row) for row in rows]

    def next_due_at(self, after: datetime | None = None) -> datetime | None:
        """When the next pending row falls due (only those due later than `after`, if given)."""
        if after is None:
            row = self._one("SELECT min(not_before) AS at FROM outbox WHERE state = 'pending'")
        else:
            row = self._one(
                "SELECT min(not_before) AS at FROM outbox WHERE state = 'pending' "
                "AND not_before > ?",
                (stored_time(after),),
            )
        return read_time(row["at"]) if row else None

    def claim(self, item_id: int, fence: Fence | None = None) -> bool:
        """Take a pending row for sending; False if another sender took it first.

        With a `fence` (several hosts), only while that lease is current on the
        database's clock: a front that lost its lease claims nothing."""
        if fence is None:
            return (
                self._run(
                    "UPDATE outbox SET state = 'sending', attempts = attempts + 1, "
                    "claim_epoch = NULL WHERE id = ? AND state = 'pending'",
                    (item_id,),
                )
                == 1
            )
        return (
            self._run(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, claim_epoch = ? "
                "WHERE id = ? AND state = 'pending' AND EXISTS (SELECT 1 FROM leases "
                "WHERE role = ? AND holder = ? AND epoch = ? AND expires_at > db_now())",
                (fence.epoch, item_id, fence.role, fence.holder, fence.epoch),
            )
            == 1
        )

    def mark_sent(self, item_id: int, now: datetime, fence: Fence | None = None) -> bool:
        """Telegram took it; call it in the commit that records the message id, if any.

        False when the row is no longer this claim (a new front took it back after this
        one lost its lease): that front re-sends it, marked as possibly repeated."""
        return (
            self._run(
                "UPDATE outbox SET state = 'sent', sent_at = ?, last_error = NULL "
                "WHERE id = ? AND state = 'sending' AND claim_epoch IS ?",
                (stored_time(now), item_id, _epoch(fence)),
            )
            == 1
        )

    def release(
        self,
        item_id: int,
        not_before: datetime,
        error: str,
        *,
        unsure: bool = False,
        fence: Fence | None = None,
    ) -> None:
        """Give a claimed row back after a transient failure, to be tried again later.

        `unsure`: Telegram may have taken it (the answer timed out), so the next attempt
        may repeat it and says so."""
        self._run(
            "UPDATE outbox SET state = 'pending', not_before = ?, last_error = ?, "
            "doubt = doubt + ? WHERE id = ? AND state = 'sending' AND claim_epoch IS ?",
            (stored_time(not_before), error[:500], int(unsure), item_id, _epoch(fence)),
        )

    def mark_failed(self, item_id: int, error: str, fence: Fence | None = None) -> None:
        """A permanent failure (the message can never be delivered as it is)."""
        self._run(
            "UPDATE outbox SET state = 'failed', last_error = ? "
            "WHERE id = ? AND state IN ('pending', 'sending') "
            "AND (? IS NULL OR (state = 'sending' AND claim_epoch = ?))",
            (error[:500], item_id, _epoch(fence), _epoch(fence)),
        )

    def recover_claims(self, fence: Fence | None = None) -> int:
        """Rows a crash left in flight are sent again, at most once each.

        At start-up on one host; on several, by a front that has just taken the lease,
        for the claims of earlier terms (`fence`). Telegram may have taken them before
        the crash, so the re-send is marked as possibly repeated; a row in flight at a
        second crash is not sent a third time."""
        mine = 0 if fence is None else fence.epoch  # epochs start at 1
        with self.transaction():
            given_up = self._run(
                "UPDATE outbox SET state = 'failed', "
                "last_error = 'in flight at two crashes; not sent again' "
                "WHERE state = 'sending' AND recovered > 0 AND NOT (claim_epoch IS ?)",
                (mine,),
            )
            back = self._run(
                "UPDATE outbox SET state = 'pending', recovered = recovered + 1, "
                "doubt = doubt + 1 WHERE state = 'sending' AND NOT (claim_epoch IS ?)",
                (mine,),
            )
        if given_up:
            logger.warning(
                "%s outbox row(s) were in flight at two crashes; not sent again", given_up
            )
        return back

    def absorb_alerts(self, rule: str) -> int:
        """This host's pending alerts of `rule` that its storm message now stands for."""
        return self._run(
            "UPDATE outbox SET state = 'absorbed' WHERE state = 'pending' AND kind = 'alert' "
            "AND incident_id IN (SELECT id FROM incidents WHERE rule = ? AND host = ?)",
            (rule, self.host),
        )

    def has_pending(self, incident_id: int, kind: str = "alert") -> bool:
        row = self._one(
            "SELECT 1 FROM outbox WHERE incident_id = ? AND kind = ? "
            "AND state IN ('pending', 'sending') LIMIT 1",
            (incident_id, kind),
        )
        return row is not None

    def outbox_depth(self) -> int:
        row = self._one("SELECT count(*) AS n FROM outbox WHERE state IN ('pending', 'sending')")
        return int(row["n"]) if row else 0

    def oldest_pending_at(self) -> datetime | None:
        row = self._one("SELECT min(created_at) AS at FROM outbox WHERE state = 'pending'")
        return read_time(row["at"]) if row else None

    # -- alert messages --------------------------------------------------------------

    def alert_messages(self, incident_id: int) -> dict[int, int]:
        rows = self._all(
            "SELECT chat_id, message_id FROM alert_messages WHERE incident_id = ?", (incident_id,)
        )
        return {int(r["chat_id"]): int(r["message_id"]) for r in rows}

    def alert_message(self, incident_id: int, chat_id: int) -> SentRef | None:
        """The alert's message in `chat_id`, and whether it may repeat an earlier one."""
        row = self._one(
            "SELECT message_id, repeated FROM alert_messages WHERE incident_id = ? AND chat_id = ?",
            (incident_id, chat_id),
        )
        return None if row is None else SentRef(int(row["message_id"]), bool(row["repeated"]))

    def alerted_at(self, incident_id: int) -> datetime | None:
        """When the incident's alert first reached a chat (None: it reached none)."""
        row = self._one(
            "SELECT min(updated_at) AS at FROM alert_messages WHERE incident_id = ?",
            (incident_id,),
        )
        return read_time(row["at"]) if row else None

    def alert_owner(self, chat_id: int, message_id: int) -> int | None:
        """The newest incident whose alert is that message (a recurrence takes one over)."""
        row = self._one(
            "SELECT MAX(incident_id) AS owner FROM alert_messages "
            "WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
        return None if row is None or row["owner"] is None else int(row["owner"])

    def save_alert_message(
        self,
        incident_id: int,
        chat_id: int,
        message_id: int,
        now: datetime,
        *,
        repeated: bool = False,
    ) -> None:
        self._run(
            "INSERT INTO alert_messages VALUES (?, ?, ?, ?, ?) ON CONFLICT (incident_id, chat_id) "
            "DO UPDATE SET message_id = excluded.message_id, updated_at = excluded.updated_at, "
            "repeated = excluded.repeated",
            (incident_id, chat_id, message_id, stored_time(now), int(repeated)),
        )

    # -- storms ----------------------------------------------------------------------

    def open_storm(self, rule: str, started_at: datetime) -> int:
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO storms (rule, started_at, host) VALUES (?, ?, ?)",
                (rule, stored_time(started_at), self.host),
            )
            return int(cursor.lastrowid or 0)

    def end_storm(self, storm_id: int, now: datetime) -> None:
        self._run(
            "UPDATE storms SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
            (stored_time(now), storm_id),
        )

    def open_storms(self) -> dict[str, int]:
        """This host's storms still going on, by rule (a restart picks them up)."""
        rows = self._all(
            "SELECT id, rule FROM storms WHERE ended_at IS NULL AND host = ? ORDER BY id",
            (self.host,),
        )
        return {str(r["rule"]): int(r["id"]) for r in rows}

    def storm(self, storm_id: int, top: int = 5) -> StormFacts | None:
        """What a storm message shows: how many new incidents, the top keys and files."""
        row = self._one("SELECT * FROM storms WHERE id = ?", (storm_id,))
        if row is None:
            return None
        args = (
            row["rule"], row["host"], row["started_at"], row["ended_at"], row["ended_at"]
        )  # fmt: skip
        within = "rule = ? AND host = ? AND first_seen >= ? AND (? IS NULL OR first_seen <= ?)"
        totals = self._one(
            "SELECT count(*) AS n, coalesce(sum(count), 0) AS hits, max(last_seen) AS last "  # noqa: S608 - fixed text, values are bound
            f"FROM incidents WHERE {within}",
            args,
        )
        keys = self._all(
            f"SELECT key, count FROM incidents WHERE {within} "  # noqa: S608 - as above
            "ORDER BY count DESC, id DESC LIMIT ?",
            (*args, top),
        )
        files = self._all(
            f"SELECT source, count(*) AS n FROM incidents WHERE {within} "  # noqa: S608 - as above
            "GROUP BY source ORDER BY n DESC, source LIMIT ?",
            (*args, top),
        )
        assert totals is not None
        return StormFacts(
            id=storm_id,
            rule=str(row["rule"]),
            started_at=datetime.fromisoformat(row["started_at"]),
            ended_at=read_time(row["ended_at"]),
            incidents=int(totals["n"]),
            hits=int(totals["hits"]),
            last_seen=read_time(totals["last"]),
            top_keys=tuple((str(r["key"]), int(r["count"])) for r in keys),
            top_files=tuple((str(r["source"]), int(r["n"])) for r in files),
        )

    def storm_message(self, storm_id: int, chat_id: int) -> SentRef | None:
        row = self._one(
            "SELECT message_id, repeated FROM storm_messages WHERE storm_id = ? AND chat_id = ?",
            (storm_id, chat_id),
        )
        return None if row is None else SentRef(int(row["message_id"]), bool(row["repeated"]))

    def save_storm_message(
        self, storm_id: int, chat_id: int, message_id: int, *, repeated: bool = False
    ) -> None:
        self._run(
            "INSERT INTO storm_messages VALUES (?, ?, ?, ?) ON CONFLICT (storm_id, chat_id) "
            "DO UPDATE SET message_id = excluded.message_id, repeated = excluded.repeated",
            (storm_id, chat_id, message_id, int(repeated)),
        )

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


def _filters(
    rule: str | None,
    states: Sequence[IncidentState] | None,
    since: datetime | None,
    host: str | None = None,
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if host is not None:
        clauses.append("host = ?")
        args.append(host)
    if rule is not None:
        clauses.append("rule = ?")
        args.append(rule)
    if states:
        clauses.append(f"state IN ({','.join('?' * len(states))})")
        args.extend(s.value for s in states)
    if since is not None:
        clauses.append("last_seen >= ?")
        args.append(stored_time(since))
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), args


_CHUNK = 256
# Statements with one placeholder group per item; only placeholders are formatted in.
_LIVE_INCIDENTS = (
    "SELECT * FROM incidents WHERE rule = ? AND host = ? AND state != ? "
    "AND key IN ({marks}) ORDER BY id"
)
_OPEN_INCIDENTS = (
    "INSERT INTO incidents (rule, severity, key, state, count, first_seen, last_seen, "
    "source, sample, fields, token, host) VALUES {marks} RETURNING id, rule, key, host"
)
_T = TypeVar("_T")


def _chunks(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """`items` in pieces of at most _CHUNK, each a power of two long, so a statement
    with one placeholder group per item has a handful of texts (statement caches)."""
    start = 0
    while start < len(items):
        size = min(_CHUNK, 1 << ((len(items) - start).bit_length() - 1))
        yield items[start : start + size]
        start += size


def _incident_row(
    rule: str,
    severity: Severity,
    key: str,
    count: int,
    last: Match,
    token: str,
    host: str,
    seen: str,
) -> tuple[Any, ...]:
    """The columns of a new incident opened by a batch, shown as its last match."""
    return (
        rule,
        severity.value,
        key,
        IncidentState.OPEN.value,
        count,
        seen,
        seen,
        last.record.source,
        last.record.text[:SAMPLE_CHARS],
        json.dumps(dict(last.fields), ensure_ascii=False),
        token,
        host,
    )


def _occurrence(incident_id: int, seen: str, match: Match) -> tuple[Any, ...]:
    record = match.record
    return (incident_id, seen, record.source, record.line_no, record.text[:SAMPLE_CHARS])


def _snapshots(
    incident: Incident,
    indexes: Sequence[int],
    group: Sequence[Match],
    created: bool,
    results: list[Recorded | None],
) -> None:
    """Each match's `Recorded`: the incident as it was right after that match."""
    base = incident.count - len(group)
    for n, (index, match) in enumerate(zip(indexes, group, strict=True), start=1):
        snapshot = incident
        if n < len(group):
            record = match.record
            snapshot = replace(
                incident,
                count=base + n,
                sample=record.text[:SAMPLE_CHARS],
                source=record.source,
                fields=match.fields,
            )
        results[index] = Recorded(snapshot, created and n == 1)


def _epoch(fence: Fence | None) -> int | None:
    return None if fence is None else fence.epoch
