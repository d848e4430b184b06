"""When the daily digest is due: one wall-clock time a day in the admin's time zone.

The time is local, so across a change to or from summer time the digest still comes
at 09:00 on the clock; a time the change skips (02:30 on the spring night) comes an
hour later, and one it repeats (02:30 on the autumn night) comes once, the first time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_CLOCK = re.compile(r"\s*([01]?\d|2[0-3]):([0-5]\d)\s*")
DAY = timedelta(days=1)


def parse_clock(text: str) -> time:
    """ "09:00" → 09:00; anything else is refused, saying what is expected."""
    found = _CLOCK.fullmatch(text)
    if found is None:
        raise ValueError(f'expected a time of day such as "09:00", got {text!r}')
    return time(int(found[1]), int(found[2]))


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
