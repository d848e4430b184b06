"""With several hosts the messages name the host; with one, they are as they were."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from adminbot.incidents.summary import Summary
from adminbot.store.hosts import HostBeat, HostFile, HostRow
from handlers import alert_views, layout, list_views, status_views
from handlers.i18n import Catalog
from handlers.taps import PageTap
from tests.test_views import MADRID, NOW, incident, visible


def screen(hosts: int, language: str = "en") -> layout.Screen:
    return layout.Screen(Catalog(language), MADRID, NOW, hosts)


def test_an_alert_names_its_host_only_when_hosts_share_the_store() -> None:
    on_b = replace(incident(), host="b")
    text, _ = alert_views.alert(on_b, screen(2), ["chown"])
    assert "Host: b" in visible(text)
    spanish, _ = alert_views.alert(on_b, screen(2, "es"), ["chown"])
    assert "Servidor: b" in visible(spanish)
    alone, _ = alert_views.alert(on_b, screen(1), ["chown"])
    assert "Host" not in visible(alone)


def test_an_errors_line_carries_the_host_with_several_hosts() -> None:
    on_b = replace(incident(), host="b")
    text, markup = list_views.errors_page(
        [on_b], screen(2), page=0, has_more=True, rule=None, host="b"
    )
    assert "🖥 b" in text
    assert "host=b" in text
    pages = [b.callback_data for row in markup.inline_keyboard for b in row] if markup else []
    assert PageTap(1, 10, None, "b").encode() in pages
    alone, _ = list_views.errors_page([on_b], screen(1), page=0, has_more=False, rule=None)
    assert "🖥" not in alone


def test_a_page_tap_keeps_its_host_filter_and_refuses_a_forged_host() -> None:
    assert PageTap.parse(PageTap(2, 10, "permisos", "dl-2.lan").encode()) == PageTap(
        2, 10, "permisos", "dl-2.lan"
    )
    assert PageTap.parse(PageTap(2, 10, None).encode()) == PageTap(2, 10, None)
    assert PageTap.parse("p:1:10:*:<b>") is None


def status_report(hosts: tuple[HostRow, ...]) -> status_views.StatusReport:
    return status_views.StatusReport(
        started_at=NOW - timedelta(hours=1),
        files=[],
        disks=[],
        cpu_percent=1.0,
        memory_percent=2.0,
        rss=1000,
        checks=[],
        open_by_rule={},
        mutes={},
        outbox_depth=0,
        hosts=hosts,
        silent_after=30.0,
    )


def row(name: str, silent_for: float) -> HostRow:
    beat = HostBeat(
        name,
        "1",
        7,
        "0.1.0",
        NOW - timedelta(hours=1),
        files=(HostFile(f"/var/log/{name}/bot.log", 2048, 120, NOW, None),),
        checks=(("disk /srv", "ok"),),
    )
    return HostRow(beat, NOW - timedelta(seconds=silent_for), silent_for)


def test_status_lists_every_host_with_heartbeat_version_files_and_checks() -> None:
    text = visible(status_views.status(status_report((row("a", 2), row("b", 700))), screen(2)))
    assert "🟢 a · heartbeat 12:59:58 (2s ago) · v0.1.0" in text
    assert "🔴 b · silent since 12:48:20" in text
    assert "/var/log/b/bot.log · 2.0 KB · 120 lines" in text
    assert "checks: disk /srv ok" in text
    alone = visible(status_views.status(status_report((row("a", 2),)), screen(1)))
    assert "heartbeat" not in alone


def test_the_summary_counts_per_host_with_several_hosts() -> None:
    data = Summary(
        since=NOW - timedelta(days=1),
        until=NOW,
        lines=10,
        by_rule={"permisos": (3, 9)},
        actions_run=0,
        actions_ok=0,
        actions_failed=0,
        top=[],
        still_open=0,
        resolved=0,
        median_resolution=None,
        by_host={"a": (1, 4), "b": (2, 5)},
    )
    text = visible(list_views.summary(data, screen(2)))
    assert "host a: 1 (4×)" in text and "host b: 2 (5×)" in text
    alone = visible(list_views.summary(replace(data, by_host={"a": (3, 9)}), screen(1)))
    assert "host a" not in alone
