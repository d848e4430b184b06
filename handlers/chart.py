"""The digest's chart as a PNG: new incidents per hour by type, over disk usage per folder.

matplotlib is imported only when a chart is drawn, never at start: it costs tens of
megabytes and a noticeable start-up time, and most runs draw a chart once a day if
at all. The figure is built directly on the Agg canvas (no pyplot), so drawings share
no global state and need no display. Labels come from the catalog; times are shown in
the admin's zone.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from adminbot.digest.facts import ChartData
from adminbot.store.history import HourlyCounts
from adminbot.store.rows import UsageSample
from handlers.i18n import Catalog

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WIDTH_INCHES, HEIGHT_INCHES, DPI = 10.0, 7.0, 100
"""1000 × 700 px: readable on a phone, sharp enough when zoomed."""
MAX_TYPES = 6
"""Types drawn in their own colour; the rest are stacked as "other types"."""
MAX_BARS = 168
"""More hours than this (a week) are drawn as bars of several hours each."""
MAX_POINTS = 600
"""Disk readings drawn per folder; more are thinned evenly."""
FOLDER_CHARS = 40


def draw(data: ChartData, t: Catalog, zone: ZoneInfo) -> bytes:
    """The chart of `data` as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True)
    _incidents(top, data.hourly, data.since, t)
    _disks(bottom, data.disks, data.since, t)
    _time_axis(bottom, data.since, data.until, t, zone)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _incidents(axes: Axes, hourly: HourlyCounts, since: datetime, t: Catalog) -> None:
    from matplotlib.ticker import MaxNLocator

    step = max(1, math.ceil(hourly.hours / MAX_BARS))
    title = t("chart.incidents") if step == 1 else t("chart.incidents_hours", hours=step)
    axes.set_title(title, loc="left", fontsize=11)
    if hourly.total == 0:
        _empty(axes, t("chart.no_incidents"))
        return
    series = _top_series(hourly.by_rule, t("chart.others"))
    starts = [_hours(hourly.hour(i), since) for i in range(0, hourly.hours, step)]
    below = [0] * len(starts)
    for name, counts in series.items():
        binned = [sum(counts[i : i + step]) for i in range(0, hourly.hours, step)]
        axes.bar(starts, binned, width=step * 0.85, bottom=below, align="edge", label=name)
        below = [b + n for b, n in zip(below, binned, strict=True)]
    axes.set_ylim(0, max(below) * 1.15 + 0.5)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="upper left", fontsize=8, ncols=min(4, len(series)), frameon=False)


def _top_series(by_rule: Mapping[str, Sequence[int]], others: str) -> dict[str, list[int]]:
    """The types with the most incidents, each on its own; the rest summed as `others`."""
    ranked = sorted(by_rule.items(), key=lambda item: (-sum(item[1]), item[0]))
    series = {rule: list(counts) for rule, counts in ranked[:MAX_TYPES]}
    rest = [counts for _, counts in ranked[MAX_TYPES:]]
    if rest:
        series[others] = [sum(column) for column in zip(*rest, strict=True)]
    return series


def _disks(
    axes: Axes, disks: Mapping[str, Sequence[UsageSample]], since: datetime, t: Catalog
) -> None:
    axes.set_title(t("chart.disk"), loc="left", fontsize=11)
    drawn = {folder: samples for folder, samples in sorted(disks.items()) if samples}
    if not drawn:
        _empty(axes, t("chart.no_disk"))
        return
    for folder, samples in drawn.items():
        stride = max(1, math.ceil(len(samples) / MAX_POINTS))
        shown = samples[::stride]
        percent = [100.0 * s.used / s.total if s.total else 0.0 for s in shown]
        hours = [_hours(s.at, since) for s in shown]
        axes.plot(hours, percent, linewidth=1.5, label=_short(folder))
    axes.set_ylim(0, 100)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left", fontsize=8, frameon=False)


def _time_axis(axes: Axes, since: datetime, until: datetime, t: Catalog, zone: ZoneInfo) -> None:
    """Hours from the window's start on the axis, labelled with the admin's clock times."""
    axes.set_xlim(0, _hours(until, since))
    ticks = _ticks(since, until, zone)
    axes.set_xticks([_hours(at, since) for at, _ in ticks], [label for _, label in ticks])
    axes.tick_params(axis="x", labelsize=8)
    axes.set_xlabel(t("chart.time", zone=zone.key), fontsize=9)


TICK_STEPS = (1, 2, 3, 6, 12, 24, 48, 7 * 24, 28 * 24)
MAX_TICKS = 12
QUARTER = timedelta(minutes=15)


def _ticks(since: datetime, until: datetime, zone: ZoneInfo) -> list[tuple[datetime, str]]:
    """Round local times across the window, about MAX_TICKS of them: "06:00", and the
    date at midnight ("30/11"); over longer windows, midnights only."""
    span = _hours(until, since)
    step = next((s for s in TICK_STEPS if span / s <= MAX_TICKS), TICK_STEPS[-1])
    if step >= 24:
        return _midnights(since, until, zone, step // 24)
    start = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    quarters = (start + i * QUARTER for i in range(int(span * 4) + 8))  # zones off by 30/45 min
    ticks = []
    for at in quarters:
        local = at.astimezone(zone)
        if since <= at <= until and local.minute == 0 and local.hour % step == 0:
            ticks.append((at, local.strftime("%d/%m" if local.hour == 0 else "%H:%M")))
    return ticks


def _midnights(
    since: datetime, until: datetime, zone: ZoneInfo, every: int
) -> list[tuple[datetime, str]]:
    ticks = []
    day = since.astimezone(zone).date()
    while (midnight := datetime.combine(day, time(0), tzinfo=zone)) <= until:
        if midnight >= since and day.toordinal() % every == 0:
            ticks.append((midnight, midnight.strftime("%d/%m")))
        day += timedelta(days=1)
    return ticks


def _hours(moment: datetime, since: datetime) -> float:
    return (moment - since) / timedelta(hours=1)


def _empty(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, alpha=0.6)
    axes.set_yticks([])


def _short(folder: str) -> str:
    """A long path keeps its end, which names the folder."""
    return folder if len(folder) <= FOLDER_CHARS else "…" + folder[-(FOLDER_CHARS - 1) :]
