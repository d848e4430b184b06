"""The dashboard's forms over ASGI: maintenance windows, mute choices, making a rule of a kind.

Each form goes through the same core function as its Telegram command or button, so
what the page does is what /maintenance, the Mute choices and Make rule do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from adminbot.incidents.maintenance import Origin
from adminbot.incidents.schedule import Scope
from adminbot.models import IncidentState, Match, Record, Severity, frozen_map
from adminbot.rules.builtin import NUEVO_TIPO
from adminbot.service.upkeep import start_maintenance
from adminbot.store.kinds import KindState, Sighting
from adminbot.store.sqlite import Store
from adminbot.store.userrules import UserRule, UserRuleStore
from adminbot.web.words import EN
from tests.web_site import OWNER, RESPONDER, VIEWER, Site, open_site

EVERY_DAY = '[[maintenance]]\nfrom = "00:00"\nto = "23:59"\ntypes = ["timeout"]\n'
TEMPLATE = "Download of <NUM> failed: quota exceeded for <PATH>"
SAMPLES = (
    "Download of 7 failed: quota exceeded for /srv/a.mp4",
    "Download of 12 failed: quota exceeded for /srv/b.mp4",
)


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with open_site(tmp_path, extra=EVERY_DAY) as opened:
        yield opened


# -- maintenance -------------------------------------------------------------------------


async def test_the_page_lists_scheduled_and_ad_hoc_windows_with_scope_and_end(
    site: Site,
) -> None:
    start_maintenance(site.runtime, timedelta(hours=2), Scope(hosts=frozenset({"web1"})), "@ann")
    await site.login(VIEWER)

    page = await site.client.get("/mutes")

    assert page.status_code == 200
    assert 'data-origin="scheduled"' in page.text and 'data-origin="adhoc"' in page.text
    assert "timeout" in page.text and "web1" in page.text and "@ann" in page.text
    assert site.pages.when(site.clock.now + timedelta(hours=2)) in page.text


async def test_a_responder_starts_a_window_from_the_page_as_maintenance_would(
    site: Site,
) -> None:
    await site.login(RESPONDER)
    token = await site.csrf()

    answer = await site.client.post(
        "/maintenance/start",
        data={"csrf": token, "duration": "2h", "type": "timeout", "host": "web1"},
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == "/mutes?done=maintenance_started"
    [window] = [w for w in site.runtime.noise.maintenance.active() if w.origin is Origin.ADHOC]
    assert window.scope == Scope(frozenset({"timeout"}), frozenset({"web1"}))
    assert window.ends == site.clock.now + timedelta(hours=2)
    assert window.by == f"web · id {RESPONDER}"
    shown = await site.client.get(answer.headers["location"])
    assert EN["done.maintenance_started"] in shown.text
    assert f'data-window="{window.id}"' in shown.text


async def test_a_window_longer_than_a_week_is_cut_to_a_week(site: Site) -> None:
    await site.login(OWNER)
    token = await site.csrf()

    await site.client.post("/maintenance/start", data={"csrf": token, "duration": "30d"})

    [window] = [w for w in site.runtime.noise.maintenance.active() if w.origin is Origin.ADHOC]
    assert window.ends == site.clock.now + timedelta(days=7)


async def test_a_malformed_duration_or_unknown_type_starts_nothing(site: Site) -> None:
    await site.login(OWNER)
    token = await site.csrf()

    bad = await site.client.post("/maintenance/start", data={"csrf": token, "duration": "soon"})
    unknown = await site.client.post(
        "/maintenance/start", data={"csrf": token, "duration": "1h", "type": "no_such_rule"}
    )

    assert bad.headers["location"] == unknown.headers["location"] == "/mutes?done=maintenance_bad"
    assert all(w.origin is Origin.SCHEDULED for w in site.runtime.noise.maintenance.active())


async def test_ending_from_the_page_ends_the_ad_hoc_windows_and_queues_their_summary(
    site: Site,
) -> None:
    start_maintenance(site.runtime, timedelta(hours=2), Scope(), "@ann")
    await site.login(OWNER)
    token = await site.csrf()
    page = await site.client.get("/mutes")

    answer = await site.client.post("/maintenance/end", data={"csrf": token})

    assert 'action="/maintenance/end"' in page.text
    assert answer.headers["location"] == "/mutes?done=maintenance_ended"
    assert [w.origin for w in site.runtime.noise.maintenance.active()] == [Origin.SCHEDULED]
    due = site.runtime.store.due(site.clock.now + timedelta(days=1), limit=100)
    assert any(item.payload.get("kind") == "maintenance_over" for item in due)


async def test_a_viewer_sees_no_maintenance_form_and_a_forged_start_is_refused(
    site: Site,
) -> None:
    await site.login(VIEWER)
    token = await site.csrf()

    page = await site.client.get("/mutes")
    answer = await site.client.post("/maintenance/start", data={"csrf": token, "duration": "1h"})
    ended = await site.client.post("/maintenance/end", data={"csrf": token})

    assert 'id="maintenance-form"' not in page.text
    assert answer.status_code == ended.status_code == 403
    assert all(w.origin is Origin.SCHEDULED for w in site.runtime.noise.maintenance.active())


async def test_starting_a_window_without_the_csrf_token_changes_nothing(site: Site) -> None:
    await site.login(OWNER)

    answer = await site.client.post("/maintenance/start", data={"duration": "1h"})

    assert answer.status_code == 403
    assert all(w.origin is Origin.SCHEDULED for w in site.runtime.noise.maintenance.active())


# -- mute choices ------------------------------------------------------------------------


async def test_mute_offers_one_eight_and_twenty_four_hours_and_mutes_for_the_choice(
    site: Site,
) -> None:
    incident = site.incident()
    await site.login(RESPONDER)
    token = await site.csrf()

    page = await site.client.get(f"/incidents/{incident.id}")
    answer = await site.client.post(
        f"/incidents/{incident.id}/act", data={"verb": "mute", "hours": "8", "csrf": token}
    )
    odd = await site.client.post(
        f"/incidents/{incident.id}/act", data={"verb": "mute", "hours": "5", "csrf": token}
    )

    assert [EN["btn.mute_for"].format(hours=h) in page.text for h in (1, 8, 24)] == [True] * 3
    assert answer.headers["location"] == f"/incidents/{incident.id}?done=muted"
    until = site.runtime.book.muted_until(incident.rule, incident.key)
    assert until == site.clock.now + timedelta(hours=8)
    assert odd.headers["location"] == f"/incidents/{incident.id}?done=bad_mute"


# -- make rule ---------------------------------------------------------------------------


def _stored(site: Site) -> list[UserRule]:
    assert isinstance(site.runtime.store, Store)
    return UserRuleStore(site.runtime.store).all()


def _kind(site: Site) -> int:
    sighting = Sighting(None, TEMPLATE, 2, SAMPLES, "/log/bot.log")
    [kind_id] = site.runtime.kinds.record([sighting], site.clock.now)
    return kind_id


def _kind_alert(site: Site, kind_id: int) -> int:
    record = Record("/log/bot.log", 1, SAMPLES[0])
    match = Match(NUEVO_TIPO.name, Severity.WARNING, record, frozen_map({}), str(kind_id))
    [event] = site.runtime.intake.submit([match])
    return event.incident.id


async def test_the_form_shows_the_pattern_drafted_from_the_kinds_template(site: Site) -> None:
    kind_id = _kind(site)
    await site.login(RESPONDER)

    rules = await site.client.get("/rules")
    form = await site.client.get(f"/kinds/{kind_id}/rule")
    drafted = site.runtime.rule_maker.draft(kind_id).proposal

    assert f'href="/kinds/{kind_id}/rule"' in rules.text
    assert drafted is not None
    assert f'value="{drafted.name}"' in form.text
    assert drafted.pattern.replace("<", "&lt;").replace(">", "&gt;") in form.text
    assert 'id="rule-preview"' in form.text


async def test_an_edited_rule_is_checked_then_made_in_force_and_the_kinds_alert_closes(
    site: Site,
) -> None:
    kind_id = _kind(site)
    alert_id = _kind_alert(site, kind_id)
    await site.login(OWNER)
    token = await site.csrf()
    edit = {
        "csrf": token,
        "name": "quota_exceeded",
        "pattern": r"Download of \d+ failed: quota exceeded",
        "severity": "critical",
    }

    checked = await site.client.post(f"/kinds/{kind_id}/rule", data={**edit, "do": "check"})
    made = await site.client.post(f"/kinds/{kind_id}/rule", data={**edit, "do": "make"})

    assert checked.status_code == 200
    assert EN["rule.preview"].split("{")[0] in checked.text
    assert made.headers["location"] == "/rules?done=rule_made"
    [stored] = _stored(site)
    assert (stored.name, stored.severity) == ("quota_exceeded", Severity.CRITICAL)
    assert stored.created_by == f"web · id {OWNER}"
    assert site.runtime.rules["quota_exceeded"].pattern == edit["pattern"]
    found = site.runtime.kinds.get(kind_id)
    assert found is not None and found.state is KindState.RULED
    alert = site.runtime.store.incident(alert_id)
    assert alert is not None and alert.state is IncidentState.RESOLVED


@pytest.mark.parametrize(
    ("name", "pattern", "refusal"),
    [
        ("quota", "Download of (", "bad_pattern"),
        ("Quota!", "quota exceeded", "bad_name"),
        ("timeout", "quota exceeded", "name_taken"),
        ("quota", "quota exceeded for /srv/a", "misses_sample"),
        ("quota", ".*", "bad_pattern"),
    ],
)
async def test_a_rule_that_does_not_hold_is_refused_with_why_and_nothing_is_made(
    site: Site, name: str, pattern: str, refusal: str
) -> None:
    kind_id = _kind(site)
    await site.login(OWNER)
    token = await site.csrf()

    answer = await site.client.post(
        f"/kinds/{kind_id}/rule",
        data={"csrf": token, "name": name, "pattern": pattern, "severity": "error", "do": "make"},
    )

    assert answer.status_code == 400
    assert f'data-refusal="{refusal}"' in answer.text
    assert _stored(site) == []
    found = site.runtime.kinds.get(kind_id)
    assert found is not None and found.state is KindState.NEW


async def test_a_viewer_gets_no_make_rule_form_and_a_forged_post_is_refused(site: Site) -> None:
    kind_id = _kind(site)
    await site.login(VIEWER)
    token = await site.csrf()

    rules = await site.client.get("/rules")
    form = await site.client.get(f"/kinds/{kind_id}/rule")
    forged = await site.client.post(
        f"/kinds/{kind_id}/rule",
        data={"csrf": token, "name": "q", "pattern": "quota exceeded", "do": "make"},
    )

    assert f"/kinds/{kind_id}/rule" not in rules.text
    assert form.status_code == forged.status_code == 403
    assert _stored(site) == []


async def test_making_a_rule_without_the_csrf_token_changes_nothing(site: Site) -> None:
    kind_id = _kind(site)
    await site.login(OWNER)

    answer = await site.client.post(
        f"/kinds/{kind_id}/rule", data={"name": "q", "pattern": "quota exceeded", "do": "make"}
    )

    assert answer.status_code == 403
    assert _stored(site) == []
