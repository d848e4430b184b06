"""The dashboard over ASGI: login links, sessions, CSRF, roles, pages from store data.

The real core (store, book, remedies, outbox) on a fake clock; httpx speaks to the
same ASGI app the listener serves, on the test's own event loop.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from adminbot.models import IncidentState
from adminbot.notify.outbox import UPDATE
from adminbot.service.runtime import Edges, Runtime, build_runtime
from adminbot.service.weblinks import Refusal
from adminbot.web.app import COOKIE
from adminbot.web.build import dashboard
from adminbot.web.words import EN, ES
from tests.web_site import BASE, OWNER, RESPONDER, STRANGER, VIEWER, Site, open_site, web_config


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with open_site(tmp_path) as opened:
        yield opened


async def test_a_login_link_sets_a_strict_http_only_cookie_and_opens_the_overview(
    site: Site,
) -> None:
    site.incident("disco_lleno")

    answer = await site.login()

    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Secure" not in cookie
    page = await site.client.get("/")
    assert page.status_code == 200
    assert "disco_lleno" in page.text
    assert EN["overview.open"] in page.text


async def test_no_page_or_partial_answers_without_a_session(site: Site) -> None:
    assert (await site.client.get("/")).status_code == 401
    assert (await site.client.get("/incidents")).status_code == 401
    assert (await site.client.get("/live/version")).status_code == 401
    assert (await site.client.get("/live/open")).status_code == 401
    assert (await site.client.get("/live/hosts")).status_code == 401
    assert (await site.client.post("/incidents/1/act", data={"verb": "ignore"})).status_code == 401


async def test_healthz_stays_open_next_to_the_pages(site: Site) -> None:
    answer = await site.client.get("/healthz")

    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


async def test_an_expired_link_is_refused(site: Site) -> None:
    assert site.runtime.web_links is not None
    link = site.runtime.web_links.mint(OWNER)
    site.clock.advance(10 * 60 + 1)

    answer = await site.client.get(link.removeprefix(BASE))

    assert answer.status_code == 403
    assert EN["login.expired"] in answer.text
    assert COOKIE not in answer.headers.get("set-cookie", "")


async def test_a_link_opens_one_session_only(site: Site) -> None:
    assert site.runtime.web_links is not None
    path = site.runtime.web_links.mint(OWNER).removeprefix(BASE)
    assert (await site.client.get(path)).status_code == 303

    again = await site.client.get(path)

    assert again.status_code == 403
    assert EN["login.used"] in again.text


async def test_a_used_link_stays_used_after_a_restart(tmp_path: Path) -> None:
    config = web_config(tmp_path)
    first, _ = build_runtime(config, Edges(checks=[]))
    assert first.web_links is not None
    link = first.web_links.mint(OWNER)
    assert not isinstance(first.web_links.accept(_token(link)), Refusal)
    _close(first)

    again, _ = build_runtime(config, Edges(checks=[]))
    try:
        assert again.web_links is not None
        assert again.web_links.accept(_token(link)) is Refusal.USED
        assert not isinstance(again.web_links.accept(_token(again.web_links.mint(OWNER))), Refusal)
    finally:
        _close(again)


def test_used_links_are_forgotten_once_they_would_have_expired(tmp_path: Path) -> None:
    from adminbot.store.logins import UsedLogins
    from adminbot.store.sqlite import Store

    used = UsedLogins(Store(tmp_path / "s.sqlite3"))

    assert used.claim("a", expires=100, now=50)
    assert not used.claim("a", expires=100, now=60)
    assert used.claim("b", expires=300, now=100)
    assert used.count() == 1


def _token(link: str) -> str:
    return urlsplit(link).query.removeprefix("t=")


def _close(runtime: Runtime) -> None:
    runtime.intake.events.close()
    runtime.store.close()
    if runtime.lock is not None:
        runtime.lock.release()


async def test_a_tampered_link_is_refused(site: Site) -> None:
    assert site.runtime.web_links is not None
    path = site.runtime.web_links.mint(OWNER).removeprefix(BASE)
    forged = path.replace("t=", "t=A", 1)

    answer = await site.client.get(forged)

    assert answer.status_code == 403
    assert EN["login.invalid"] in answer.text


async def test_a_link_for_someone_not_configured_is_refused(site: Site) -> None:
    answer = await site.login(STRANGER)

    assert answer.status_code == 403
    assert EN["login.not_allowed"] in answer.text


async def test_a_forged_cookie_opens_nothing(site: Site) -> None:
    site.client.cookies.set(COOKIE, "eyJ1Ijo0MjQyfQ.bm90LWEtbWFj")

    assert (await site.client.get("/")).status_code == 401


async def test_a_post_without_the_csrf_token_changes_nothing(site: Site) -> None:
    incident = site.incident()
    await site.login(RESPONDER)

    answer = await site.client.post(f"/incidents/{incident.id}/act", data={"verb": "ignore"})

    assert answer.status_code == 403
    assert site.state(incident) is IncidentState.OPEN


async def test_a_post_with_a_wrong_csrf_token_changes_nothing(site: Site) -> None:
    incident = site.incident()
    await site.login(RESPONDER)

    answer = await site.client.post(
        f"/incidents/{incident.id}/act", data={"verb": "ignore", "csrf": "guess"}
    )

    assert answer.status_code == 403
    assert site.state(incident) is IncidentState.OPEN


async def test_a_viewer_sees_no_action_buttons_and_a_forged_post_is_refused(site: Site) -> None:
    incident = site.incident()
    await site.login(VIEWER)
    token = await site.csrf()

    page = await site.client.get(f"/incidents/{incident.id}")
    answer = await site.client.post(
        f"/incidents/{incident.id}/act", data={"verb": "ignore", "csrf": token}
    )

    assert page.status_code == 200
    assert 'id="actions"' not in page.text
    assert "/act" not in page.text
    assert answer.status_code == 403
    assert EN["error.forbidden"] in answer.text
    assert site.state(incident) is IncidentState.OPEN


async def test_ignore_from_the_page_settles_the_incident_as_the_web_user_and_edits_the_alert(
    site: Site,
) -> None:
    incident = site.incident()
    site.runtime.outbox.alert(incident.id)
    site.all_sent()
    await site.login(RESPONDER)
    token = await site.csrf()

    answer = await site.client.post(
        f"/incidents/{incident.id}/act", data={"verb": "ignore", "csrf": token}
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == f"/incidents/{incident.id}?done=ignored"
    assert site.state(incident) is IncidentState.IGNORED
    assert site.runtime.store.transitions(incident.id)[-1].actor == f"web · id {RESPONDER}"
    due = site.runtime.store.due(site.clock.now + timedelta(days=1), limit=100)
    assert any(item.kind == UPDATE and item.incident_id == incident.id for item in due)
    shown = await site.client.get(answer.headers["location"])
    assert EN["done.ignored"] in shown.text
    assert f'data-state="{IncidentState.IGNORED.value}"' in shown.text


async def test_ack_and_mute_from_the_page_go_through_the_book(site: Site) -> None:
    incident = site.incident()
    await site.login(OWNER)
    token = await site.csrf()

    await site.client.post(f"/incidents/{incident.id}/act", data={"verb": "ack", "csrf": token})
    await site.client.post(f"/incidents/{incident.id}/act", data={"verb": "mute", "csrf": token})

    assert site.state(incident) is IncidentState.ACKNOWLEDGED
    assert site.runtime.book.muted_until(incident.rule, incident.key) is not None
    mutes = await site.client.get("/mutes")
    assert incident.key in mutes.text

    [target] = site.runtime.store.mutes()
    await site.client.post("/mutes/lift", data={"target": target, "csrf": token})
    assert site.runtime.store.mutes() == {}


async def test_a_fix_not_offered_is_refused_and_changes_nothing(site: Site) -> None:
    incident = site.incident()
    await site.login(OWNER)
    token = await site.csrf()

    answer = await site.client.post(
        f"/incidents/{incident.id}/act",
        data={"verb": "act", "kind": "restart_container", "csrf": token},
    )

    assert answer.headers["location"].endswith("done=unavailable")
    assert site.state(incident) is IncidentState.OPEN


async def test_log_text_is_escaped_on_every_page(site: Site) -> None:
    incident = site.incident(text="ERROR <script>alert(1)</script> & more")
    await site.login()

    page = await site.client.get(f"/incidents/{incident.id}")

    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page.text


async def test_incidents_filter_by_state_type_and_literal_text(site: Site) -> None:
    first = site.incident("permisos", text="ERROR 100% full /srv/a", path="/srv/a")
    site.incident("disco_lleno", text="ERROR 1000 full /srv/b", path="/srv/b")
    site.runtime.remedies.ignore(first.id, "@bob")
    await site.login()

    by_text = await site.client.get("/incidents", params={"q": "100%"})
    by_state = await site.client.get("/incidents", params={"state": "open"})
    by_rule = await site.client.get("/incidents", params={"rule": "permisos"})

    assert _ids(by_text.text) == [first.id]
    assert _ids(by_state.text) != [first.id] and first.id not in _ids(by_state.text)
    assert _ids(by_rule.text) == [first.id]


async def test_incidents_are_newest_first_and_paginated(site: Site) -> None:
    made = []
    for n in range(55):
        made.append(site.incident("permisos", text=f"ERROR file {n}", path=f"/srv/{n}.mp4"))
        site.runtime.book.move(made[-1].id, IncidentState.IGNORED, "@bob")
        site.clock.advance(1)
    await site.login()

    first = await site.client.get("/incidents")
    second = await site.client.get("/incidents", params={"page": "1"})

    assert _ids(first.text)[0] == made[-1].id
    assert len(_ids(first.text)) == 50
    assert _ids(second.text) == [i.id for i in reversed(made[:5])]


async def test_the_live_version_changes_when_an_incident_changes(site: Site) -> None:
    await site.login()
    before = (await site.client.get("/live/version")).json()["version"]

    incident = site.incident()
    after_new = (await site.client.get("/live/version")).json()["version"]
    site.runtime.remedies.ignore(incident.id, "@bob")
    after_state = (await site.client.get("/live/version")).json()["version"]

    assert len({before, after_new, after_state}) == 3
    rows = await site.client.get("/live/open")
    assert f'data-id="{incident.id}"' not in rows.text


async def test_audit_page_lists_state_changes_with_who(site: Site) -> None:
    incident = site.incident()
    site.runtime.remedies.resolve(incident.id, "@carol")
    await site.login()

    page = await site.client.get("/audit")

    assert "@carol" in page.text
    assert f"/incidents/{incident.id}" in page.text


async def test_pages_speak_spanish_when_configured(tmp_path: Path) -> None:
    config = replace(web_config(tmp_path), language="es")
    runtime, _ = build_runtime(config, Edges(checks=[]))
    pages = dashboard(runtime)
    transport = httpx.ASGITransport(app=pages.app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            assert runtime.web_links is not None
            await client.get(runtime.web_links.mint(OWNER).removeprefix(BASE))
            page = await client.get("/")
        assert ES["overview.open"] in page.text
        assert 'lang="es"' in page.text
    finally:
        runtime.intake.events.close()
        runtime.store.close()
        if runtime.lock is not None:
            runtime.lock.release()


def test_the_secure_flag_follows_an_https_public_url(tmp_path: Path) -> None:
    from adminbot.service.weblinks import LoginLinks

    config = web_config(tmp_path, 'enabled = true\npublic_url = "https://ops.example.org/"')
    links = LoginLinks(_Meta(), config, _Meta())

    assert links.secure
    assert links.mint(OWNER).startswith("https://ops.example.org/login?t=")


def test_web_words_have_every_key_in_english_and_spanish() -> None:
    assert set(EN) == set(ES)
    assert all(ES[key].strip() for key in ES)


class _Meta:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get_meta(self, key: str) -> str | None:
        return self.values.get(key)

    def set_meta(self, key: str, value: str) -> None:
        self.values[key] = value

    def claim(self, nonce: str, expires: int, now: float) -> bool:
        return self.values.setdefault(nonce, str(expires)) == str(expires)


def _ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-id="(\d+)"', html)]


async def test_pages_forbid_framing_foreign_scripts_and_referrers(site: Site) -> None:
    await site.login()

    page = await site.client.get("/")

    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "http" not in re.sub(r"https?://127\.0\.0\.1:\d+", "", page.text.split("<main>")[0])


def test_the_chart_stacks_rules_per_hour_with_the_busiest_hour_full_height() -> None:
    from datetime import UTC, datetime

    from adminbot.store.history import HourlyCounts
    from adminbot.web.chart import HEIGHT, hourly_chart, svg

    start = datetime(2026, 11, 29, 13, 0, tzinfo=UTC)
    a = [0] * 24
    a[5], a[23] = 2, 3
    b = [0] * 23 + [1]
    counts = HourlyCounts(start, 24, {"a": tuple(a), "b<x>": tuple(b)})

    chart = hourly_chart(counts)
    drawn = svg(chart, "label")

    assert chart.peak == 4
    assert sum(b.height for b in chart.bars if b.x > 600) == pytest.approx(HEIGHT)
    assert [rule for rule, _ in chart.legend] == ["a", "b<x>"]
    assert "b&lt;x&gt;" in drawn and "b<x>" not in drawn


def test_a_public_url_that_is_not_http_names_its_key(tmp_path: Path) -> None:
    from adminbot.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        web_config(tmp_path, 'enabled = true\npublic_url = "ftp://ops.example.org"')

    assert caught.value.key == "web.public_url"
    assert "http:// or https://" in caught.value.message


def test_web_is_off_by_default(tmp_path: Path) -> None:
    config = web_config(tmp_path, "")

    assert not config.web.enabled
    assert config.web.public_url is None


async def test_rules_page_lists_rules_and_a_new_kind_can_be_ignored_from_it(site: Site) -> None:
    from adminbot.store.kinds import KindState, Sighting

    sighting = Sighting(None, "Download of <ID> failed <X>", 3, ("Download of 7 failed",), "/l")
    [kind_id] = site.runtime.kinds.record([sighting], site.clock.now)
    await site.login(RESPONDER)
    token = await site.csrf()

    page = await site.client.get("/rules")
    answer = await site.client.post(f"/kinds/{kind_id}/ignore", data={"csrf": token})

    assert "disco_lleno" in page.text
    assert "Download of &lt;ID&gt; failed &lt;X&gt;" in page.text
    assert f'action="/kinds/{kind_id}/ignore"' in page.text
    assert answer.headers["location"] == "/rules?done=kind_ignored"
    found = site.runtime.kinds.get(kind_id)
    assert found is not None and found.state is KindState.IGNORED


def test_a_time_range_is_read_in_the_admins_zone() -> None:
    from zoneinfo import ZoneInfo

    from adminbot.web.filters import parse_query

    madrid = ZoneInfo("Europe/Madrid")
    query, page = parse_query(
        {"since": "2026-11-29T11:00", "until": "nonsense", "page": "x"}, madrid
    )

    assert query.since is not None
    assert query.since.utcoffset() == timedelta(hours=1)
    assert query.until is None
    assert page == 0
