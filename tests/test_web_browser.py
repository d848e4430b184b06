"""The dashboard in a real headless Chromium against the running bot and the fake Bot API.

/dashboard in the chat gives a link; the page shows incidents live, acts through the
same path as the buttons (the alert in the chat is edited), and refuses what it must.
Screenshots go to $ADMINBOT_SCREENSHOTS when set (`make screenshots` writes docs/).
"""

from __future__ import annotations

import html
import os
import re
import socket
import time
from datetime import timedelta
from pathlib import Path

from adminbot.clock import utcnow
from adminbot.models import Origin, Severity
from adminbot.service.weblinks import LoginLinks
from adminbot.store.hosts import HostBeat, HostStore
from adminbot.store.logins import UsedLogins
from adminbot.store.rows import UsageSample
from adminbot.store.sqlite import Store
from adminbot.store.trends import TrendStore
from adminbot.web.words import EN
from tests.browser import chromium
from tests.fake_telegram import FakeTelegram
from tests.harness import (
    ADMIN,
    append,
    delivered_alerts,
    eventually,
    make_config,
    pipeline_log,
    running_bot,
)

VIEWER = 6161
DISK_FULL = "2026-11-29 10:00:02,000 ERROR descargas: OSError: [Errno 28] No space left on device"
PERMISSION = (
    "2026-11-29 10:00:01,123 ERROR descargas: PermissionError: [Errno 13] "
    "Permission denied: '/srv/<b>a</b>.mp4'"
)
LIVE_WITHIN = 2.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(tmp_path: Path, fake: FakeTelegram):
    toml = f"[web]\nenabled = true\n[http]\nport = {_free_port()}\n[access]\nviewers = [{VIEWER}]\n"
    return make_config(tmp_path, fake, toml)


async def _link(fake: FakeTelegram, user_id: int) -> str:
    mark = fake.mark()
    fake.send_text(user_id, "/dashboard")
    call = await fake.await_call(
        "sendMessage",
        lambda c: (
            c.params.get("chat_id") in (user_id, str(user_id)) and "/login?t=" in c.params["text"]
        ),
        since=mark,
    )
    found = re.search(r'href="([^"]+)"', call.params["text"])
    assert found is not None
    return html.unescape(found.group(1))


def _shot_dir(tmp_path: Path) -> Path:
    return Path(os.environ.get("ADMINBOT_SCREENSHOTS") or tmp_path)


async def test_dashboard_link_opens_the_overview_shows_errors_live_and_ignore_edits_the_alert(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    log = pipeline_log(tmp_path)
    async with running_bot(_config(tmp_path, fake_telegram)) as (_, runtime), chromium() as browser:
        append(log, PERMISSION)
        await fake_telegram.await_call("sendMessage", lambda c: "permisos" in c.params["text"])
        link = await _link(fake_telegram, ADMIN)
        page = await browser.new_page(viewport={"width": 1200, "height": 900})
        await eventually(lambda: runtime.tracker.current())  # the picture shows the checks

        await page.goto(link)
        assert (await page.inner_text("h2 >> nth=1")).startswith(EN["overview.open"])
        await page.wait_for_selector("#incident-rows tr[data-id]")
        await page.wait_for_selector(".live:not([hidden])", timeout=3000)

        started = time.monotonic()
        append(log, DISK_FULL)
        await page.wait_for_selector(
            "#incident-rows tr:has-text('disco_lleno')", timeout=LIVE_WITHIN * 1000
        )
        assert time.monotonic() - started < LIVE_WITHIN
        await page.screenshot(path=str(_shot_dir(tmp_path) / "web-overview.png"))

        await page.click("#incident-rows tr:has-text('permisos') a")
        assert "'/srv/<b>a</b>.mp4'" in await page.inner_text("pre.sample")  # text, not HTML
        await page.go_back()

        alert = delivered_alerts(fake_telegram, "disco_lleno")[0]
        alert_id = alert.response["result"]["message_id"]
        await page.click("#incident-rows tr:has-text('disco_lleno') a")
        await page.wait_for_selector("#actions")
        await page.screenshot(path=str(_shot_dir(tmp_path) / "web-incident.png"), full_page=True)
        await page.click("button[data-verb='ignore']")
        await page.wait_for_selector("#incident-state[data-state='ignored']")

        assert await page.inner_text("#done") == EN["done.ignored"]
        await fake_telegram.await_call(
            "editMessageText",
            lambda c: (
                c.params.get("message_id") in (alert_id, str(alert_id))
                and "ignored" in c.params["text"]
            ),
        )
        edited = [m for m in fake_telegram.messages(ADMIN) if m.message_id == alert_id]
        assert "State: ignored" in edited[0].text
        assert fake_telegram.buttons(ADMIN, alert_id) == []
        ignored = [i for i in runtime.store.incidents() if i.rule == "disco_lleno"]
        assert runtime.store.transitions(ignored[0].id)[-1].actor == f"web · id {ADMIN}"


async def test_an_expired_or_reused_link_is_refused_in_the_browser(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with running_bot(_config(tmp_path, fake_telegram)) as (_, runtime), chromium() as browser:
        link = await _link(fake_telegram, ADMIN)
        assert isinstance(runtime.store, Store)
        old = LoginLinks(
            runtime.store,
            runtime.config,
            UsedLogins(runtime.store),
            lambda: runtime.clock() - timedelta(minutes=11),
        )
        expired = old.mint(ADMIN)
        first = await browser.new_page()
        second = await (await browser.new_context()).new_page()
        third = await (await browser.new_context()).new_page()

        opened = await first.goto(link)
        reused = await second.goto(link)
        late = await third.goto(expired)

        assert opened is not None and opened.status == 200
        assert reused is not None and reused.status == 403
        assert await second.inner_text("#login-message") == EN["login.used"]
        assert late is not None and late.status == 403
        assert await third.inner_text("#login-message") == EN["login.expired"]
        no_session = await third.goto(link.split("/login")[0] + "/")
        assert no_session is not None and no_session.status == 401


async def test_no_csrf_changes_nothing_viewers_see_no_buttons_taps_show_live_maintenance_starts(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    log = pipeline_log(tmp_path)
    async with running_bot(_config(tmp_path, fake_telegram)) as (_, runtime), chromium() as browser:
        append(log, DISK_FULL)
        await fake_telegram.await_call("sendMessage", lambda c: "disco_lleno" in c.params["text"])
        [incident] = runtime.store.incidents()
        owner = await (await browser.new_context()).new_page()
        viewer = await (await browser.new_context()).new_page()
        await owner.goto(await _link(fake_telegram, ADMIN))
        await viewer.goto(await _link(fake_telegram, VIEWER))
        base = owner.url.rstrip("/")

        no_token = await owner.request.post(
            f"{base}/incidents/{incident.id}/act", form={"verb": "ignore"}
        )
        await viewer.goto(f"{base}/incidents/{incident.id}")
        buttons = await viewer.locator("#actions button").count()
        token = await viewer.get_attribute("meta[name=csrf]", "content")
        forged = await viewer.request.post(
            f"{base}/incidents/{incident.id}/act", form={"verb": "ignore", "csrf": token or ""}
        )

        assert no_token.status == 403
        assert buttons == 0
        assert await viewer.locator("form[action$='/act']").count() == 0
        assert forged.status == 403
        found = runtime.store.incident(incident.id)
        assert found is not None and found.state.value == "open"

        # the other way round: a tap in Telegram shows on the open page without a reload
        alert = delivered_alerts(fake_telegram, "disco_lleno")[0]
        alert_id = alert.response["result"]["message_id"]
        await viewer.wait_for_selector(".live:not([hidden])", timeout=3000)
        ack = dict(fake_telegram.buttons(ADMIN, alert_id))["👤 I'm on it"]
        fake_telegram.tap(ADMIN, ADMIN, alert_id, ack)
        await viewer.wait_for_selector(
            "#incident-state[data-state='acknowledged']", timeout=LIVE_WITHIN * 1000 + 1000
        )

        await viewer.goto(f"{base}/mutes")
        assert await viewer.locator("#maintenance-form").count() == 0
        await owner.goto(f"{base}/mutes")
        await owner.fill("#maintenance-form input[name=duration]", "2h")
        await owner.select_option("#maintenance-form select[name=type]", "disco_lleno")
        await owner.click("#maintenance-start")
        await owner.wait_for_selector("tr[data-origin='adhoc']")
        assert await owner.inner_text("#done") == EN["done.maintenance_started"]
        [window] = runtime.noise.maintenance.active()
        assert window.scope.rules == {"disco_lleno"}
        mark = fake_telegram.mark()
        fake_telegram.send_text(ADMIN, "/maintenance")
        listed = await fake_telegram.await_call(
            "sendMessage", lambda c: "Maintenance" in c.params["text"], since=mark
        )
        assert "disco_lleno" in listed.params["text"]


def _other_host(
    path: Path, name: str, checks: tuple[tuple[str, str], ...], disk: tuple[str, float], ago: float
) -> None:
    """Host `name`'s row and disk reading, as its agent writes them, last beating `ago` s ago."""
    store = Store(path, host=name)
    try:
        at = utcnow() - timedelta(seconds=ago)
        HostStore(store).beat(HostBeat(name, f"{name}-1", 7, "0.9.1", at, checks=checks), at)
        folder, percent = disk
        total = 2 * 1000**4
        TrendStore(store).add_disk_sample(folder, UsageSample(at, int(total * percent), total))
    finally:
        store.close()


async def test_the_overview_shows_the_other_hosts_and_marks_a_silent_one_in_the_browser(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with running_bot(_config(tmp_path, fake_telegram)) as (_, runtime), chromium() as browser:
        await eventually(lambda: runtime.tracker.current())
        checks = (("bot api", "ok"), ("container", "ok"), ("disk /srv/media", "warning"))
        _other_host(
            runtime.config.store_path,
            "encoder-2",
            (*checks, ("pipeline", "ok")),
            ("/srv/media", 0.88),
            ago=5,
        )
        _other_host(
            runtime.config.store_path,
            "encoder-3",
            (*checks[:2], ("disk /srv/media", "ok"), ("pipeline", "critical")),
            ("/srv/media", 0.41),
            ago=15 * 60,
        )
        runtime.intake.raise_incident(
            Origin.CHECK,
            "disco_lleno",
            Severity.WARNING,
            "disk /srv/media 88% used",
            source="check:disk /srv/media",
            key="/srv/media",
            host="encoder-2",
        )
        page = await browser.new_page(viewport={"width": 1200, "height": 900})

        await page.goto(await _link(fake_telegram, ADMIN))

        hosts = await page.locator(".host").evaluate_all("cards => cards.map(c => c.dataset.host)")
        assert hosts[1:] == ["encoder-2", "encoder-3"]
        assert await page.get_attribute("[data-host='encoder-2'] meter", "value") == "88.0"
        assert await page.locator("[data-host='encoder-2'] .silent").count() == 0
        assert await page.inner_text("[data-host='encoder-2'] small") == "1 open"
        assert await page.inner_text("[data-host='encoder-3'] .silent") == EN["overview.silent"]
        assert await page.locator("[data-host='encoder-3'] tr.check-critical").count() == 1
        await page.screenshot(path=str(_shot_dir(tmp_path) / "web-hosts.png"))

        # encoder-3 beats again: its card stops saying silent while the page stays open.
        _other_host(
            runtime.config.store_path,
            "encoder-3",
            (*checks[:2], ("disk /srv/media", "ok"), ("pipeline", "ok")),
            ("/srv/media", 0.42),
            ago=1,
        )
        await page.wait_for_selector("[data-host='encoder-3'].host:not(.host-silent)", timeout=8000)
        assert await page.locator("[data-host='encoder-3'] tr.check-critical").count() == 0
