"""The overview lists every host sharing the store: heartbeat, version, checks, disks, silence.

Other hosts are written into the store as their agents would (a `hosts` row, disk
samples), on SQLite and on PostgreSQL; the page is read over ASGI.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from adminbot.facts import human_bytes
from adminbot.models import Origin, Severity
from adminbot.store.hosts import HostBeat, HostStore
from adminbot.store.postgres import PgStore
from adminbot.store.rows import UsageSample
from adminbot.store.sqlite import Store
from adminbot.store.trends import TrendStore
from adminbot.web.words import EN
from tests.conftest import BACKENDS
from tests.pg import PgCluster
from tests.web_site import Site, open_site

GB = 1000**3
MADRID = 'timezone = "Europe/Madrid"'
B_CHECKS = (
    ("bot api", "ok"),
    ("container", "critical"),
    ("disk /srv", "warning"),
    ("log silence", "ok"),
    ("pipeline", "ok"),
)


class Fleet:
    """The site of host a, and a way to write rows as the agents of other hosts do."""

    def __init__(self, site: Site, store_of: Callable[[str], Store]) -> None:
        self.site = site
        self.store_of = store_of
        self.opened: list[Store] = []

    def agent(self, name: str, checks: tuple[tuple[str, str], ...], version: str) -> datetime:
        """Host `name`'s heartbeat row, stamped now on the store's clock; returns the stamp."""
        store = self.store_of(name)
        self.opened.append(store)
        beat = HostBeat(name, f"{name}-1", 7, version, self.site.clock(), checks=checks)
        return HostStore(store).beat(beat, self.site.clock())

    def disk(self, name: str, folder: str, at: datetime, used: int, total: int) -> None:
        TrendStore(self.opened_store(name)).add_disk_sample(folder, UsageSample(at, used, total))

    def silence(self, name: str, minutes: int) -> None:
        """Host `name` last beat `minutes` ago, as if its agent had stopped then."""
        store = self.opened_store(name)
        with store.connection() as db:
            row = db.execute("SELECT heartbeat_at FROM hosts WHERE name = ?", (name,)).fetchone()
            at = datetime.fromisoformat(row["heartbeat_at"]) - timedelta(minutes=minutes)
            db.execute(
                "UPDATE hosts SET heartbeat_at = ? WHERE name = ?",
                (at.isoformat(timespec="microseconds"), name),
            )

    def opened_store(self, name: str) -> Store:
        return next(store for store in self.opened if store.host == name)

    def close(self) -> None:
        for store in self.opened:
            store.close()


@pytest.fixture(params=BACKENDS)
async def fleet(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Fleet]:
    """Host a's dashboard, on a SQLite file or a PostgreSQL the other hosts share."""
    env = {"ADMINBOT_HOST": "a"}
    url = ""
    if request.param == "postgres":
        cluster: PgCluster = request.getfixturevalue("postgres")
        url = cluster.fresh()
        env["ADMINBOT_DATABASE_URL"] = url
    async with open_site(tmp_path, env=env, top=MADRID) as site:
        path = site.runtime.config.store_path

        def store_of(name: str) -> Store:
            return PgStore(url, host=name) if url else Store(path, host=name)

        opened = Fleet(site, store_of)
        try:
            yield opened
        finally:
            opened.close()


def card(page: str, host: str) -> str:
    found = re.search(rf'<div class="host[^"]*" data-host="{host}">(.*?)</div>', page, re.S)
    assert found is not None, f"no card for host {host}"
    return found.group(0)


async def test_the_overview_shows_every_host_with_its_checks_disks_and_a_silent_one_marked(
    fleet: Fleet,
) -> None:
    site = fleet.site
    site.runtime.agent.beat()
    b_at = fleet.agent("b", B_CHECKS, "0.9.1")
    fleet.disk("b", "/srv", b_at - timedelta(minutes=5), 50 * GB, 100 * GB)
    fleet.disk("b", "/srv", b_at, 72 * GB, 100 * GB)
    c_at = fleet.agent("c", (("disk /data", "ok"), ("pipeline", "ok")), "0.9.0")
    fleet.disk("c", "/data", c_at, 30 * GB, 120 * GB)
    fleet.silence("c", minutes=10)
    site.runtime.intake.raise_incident(
        Origin.CHECK,
        "disco_lleno",
        Severity.ERROR,
        "disk /srv full on b",
        source="check:disk /srv",
        key="/srv",
        host="b",
    )
    await site.login()

    page = (await site.client.get("/")).text

    assert [m for m in re.findall(r'data-host="([^"]+)"', page)] == ["a", "b", "c"]
    silent = EN["overview.silent"]
    a, b, c = card(page, "a"), card(page, "b"), card(page, "c")
    assert "host-silent" not in a and silent not in a
    assert "v0.9.1" in b and silent not in b and "host-silent" not in b
    assert 'href="/incidents?host=b"' in b
    assert EN["overview.open_count"].format(n=1) in b
    for name, state in B_CHECKS:
        assert re.search(rf'<tr class="check-{state}">\s*<td>{name}</td>', b), name
    assert 'value="72.0"' in b and "72%" in b  # the newest reading, not the one before
    assert f"{human_bytes(72 * GB)} used of {human_bytes(100 * GB)}<" in b
    assert "host-silent" in c and silent in c and "v0.9.0" in c
    assert 'value="25.0"' in c  # a silent host's last known disk
    assert EN["overview.open_count"].format(n=0) in c


async def test_heartbeats_are_shown_in_the_configured_zone(tmp_path: Path) -> None:
    async with open_site(tmp_path, env={"ADMINBOT_HOST": "a"}, top=MADRID) as site:
        site.runtime.agent.beat()  # 10:00 UTC
        fleet = Fleet(site, lambda name: Store(site.runtime.config.store_path, host=name))
        fleet.agent("b", (), "0.9.1")
        await site.login()

        page = (await site.client.get("/")).text
        fleet.close()

    assert EN["overview.heartbeat"].format(at="2026-11-29 11:00:00", version="0.9.1") in page


async def test_one_host_alone_shows_no_heartbeat_line(tmp_path: Path) -> None:
    async with open_site(tmp_path, env={"ADMINBOT_HOST": "a"}) as site:
        site.runtime.agent.beat()
        await site.login()

        page = (await site.client.get("/")).text

    assert re.findall(r'data-host="([^"]+)"', page) == ["a"]
    assert 'class="beat"' not in page
    assert EN["overview.silent"] not in page
    assert EN["overview.no_checks"] in page


async def test_a_hosts_name_version_and_checks_are_escaped(tmp_path: Path) -> None:
    async with open_site(tmp_path, env={"ADMINBOT_HOST": "a"}) as site:
        fleet = Fleet(site, lambda name: Store(site.runtime.config.store_path, host=name))
        fleet.agent('<b>x"</b>', (("<i>check</i>", "ok"),), "<script>1</script>")
        await site.login()

        page = (await site.client.get("/")).text
        fleet.close()

    assert "<b>x" not in page and "<i>check" not in page and "<script>1" not in page
    assert "&lt;b&gt;x&#34;&lt;/b&gt;" in page
    assert 'href="/incidents?host=%3Cb%3Ex%22%3C%2Fb%3E"' in page


async def test_the_host_cards_reload_on_their_own_with_each_heartbeat(fleet: Fleet) -> None:
    """The overview reloads /live/hosts every few seconds: a heartbeat, not only an
    incident, changes what it says (a silent host speaks again, a new version)."""
    site = fleet.site
    site.runtime.agent.beat()
    fleet.agent("b", B_CHECKS, "0.9.1")
    fleet.silence("b", minutes=10)
    await site.login()

    before = (await site.client.get("/live/hosts")).text
    fleet.agent("b", (("pipeline", "ok"),), "0.9.2")
    after = (await site.client.get("/live/hosts")).text

    assert "host-silent" in card(before, "b") and "v0.9.1" in card(before, "b")
    assert "host-silent" not in card(after, "b") and "v0.9.2" in card(after, "b")
    assert "<html" not in after  # the cards alone, put into the open page
    page = (await site.client.get("/")).text
    assert 'data-live-hosts="/live/hosts"' in page
