"""The outbox's table, the alert messages sent and the storms: what is told to the
admin, claimed with compare-and-set so nothing is sent twice. Part of `sqlite.Store`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from adminbot.store.fence import Fence
from adminbot.store.rows import (
    OutboxItem,
    SentRef,
    StormFacts,
    outbox_item_of,
    read_time,
    stored_time,
)
from adminbot.store.sqlbase import SqlStore

logger = logging.getLogger(__name__)


class OutboxTables(SqlStore):
    """The outbox, alert messages and storms."""

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


def _epoch(fence: Fence | None) -> int | None:
    return None if fence is None else fence.epoch
