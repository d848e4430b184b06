"""History over a window, for the daily digest, its chart and any other page that charts it.

New incidents per hour per rule, incidents per host, and each folder's disk usage over
a window. Like `trends.py` it runs on the `Store`'s connection, with SQL both SQLite
and PostgreSQL speak (timestamps are UTC ISO text, so an hour is its first 13 chars).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from adminbot.store.rows import UsageSample, stored_time
from adminbot.store.sqlite import Store

HOUR = timedelta(hours=1)
_HOUR_TEXT = "%Y-%m-%dT%H"


def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour `moment` falls in."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class HourlyCounts:
    """New incidents per rule in each hour of a window, oldest hour first.

    `start` is the first hour (UTC, on the hour); every series has `hours` items, and
    an hour without a new incident counts 0."""

    start: datetime
    hours: int
    by_rule: Mapping[str, tuple[int, ...]]

    def hour(self, index: int) -> datetime:
        return self.start + index * HOUR

    @property
    def total(self) -> int:
        return sum(sum(series) for series in self.by_rule.values())


class HistoryStore:
    """Counts and series over a window, read through the store's connection."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def host(self) -> str:
        return self._store.host

    def incidents_per_hour(self, since: datetime, until: datetime) -> HourlyCounts:
        """New incidents (by first sighting) per rule and hour, from `since` to before
        `until`, every host's; the hours run from `since`'s to the one `until` ends."""
        start = hour_of(since)
        hours = max(1, -int(-(until - start) // HOUR))  # the hour `until` falls in counts
        # first_seen <= last_seen, so the last_seen index narrows the scan first; ordering
        # the inner rows by it keeps SQLite from scanning the table in rule order for the
        # GROUP BY instead (10 ms rather than 0.7 ms over 10,000 incidents)
        with self._store.connection() as db:
            rows = db.execute(
                "SELECT rule, hour, count(*) AS n FROM ("
                "SELECT rule, substr(first_seen, 1, 13) AS hour FROM incidents "
                "WHERE last_seen >= ? AND first_seen >= ? AND first_seen < ? ORDER BY last_seen"
                ") AS recent GROUP BY rule, hour",
                (stored_time(since), stored_time(since), stored_time(until)),
            ).fetchall()
        series: dict[str, list[int]] = {}
        for row in rows:
            at = datetime.strptime(row["hour"], _HOUR_TEXT).replace(tzinfo=UTC)
            index = int((at - start) / HOUR)
            if 0 <= index < hours:
                series.setdefault(row["rule"], [0] * hours)[index] += int(row["n"])
        by_rule = {rule: tuple(counts) for rule, counts in sorted(series.items())}
        return HourlyCounts(start, hours, by_rule)

    def incidents_by_host(self, since: datetime) -> dict[str, int]:
        """Incidents seen at or after `since` (as /summary counts them), per host."""
        with self._store.connection() as db:
            rows = db.execute(
                "SELECT host, count(*) AS n FROM incidents WHERE last_seen >= ? GROUP BY host",
                (stored_time(since),),
            ).fetchall()
        return {row["host"]: int(row["n"]) for row in sorted(rows, key=lambda r: r["host"])}

    def disk_usage(
        self, since: datetime, until: datetime, *, host: str | None = None
    ) -> dict[str, tuple[UsageSample, ...]]:
        """A host's disk readings per folder from `since` to before `until`, oldest first
        (this host's unless `host` names another sharing the store)."""
        with self._store.connection() as db:
            rows = db.execute(
                "SELECT folder, at, used, total FROM disk_samples "
                "WHERE host = ? AND at >= ? AND at < ? ORDER BY folder, at",
                (host or self._store.host, stored_time(since), stored_time(until)),
            ).fetchall()
        found: dict[str, list[UsageSample]] = {}
        for row in rows:
            sample = UsageSample(
                datetime.fromisoformat(row["at"]), int(row["used"]), int(row["total"])
            )
            found.setdefault(row["folder"], []).append(sample)
        return {folder: tuple(samples) for folder, samples in found.items()}
