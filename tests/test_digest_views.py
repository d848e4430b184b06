"""The daily digest in words: short, scannable, escaped, in English and Spanish."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from adminbot.digest.facts import Count, DigestFacts, FixCount, OpenIncident
from adminbot.notify import notices
from handlers import layout, notice_views
from handlers.i18n import Catalog
from handlers.words import plain_text
from tests.telegram_html import parse_telegram_html

UNTIL = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def screen(language: str = "en") -> layout.Screen:
    return layout.Screen(Catalog(language), ZoneInfo("Europe/Madrid"), UNTIL)


def day(**changes: Any) -> DigestFacts:
    facts = DigestFacts(
        since=UNTIL - timedelta(hours=24),
        until=UNTIL,
        by_rule=(Count("timeout", 7, 30), Count("permisos", 3, 3)),
        by_host=(Count("srv<1>", 9), Count("srv2", 1)),
        fixes=(FixCount("retry", 6, 1), FixCount("mkdir", 2, 0)),
        still_open=2,
        open_by_rule=(Count("disco_lleno", 1), Count("timeout", 1)),
        top_open=(
            OpenIncident(41, "disco_lleno", "srv<1>", 120),
            OpenIncident(7, "timeout", "srv2", 3),
        ),
    )
    return replace(facts, **changes)


def shown(facts: DigestFacts, language: str = "en") -> str:
    text, markup = notice_views.notice(notices.DailyDigest(facts), screen(language))
    parse_telegram_html(text)  # raises on a bad tag or an unescaped "<" or "&"
    assert markup is None
    return plain_text(text)


def test_the_digest_names_the_window_in_the_admins_zone_and_counts_by_type_and_host() -> None:
    text = shown(day())
    assert "29/11 09:00 → 30/11 09:00" in text
    assert "10 incident(s) · 33 matching line(s)" in text
    assert "By type: timeout 7 · permisos 3" in text
    assert "By host: srv<1> 9 · srv2 1" in text


def test_the_digest_tells_fixes_by_kind_and_outcome_and_what_is_still_open() -> None:
    text = shown(day())
    assert "Fixes: 9 run · 8 ok · 1 failed" in text
    assert "• retry: 6 ok, 1 failed" in text and "• create folder: 2 ok, 0 failed" in text
    assert "Still open: 2 (disco_lleno 1 · timeout 1)" in text
    assert "• #41 disco_lleno ×120 on srv<1>" in text


def test_the_digest_is_short_enough_to_read_on_a_phone() -> None:
    text = shown(day())
    assert len(text.splitlines()) <= 12
    assert max(len(line) for line in text.splitlines()) <= 80


def test_a_quiet_day_says_so_in_one_line() -> None:
    text = shown(day(by_rule=(), by_host=(), fixes=(), still_open=0, open_by_rule=(), top_open=()))
    assert text.splitlines()[1:] == ["✅ A quiet day: no incident, no fix.", "📌 Nothing is open."]


def test_many_types_are_cut_to_the_biggest_with_a_count_of_the_rest() -> None:
    many = tuple(Count(f"rule{n}", 10 - n, 10 - n) for n in range(9))
    assert "…and 3 more" in shown(day(by_rule=many))


def test_the_digest_and_the_charts_caption_speak_spanish() -> None:
    text = shown(day(), "es")
    assert "Resumen del día" in text and "Por servidor: srv<1> 9" in text
    assert "• reintento: 6 bien, 1 fallidos" in text
    caption, _ = notice_views.notice(
        notices.DigestChart(UNTIL - timedelta(hours=24), UNTIL), screen("es")
    )
    assert "incidencias nuevas por hora" in caption
