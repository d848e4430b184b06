"""Noise control's words: thresholds, maintenance lists and summaries, ignored lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from adminbot.incidents.maintenance import KeyTally, Origin, RuleTally, Window
from adminbot.incidents.schedule import Scope
from adminbot.notify.notices import MaintenanceOver
from adminbot.rules.threshold import Threshold
from adminbot.store.noise import Ignored
from handlers import noise_views
from handlers.i18n import Catalog
from handlers.layout import Screen

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def screen(language: str = "en") -> Screen:
    return Screen(Catalog(language), ZoneInfo("UTC"), NOW)


@pytest.mark.parametrize(
    ("window", "shown"),
    [
        (timedelta(minutes=10), "10 min"),
        (timedelta(hours=1), "1 h"),
        (timedelta(minutes=90), "90 min"),
        (timedelta(seconds=45), "45 s"),
        (timedelta(days=2), "2 d"),
    ],
)
def test_a_threshold_reads_as_count_in_window(window: timedelta, shown: str) -> None:
    line = noise_views.threshold_line(Threshold(5, window), Catalog("en"))
    assert line.endswith(f"5 in {shown}")


def test_a_threshold_reads_in_spanish() -> None:
    line = noise_views.threshold_line(Threshold(5, timedelta(minutes=10)), Catalog("es"))
    assert line.endswith("5 en 10 min")


def test_the_summary_escapes_rules_keys_and_hosts() -> None:
    over = MaintenanceOver(
        "adhoc",
        NOW - timedelta(minutes=30),
        NOW,
        (),
        ("<web>",),
        (RuleTally("timeout", 2, 5),),
        (KeyTally("timeout", "<b>file</b>", 4),),
    )
    text = noise_views.maintenance_over(over, screen())
    assert "&lt;web&gt;" in text and "&lt;b&gt;file&lt;/b&gt;" in text
    assert "all types on &lt;web&gt;" in text
    assert "2 new incident(s), 3 repeat(s)" in text


def test_a_window_where_nothing_happened_says_so() -> None:
    over = MaintenanceOver("scheduled", NOW - timedelta(hours=1), NOW, ("timeout",), (), (), ())
    assert "Nothing happened meanwhile" in noise_views.maintenance_over(over, screen())
    assert "No ha pasado nada" in noise_views.maintenance_over(over, screen("es"))


def test_the_list_tells_when_each_window_ends() -> None:
    window = Window(1, Origin.ADHOC, NOW, NOW + timedelta(minutes=30), Scope(), "Ana")
    text = noise_views.maintenance_list([window], screen())
    assert "all types until 10:30:00 (30m left)" in text
    assert noise_views.maintenance_list([], screen()) == "No maintenance window is open."


def test_errors_shows_ignored_lines_under_its_title_for_the_rule_asked() -> None:
    ignored = Ignored({"permisos": 12, "timeout": 3}, NOW - timedelta(minutes=5))
    text = noise_views.with_ignored("<b>Incidents</b>\n#1", ignored, None, screen())
    assert text.split("\n")[1] == "🙈 15 line(s) ignored by [[ignore]] · last 5m ago"
    only = noise_views.with_ignored("No incidents.", ignored, "permisos", screen())
    assert "12 line(s)" in only
    assert noise_views.with_ignored("x", Ignored({}, None), None, screen()) == "x"


def test_status_shows_open_windows_under_its_title() -> None:
    window = Window(1, Origin.SCHEDULED, NOW, NOW + timedelta(hours=1), Scope(), "schedule")
    text = noise_views.with_maintenance("<b>Status</b> · up 1h\n\nfiles", [window], screen())
    assert text.split("\n")[1].startswith("🛠 Maintenance until 11:00:00 for all types")
    assert noise_views.with_maintenance("<b>Status</b>", [], screen()) == "<b>Status</b>"
