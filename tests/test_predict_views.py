"""The predictions in the admin's words: the alert's line and /status, in English and Spanish."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adminbot.models import Severity
from adminbot.predict.diskfill import FillForecast
from adminbot.predict.rate import Unusual, Usual
from adminbot.predict.watch import DiskOutlook, Outlook
from handlers import alert_views, status_views
from handlers.i18n import Catalog
from handlers.predict_views import eta
from tests.test_views import incident, report, screen, visible

GiB = 2**30
DISK_FIELDS = {"folder": "/srv/descargas", "eta_seconds": "7800", "rate_per_hour": str(1.2 * GiB)}
RATE_FIELDS = {"rule": "timeout", "factor": "8.2", "per_hour": "168", "usual": "6.0"}


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "at this rate /srv/descargas is full in ~2 h 10 min (filling 1.2 GB/h)"),
        ("es", "a este ritmo /srv/descargas se llena en ~2 h 10 min (se llena a 1.2 GB/h)"),
    ],
)
def test_a_disk_forecast_alert_says_when_the_folder_is_full_and_how_fast(
    language: str, expected: str
) -> None:
    warning = incident(rule="disco_previsto", severity=Severity.WARNING, fields=DISK_FIELDS)
    text, _ = alert_views.alert(warning, screen(language), [])
    assert expected in visible(text).splitlines()


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "timeout at 8× the usual rate (168 lines/h, usually 6.0)"),
        ("es", "timeout a 8× su ritmo habitual (168 líneas/h, lo habitual 6.0)"),
    ],
)
def test_an_unusual_rate_alert_says_how_many_times_the_usual(language: str, expected: str) -> None:
    warning = incident(rule="ritmo_inusual", severity=Severity.WARNING, fields=RATE_FIELDS)
    text, _ = alert_views.alert(warning, screen(language), [])
    assert expected in visible(text).splitlines()


def test_an_alert_of_another_rule_has_no_prediction_line() -> None:
    text, _ = alert_views.alert(incident(), screen(), [])
    assert "at this rate" not in visible(text)


def test_status_lists_the_forecasts_in_force() -> None:
    fill = FillForecast(timedelta(minutes=130), 1.2 * GiB, 92 * GiB, 95 * GiB)
    hot = Unusual(8.0, 48.0, Usual(6.0, 0.0, 30))
    outlook = Outlook((DiskOutlook("/srv/descargas", fill),), (("timeout", hot),))
    lines = visible(status_views.status(report(extra=[outlook]), screen())).splitlines()
    title = lines.index("Forecast")
    assert lines[title + 1] == (
        "• at this rate /srv/descargas is full in ~2 h 10 min (filling 1.2 GB/h)"
    )
    assert lines[title + 2] == "• timeout at 8× the usual rate (48 lines/h, usually 6.0)"


def test_a_short_eta_is_in_minutes_and_a_round_one_in_hours() -> None:
    assert eta(timedelta(minutes=45), Catalog("en")) == "45 min"
    assert eta(timedelta(hours=3), Catalog("es")) == "3 h"
