"""Notices as typed values: every kind survives the outbox's JSON, older rows still read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from adminbot.checks.base import CheckReason, CheckState
from adminbot.digest.facts import Count, DigestFacts, FixCount, OpenIncident
from adminbot.facts import Size, facts
from adminbot.incidents.maintenance import KeyTally, RuleTally
from adminbot.notify import notices
from adminbot.notify.notices import notice_from_payload, to_payload
from adminbot.notify.outbox import MESSAGE, Outbox
from adminbot.store.damage import DamageReason, ResumeFrom
from adminbot.store.sqlite import Store

AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

SUMMARY = notices.SessionSummary(
    since=AT - timedelta(hours=2),
    until=AT,
    lines=120,
    by_rule=(notices.RuleCount("permisos", 2, 7), notices.RuleCount("timeout", 1, 1)),
    actions_run=3,
    actions_ok=2,
    actions_failed=1,
    top=(notices.TopIncident(4, "permisos", 6),),
    still_open=1,
    median_resolution=timedelta(minutes=12),
    child=notices.ChildEnd(signal="SIGTERM"),
)

EVERY_KIND: list[notices.Notice] = [
    notices.Started(),
    notices.Stopping(),
    notices.MuteExpired("timeout"),
    notices.CheckFlip(
        "disk",
        CheckState.CRITICAL,
        CheckState.WARNING,
        CheckReason.DISK_PERCENT_LIMIT,
        AT,
        facts(path="/srv", percent=97.5, free=Size(3 * 1024**3), limit=95.0),
    ),
    notices.CheckFlip(
        "log", CheckState.WARNING, None, CheckReason.LOG_SILENT, AT, facts(quiet=timedelta(1))
    ),
    notices.SelfWatch("tailer", False, "stalled"),
    SUMMARY,
    notices.SessionSummary(AT, AT, 0, (), 0, 0, 0, (), 0, None, notices.ChildEnd(returncode=3)),
    notices.StoreRecovered(
        DamageReason.EMPTY,
        AT,
        "/data/adminbot.sqlite3.damaged-20261129T120000.000000Z",
        ResumeFrom.POSITIONS,
        AT - timedelta(seconds=4),
        2,
    ),
    notices.StoreRecovered(DamageReason.MALFORMED, AT, "/data/x.damaged", ResumeFrom.CURRENT),
    notices.StoreRecovered(DamageReason.CHECK_FAILED, AT, None, ResumeFrom.UNKNOWN),
    notices.StoreFull(True, AT),
    notices.StoreFull(False, AT),
    notices.LinesUnrecorded("/var/log/bot.log", 1200, 300, 1041, 2340, ("permisos", "timeout")),
    notices.ChannelFailed(1, "mailto://example.com/…", 401, AT),
    notices.QuietDigest((notices.HeldAlert(3, "permisos", "error", 2, AT),)),
    notices.Reminder(7, "disco_lleno", AT, 4),
    notices.DailyDigest(
        DigestFacts(
            since=AT - timedelta(hours=24),
            until=AT,
            by_rule=(Count("timeout", 3, 9),),
            by_host=(Count("srv1", 3),),
            fixes=(FixCount("retry", 2, 1),),
            still_open=1,
            open_by_rule=(Count("timeout", 1),),
            top_open=(OpenIncident(5, "timeout", "srv1", 4),),
        )
    ),
    notices.DigestChart(AT - timedelta(hours=24), AT),
    notices.MaintenanceOver(
        "adhoc",
        AT - timedelta(minutes=30),
        AT,
        ("timeout",),
        ("web1",),
        (RuleTally("timeout", 2, 5),),
        (KeyTally("timeout", "file_id=abc", 4),),
    ),
]


def test_every_notice_kind_is_covered_here() -> None:
    covered = {item.kind for item in EVERY_KIND} | {notices.NoticeKind.UNKNOWN}
    assert covered == set(notices.NoticeKind)


@pytest.mark.parametrize("notice", EVERY_KIND, ids=lambda n: n.kind.value)
def test_every_notice_comes_back_equal_from_its_json_payload(notice: notices.Notice) -> None:
    payload = json.loads(json.dumps(to_payload(notice)))

    assert payload["kind"] == notice.kind.value
    assert notice_from_payload(payload) == notice


def test_a_check_flip_keeps_sizes_and_durations_typed_through_json() -> None:
    flip = EVERY_KIND[3]
    back = notice_from_payload(json.loads(json.dumps(to_payload(flip))))

    assert isinstance(back, notices.CheckFlip)
    assert type(back.facts["free"]) is Size
    assert back.facts["percent"] == 97.5


def test_rows_queued_by_the_older_topic_format_are_still_read() -> None:
    old_flip = {
        "topic": "check_flip",
        "name": "disk",
        "state": "critical",
        "old": None,
        "summary": "disk 97% used",
        "at": AT.isoformat(),
    }

    assert notice_from_payload({"topic": "started"}) == notices.Started()
    assert notice_from_payload({"topic": "mute_expired", "target": "all"}) == notices.MuteExpired(
        "all"
    )
    flip = notice_from_payload(old_flip)
    assert isinstance(flip, notices.CheckFlip)
    assert flip.result().summary == "disk 97% used"
    self_watch = {"topic": "self_watch", "part": "jobs", "ok": True, "detail": "ok"}
    assert notice_from_payload(self_watch) == notices.SelfWatch("jobs", True, "ok")


def test_an_unreadable_row_is_kept_for_the_renderer_not_dropped() -> None:
    strange = {"kind": "from_the_future", "x": 1}
    broken = {"kind": "mute_expired"}

    assert notice_from_payload(strange) == notices.Unreadable(strange)
    assert notice_from_payload(broken) == notices.Unreadable(broken)


def test_the_outbox_queues_the_notice_for_every_admin_as_its_payload() -> None:
    store = Store(":memory:")
    outbox = Outbox(store, [1, 2], clock=lambda: AT)

    outbox.notice(notices.MuteExpired("timeout"))

    rows = store.due(AT)
    assert [(row.kind, row.chat_id) for row in rows] == [(MESSAGE, 1), (MESSAGE, 2)]
    assert {notice_from_payload(row.payload) for row in rows} == {notices.MuteExpired("timeout")}
