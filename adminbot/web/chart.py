"""The overview's chart as numbers: stacked bars of new incidents per hour, by type.

Pure: counts in, rectangles out; the template draws them as inline SVG, so the page
needs no script library and no internet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo

from markupsafe import Markup, escape

from adminbot.store.history import HourlyCounts

HOURS = 24
WIDTH = 720
HEIGHT = 160
PALETTE = (
    "#d9480f",
    "#1971c2",
    "#2f9e44",
    "#9c36b5",
    "#e67700",
    "#0c8599",
    "#c2255c",
    "#5c940d",
)


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    legend: tuple[tuple[str, str], ...]
    labels: tuple[tuple[float, str], ...]
    peak: int


def hourly_chart(counts: HourlyCounts, zone: tzinfo = UTC) -> Chart:
    """One bar per hour of `counts`, one colour per rule, the busiest hour full height."""
    rules = sorted(counts.by_rule)
    colors = {rule: PALETTE[i % len(PALETTE)] for i, rule in enumerate(rules)}
    totals = [sum(series[i] for series in counts.by_rule.values()) for i in range(counts.hours)]
    peak = max(totals, default=0)
    slot = WIDTH / counts.hours
    bars: list[Bar] = []
    labels: list[tuple[float, str]] = []
    for index in range(counts.hours):
        base = float(HEIGHT)
        local = counts.hour(index).astimezone(zone)
        if index % 3 == 0:
            labels.append((index * slot + slot / 2, local.strftime("%H:00")))
        for rule in rules:
            n = counts.by_rule[rule][index]
            if not n or not peak:
                continue
            height = HEIGHT * n / peak
            base -= height
            title = f"{local:%H:00} {rule}: {n}"
            bars.append(Bar(index * slot + 2, base, slot - 4, height, colors[rule], title))
    return Chart(
        WIDTH,
        HEIGHT,
        tuple(bars),
        tuple((rule, colors[rule]) for rule in rules),
        tuple(labels),
        peak,
    )


def svg(chart: Chart, label: str) -> Markup:
    """The chart as inline SVG markup; rule names and the label are escaped.

    Built here rather than in the template: a few hundred bars are a few string
    joins, not thousands of template steps."""
    height = chart.height
    parts = [
        f'<svg class="chart" viewBox="0 0 {chart.width} {height + 20}" role="img" '
        f'aria-label="{escape(label)}">',
        f'<line x1="0" y1="{height}" x2="{chart.width}" y2="{height}" stroke="#888"/>',
    ]
    parts.extend(
        f'<rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.width:.1f}" height="{b.height:.1f}" '
        f'fill="{b.color}"><title>{escape(b.title)}</title></rect>'
        for b in chart.bars
    )
    parts.extend(
        f'<text x="{x:.1f}" y="{height + 15}" text-anchor="middle">{escape(text)}</text>'
        for x, text in chart.labels
    )
    if chart.peak:
        parts.append(f'<text x="4" y="12">{chart.peak}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
