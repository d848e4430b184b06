"""The predictions at work: each check round, forecast disk fill and look for unusual rates.

`Predictions.round` runs after the health checks of a round (`HealthWatcher` hands
it the results): it records each folder's disk usage, fits the last hour, and raises
a `disco_previsto` warning for a folder that reaches `[checks] disk_crit_percent`
within `disk_forecast_hours`; then it compares each rule's last ten minutes with its
usual hourly rate and raises `ritmo_inusual` for one running hot. Each warning is
raised once while its condition holds and resolved when the condition goes away.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from adminbot.checks.base import CheckResult
from adminbot.clock import Clock, utcnow
from adminbot.facts import Size, human_bytes
from adminbot.incidents.intake import OPEN_STATES, IncidentNotRecorded, Intake
from adminbot.models import Origin, Severity
from adminbot.notify.outbox import Outbox
from adminbot.predict.diskfill import MIN_SAMPLES, MIN_SPAN, FillForecast, forecast
from adminbot.predict.rate import Unusual, unusual
from adminbot.rules.builtin import DISCO_PREVISTO, RITMO_INUSUAL
from adminbot.store.rows import UsageSample
from adminbot.store.trends import TrendStore

logger = logging.getLogger(__name__)

SOURCE = "check:predict"
ACTOR = "check"
FIT_WINDOW = timedelta(hours=1)
RATE_WINDOW = timedelta(minutes=10)
RATE_HISTORY = timedelta(days=7)
"""Hours older than this barely move an EWMA with alpha 0.1; they are not read."""
OWN_RULES = frozenset({DISCO_PREVISTO.name, RITMO_INUSUAL.name})


@dataclass(frozen=True, slots=True)
class DiskOutlook:
    """A folder whose disk, at its current rate, reaches the critical level soon."""

    folder: str
    forecast: FillForecast


@dataclass(frozen=True, slots=True)
class Outlook:
    """What /status shows of the predictions now in force."""

    disks: tuple[DiskOutlook, ...]
    rates: tuple[tuple[str, Unusual], ...]


def usage_sample(result: CheckResult, at: datetime) -> UsageSample | None:
    """The disk reading a disk check's result carries (used and free bytes), if any.

    The total is used + free, as the check's percent counts it (blocks reserved for
    root excluded), so the forecast's critical level is the check's."""
    used, free = result.facts.get("used"), result.facts.get("free")
    if not isinstance(used, Size) or not isinstance(free, Size) or "path" not in result.facts:
        return None
    return UsageSample(at, int(used), int(used) + int(free))


def english_eta(eta: timedelta) -> str:
    """A forecast's time left for the log and the sample: "2 h 10 min", "45 min"."""
    minutes = max(1, round(eta.total_seconds() / 60))
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


class Standing:
    """One incident per key of a rule while its condition holds; resolved when it stops."""

    def __init__(self, intake: Intake, outbox: Outbox | None, rule: str) -> None:
        self.intake = intake
        self.outbox = outbox
        self.rule = rule
        self._raised: set[str] | None = None

    def raised(self) -> set[str]:
        """The keys raised and not yet cleared (after a restart: the open incidents)."""
        if self._raised is None:
            states = list(OPEN_STATES)
            self._raised = {
                i.key
                for i in self.intake.store.incidents(
                    rule=self.rule, states=states, host=self.intake.store.host
                )
            }
        return self._raised

    def hold(self, key: str, text: str, fields: Mapping[str, str]) -> None:
        """The condition holds: raise its warning unless it is already raised."""
        if key in self.raised():
            return
        try:
            self.intake.raise_incident(
                Origin.CHECK,
                self.rule,
                Severity.WARNING,
                text,
                source=SOURCE,
                key=key,
                fields=fields,
            )
        except IncidentNotRecorded:
            logger.warning("%s %s: the store is full, not raised", self.rule, key)
            return
        self.raised().add(key)

    def clear(self, key: str, note: str) -> None:
        """The condition went away: resolve its warning if one was raised."""
        if key not in self.raised():
            return
        self.raised().discard(key)
        for incident in self.intake.resolve_rule(self.rule, ACTOR, note, key=key):
            if self.outbox is not None:
                self.outbox.incident_changed(incident.id)


class Predictions:
    """Records the series of each round and raises or resolves the warnings they predict."""

    def __init__(
        self,
        trends: TrendStore,
        intake: Intake,
        outbox: Outbox | None,
        *,
        crit_percent: float,
        horizon: timedelta,
        clock: Clock = utcnow,
    ) -> None:
        self.trends = trends
        self.crit_percent = crit_percent
        self.horizon = horizon
        self.clock = clock
        self.disk = Standing(intake, outbox, DISCO_PREVISTO.name)
        self.rate = Standing(intake, outbox, RITMO_INUSUAL.name)
        self._disks: dict[str, FillForecast] = {}
        self._rates: dict[str, Unusual] = {}

    def round(self, results: Sequence[CheckResult]) -> None:
        """After a check round: each disk's sample (and forecast), then the rates."""
        now = self.clock()
        for result in results:
            sample = usage_sample(result, now)
            if sample is None:
                continue
            folder = str(result.facts["path"])
            if self.horizon > timedelta(0):
                self.observe_disk(folder, sample)
            else:  # no forecast, but the daily chart still draws the usage
                self.trends.add_disk_sample(folder, sample)
        self.check_rates(now)

    def observe_disk(self, folder: str, sample: UsageSample) -> FillForecast | None:
        """Record a reading, fit the last hour, raise or resolve the folder's warning."""
        self.trends.add_disk_sample(folder, sample)
        samples = self.trends.disk_samples(folder, sample.at - FIT_WINDOW)
        if len(samples) < MIN_SAMPLES or sample.at - samples[0].at < MIN_SPAN:
            return None  # too little to tell (a start, a gap): a warning stands until it can
        found = forecast(samples, self.crit_percent, self.horizon)
        if found is None:
            self._disks.pop(folder, None)
            self.disk.clear(folder, f"{folder} is no longer filling towards its limit")
            return None
        self._disks[folder] = found
        text = (
            f"at this rate {folder} is full in ~{english_eta(found.eta)} "
            f"(filling {human_bytes(round(found.rate_per_hour))}/h)"
        )
        fields = {
            "folder": folder,
            "eta_seconds": f"{found.eta.total_seconds():.0f}",
            "rate_per_hour": f"{found.rate_per_hour:.0f}",
        }
        self.disk.hold(folder, text, fields)
        return found

    def check_rates(self, now: datetime) -> dict[str, Unusual]:
        """Each rule's last ten minutes against its usual rate; raise or resolve."""
        since = self.trends.counting_since(now)
        first_hour = since.replace(minute=0, second=0, microsecond=0)
        if first_hour < since:
            first_hour += timedelta(hours=1)  # the hour counting began in is not whole
        start = max(first_hour, now - RATE_HISTORY)
        hot: dict[str, Unusual] = {}
        for rule, recent in sorted(self.trends.recent(now - RATE_WINDOW).items()):
            if rule in OWN_RULES:
                continue
            window = RATE_WINDOW.total_seconds() / 60
            found = unusual(self.trends.hourly(rule, start, now), recent, window_minutes=window)
            if found is not None:
                hot[rule] = found
        for rule, found in hot.items():
            text = (
                f"{rule} at {found.factor:.0f}× the usual rate "
                f"({found.per_hour:.0f} lines/h, usually {found.usual.mean:.1f})"
            )
            fields = {
                "rule": rule,
                "factor": f"{found.factor:.1f}",
                "per_hour": f"{found.per_hour:.0f}",
                "usual": f"{found.usual.mean:.1f}",
            }
            self.rate.hold(rule, text, fields)
        for rule in sorted(self.rate.raised() - hot.keys()):
            self.rate.clear(rule, f"{rule} is back to its usual rate")
        self._rates = hot
        return hot

    def outlook(self) -> Outlook | None:
        """The predictions in force, for /status; None when there is none."""
        if not self._disks and not self._rates:
            return None
        disks = tuple(DiskOutlook(f, fc) for f, fc in sorted(self._disks.items()))
        return Outlook(disks, tuple(sorted(self._rates.items())))
