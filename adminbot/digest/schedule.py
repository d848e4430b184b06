"""When the daily digest is due: one wall-clock time a day in the admin's time zone.

The time is local, so across a change to or from summer time the digest still comes
at 09:00 on the clock; a time the change skips (02:30 on the spring night) comes an
hour later, and one it repeats (02:30 on the autumn night) comes once, the first time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DailyAt:
    """Once a day at `at` on the clocks of `zone`."""

    at: time
    zone: ZoneInfo

    def slot(self, day: date) -> datetime:
        """The moment (UTC) of `day`'s run."""
        return datetime.combine(day, self.at, tzinfo=self.zone).astimezone(UTC)

    def last_at_or_before(self, moment: datetime) -> datetime:
        """The latest run time that is not after `moment`."""
        day = moment.astimezone(self.zone).date() + DAY
        while (found := self.slot(day)) > moment:
            day -= DAY
        return found

    def next_after(self, moment: datetime) -> datetime:
        """The first run time after `moment`."""
        day = moment.astimezone(self.zone).date() - DAY
        while (found := self.slot(day)) <= moment:
            day += DAY
        return found
