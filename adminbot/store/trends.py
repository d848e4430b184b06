"""Series the predictions read: disk usage per check round, rule matches per minute.

`disk_samples` holds one (used, total) reading per watched folder per round, for
the disk-full forecast; `rule_counts` holds how many log lines each rule matched in
each minute, so the usual rate comes from hourly sums and the recent one from the
last minutes. Both run on the `Store`'s connection and transactions; retention
(`retention.py`) forgets rows older than `[store] keep_days`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from adminbot.store.rows import UsageSample, stored_time
from adminbot.store.sqlite import Store, host_key

SINCE_KEY = "rule_counts_since"
"""Meta key (one per host): when this host began counting matches per rule."""


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class TrendStore:
    """The `disk_samples` and `rule_counts` tables, through the store's connection."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- disk samples ------------------------------------------------------------------

    def add_disk_sample(self, folder: str, sample: UsageSample) -> None:
        with self._store.connection() as db:
            db.execute(
                "INSERT INTO disk_samples (host, folder, at, used, total) VALUES (?, ?, ?, ?, ?)",
                (self._store.host, folder, stored_time(sample.at), sample.used, sample.total),
            )

    def disk_samples(self, folder: str, since: datetime) -> list[UsageSample]:
        """This host's readings of `folder` since `since`, oldest first."""
        with self._store.connection() as db:
            rows = db.execute(
                "SELECT at, used, total FROM disk_samples WHERE host = ? AND folder = ? "
                "AND at >= ? ORDER BY at",
                (self._store.host, folder, stored_time(since)),
            ).fetchall()
        return [
            UsageSample(datetime.fromisoformat(row["at"]), int(row["used"]), int(row["total"]))
            for row in rows
        ]

    # -- rule counts -------------------------------------------------------------------

    def count_rules(self, now: datetime, rules: Iterable[str]) -> None:
        """Add one match per item of `rules` to this minute's counts (in the caller's
        transaction, so the counts commit with the incidents)."""
        counts = Counter(rules)
        if not counts:
            return
        minute = stored_time(_minute(now))
        with self._store.connection() as db:
            for rule, n in sorted(counts.items()):
                db.execute(
                    "INSERT INTO rule_counts (rule, minute, n, host) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (host, rule, minute) DO UPDATE SET n = rule_counts.n + excluded.n",
                    (rule, minute, n, self._store.host),
                )

    def counting_since(self, now: datetime) -> datetime:
        """When counting began on this store; `now` if it begins now."""
        key = host_key(SINCE_KEY, self._store.host)
        found = self._store.get_meta(key)
        if found is not None:
            return datetime.fromisoformat(found)
        self._store.set_meta(key, stored_time(now))
        return now

    def recent(self, since: datetime) -> dict[str, int]:
        """This host's matches per rule in the minutes that began at or after `since`."""
        with self._store.connection() as db:
            rows = db.execute(
                "SELECT rule, sum(n) AS n FROM rule_counts WHERE host = ? AND minute >= ? "
                "GROUP BY rule",
                (self._store.host, stored_time(since)),
            ).fetchall()
        return {row["rule"]: int(row["n"]) for row in rows}

    def hourly(self, rule: str, start: datetime, end: datetime) -> list[int]:
        """`rule`'s matches in each whole hour from `start`'s to before `end`'s, oldest
        first; an hour without a match counts 0."""
        first, last = _hour(start), _hour(end)
        with self._store.connection() as db:
            rows = db.execute(
                "SELECT minute, n FROM rule_counts WHERE host = ? AND rule = ? AND minute >= ? "
                "AND minute < ?",
                (self._store.host, rule, stored_time(first), stored_time(last)),
            ).fetchall()
        by_hour: Mapping[datetime, int] = _sum_by_hour(
            (datetime.fromisoformat(row["minute"]), int(row["n"])) for row in rows
        )
        hours = int((last - first) / timedelta(hours=1))
        return [by_hour.get(first + timedelta(hours=i), 0) for i in range(hours)]


def _sum_by_hour(rows: Iterable[tuple[datetime, int]]) -> Counter[datetime]:
    total: Counter[datetime] = Counter()
    for minute, n in rows:
        total[_hour(minute)] += n
    return total
