"""The digest's chart: a real PNG of a sane size, whatever the data; matplotlib only when drawn."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from matplotlib.image import imread

from adminbot.digest.facts import ChartData
from adminbot.store.history import HourlyCounts
from adminbot.store.rows import UsageSample
from handlers.chart import _ticks, draw
from handlers.i18n import Catalog

UNTIL = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
SINCE = UNTIL - timedelta(hours=24)
MADRID = ZoneInfo("Europe/Madrid")


def busy_day(rules: int = 3) -> ChartData:
    by_rule = {f"rule_{n}": tuple((h * (n + 1)) % 5 for h in range(24)) for n in range(rules)}
    samples = tuple(UsageSample(SINCE + timedelta(minutes=30 * i), 50 + i, 200) for i in range(48))
    disks = {"/srv/descargas": samples, "/var/lib/adminbot": samples[:10]}
    return ChartData(SINCE, UNTIL, HourlyCounts(SINCE, 24, by_rule), disks)


def decoded(png: bytes) -> np.ndarray:
    return imread(io.BytesIO(png), format="png")


def test_the_chart_is_a_png_that_decodes_to_a_phone_sized_image() -> None:
    png = draw(busy_day(), Catalog("en"), MADRID)
    image = decoded(png)
    height, width = image.shape[:2]
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert 600 <= width <= 2000 and 400 <= height <= 2000
    assert image[..., :3].std() > 0.05  # something is drawn, not a blank canvas


def test_a_quiet_day_with_no_readings_still_draws_both_panels() -> None:
    empty = ChartData(SINCE, UNTIL, HourlyCounts(SINCE, 24, {}), {})
    image = decoded(draw(empty, Catalog("es"), MADRID))
    assert 600 <= image.shape[1] <= 2000


def test_many_types_and_a_long_window_still_draw() -> None:
    hours = 24 * 30
    by_rule = {f"rule_{n}": tuple(1 for _ in range(hours)) for n in range(12)}
    since = UNTIL - timedelta(hours=hours)
    data = ChartData(since, UNTIL, HourlyCounts(since, hours, by_rule), {})
    image = decoded(draw(data, Catalog("en"), MADRID))
    assert 600 <= image.shape[1] <= 2000


def test_the_time_axis_is_labelled_in_the_admins_clock_at_round_hours() -> None:
    ticks = _ticks(SINCE, UNTIL, MADRID)
    labels = [label for _, label in ticks]
    assert len(ticks) <= 13
    assert "30/11" in labels  # midnight in Madrid shows the date
    assert all(label.endswith(":00") or "/" in label for label in labels)
    assert ticks[0][0] >= SINCE and ticks[-1][0] <= UNTIL


def test_starting_the_bot_does_not_load_matplotlib() -> None:
    code = "import sys, adminbot.cli, handlers.app; print('matplotlib' in sys.modules)"
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "False"
