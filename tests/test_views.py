"""Message views as a phone user sees them: text, buttons, time zone, Telegram's limits."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from telegram import InlineKeyboardMarkup

from adminbot.actions.executor import ActionKind
from adminbot.checks.base import CheckReason, CheckResult, CheckState
from adminbot.facts import facts
from adminbot.incidents.recurrence import Recurrence
from adminbot.incidents.summary import Summary
from adminbot.models import Incident, IncidentState, Severity, frozen_map
from adminbot.store.kinds import Kind, KindState
from adminbot.store.rows import AuditEntry
from handlers import alert_views, layout, list_views, notice_views, status_views, words
from handlers.i18n import Catalog
from tests.fake_telegram import MAX_CALLBACK_DATA_BYTES, MAX_TEXT_LENGTH
from tests.telegram_html import parse_telegram_html

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # 13:00 in Madrid (CET, UTC+1)
ALLOWED_ENTITIES = {"bold", "italic", "code", "pre", "text_link"}
HOSTILE = "<script>alert(1)</script> & </pre><b>x</b>\n\u202eevil\x00nul &amp; <i"


def screen(language: str = "en", now: datetime = NOW, zone: ZoneInfo = MADRID) -> layout.Screen:
    return layout.Screen(Catalog(language), zone, now)


def incident(
    *,
    id: int = 7,
    rule: str = "permisos",
    severity: Severity = Severity.ERROR,
    state: IncidentState = IncidentState.OPEN,
    count: int = 3,
    first_seen: datetime = NOW - timedelta(hours=2),
    last_seen: datetime = NOW - timedelta(minutes=5),
    source: str = "/var/log/pipeline/bot.log",
    sample: str = "ERROR Permission denied: '/srv/media/a.mp4'",
    fields: Mapping[str, str] | None = None,
) -> Incident:
    return Incident(
        id=id,
        rule=rule,
        severity=severity,
        key="/srv/media/a.mp4",
        state=state,
        count=count,
        first_seen=first_seen,
        last_seen=last_seen,
        source=source,
        sample=sample,
        fields=frozen_map(
            fields if fields is not None else {"path": "/srv/media/a.mp4", "file_id": "BQACAgI"}
        ),
        token="Tk-9_aZq",
    )


def audit(ok: bool, summary: str, actor: str = "policy", at: datetime = NOW) -> AuditEntry:
    return AuditEntry(
        id=1,
        incident_id=7,
        at=at,
        actor=actor,
        kind="retry",
        operation="retry /srv/media/a.mp4",
        exit_code=0 if ok else 1,
        output_tail="",
        duration=1.0,
        ok=ok,
        summary=summary,
    )


def visible(text: str) -> str:
    """Parse as Telegram would (the fake's strict parser); raise if Telegram would refuse it."""
    plain, entities = parse_telegram_html(text)
    assert {e["type"] for e in entities} <= ALLOWED_ENTITIES
    assert len(plain.encode("utf-16-le")) // 2 <= MAX_TEXT_LENGTH
    assert layout.visible_len(text) == len(plain.encode("utf-16-le")) // 2
    return plain


def buttons(markup: InlineKeyboardMarkup | None) -> list[tuple[str, str]]:
    if markup is None:
        return []
    return [(b.text, str(b.callback_data)) for row in markup.inline_keyboard for b in row]


def labels(markup: InlineKeyboardMarkup | None) -> list[str]:
    return [label for label, _ in buttons(markup)]


# -- alert: wording and fields ------------------------------------------------------------


def test_critical_alert_says_it_needs_attention_now() -> None:
    text, _ = alert_views.alert(incident(severity=Severity.CRITICAL), screen(), [])
    first_line = visible(text).splitlines()[0]
    assert "CRITICAL" in first_line
    assert "needs attention now" in first_line
    assert "recoverable" not in first_line


def test_error_alert_is_marked_recoverable() -> None:
    text, _ = alert_views.alert(incident(severity=Severity.ERROR), screen(), [])
    first_line = visible(text).splitlines()[0]
    assert "ERROR · permisos" in first_line
    assert "#7" in first_line
    assert "recoverable" in first_line


def test_spanish_alert_is_in_spanish() -> None:
    text, markup = alert_views.alert(incident(severity=Severity.CRITICAL), screen("es"), ["retry"])
    shown = visible(text)
    assert "CRÍTICO" in shown
    assert "requiere atención ya" in shown
    assert "Estado: abierto" in shown
    assert labels(markup) == [
        "🔁 Reintentar",
        "👤 Me encargo",
        "✅ Arreglado",
        "🙈 Ignorar",
        "🔕 Silenciar…",
    ]


def test_alert_shows_the_log_file_path_and_file_id_but_not_other_fields() -> None:
    fields = {"path": "/srv/media/a.mp4", "file_id": "BQACAgI", "user": "someone", "token": "x"}
    text, _ = alert_views.alert(incident(fields=fields), screen(), [])
    shown = visible(text)
    assert "File: /var/log/pipeline/bot.log" in shown
    assert "path: /srv/media/a.mp4" in shown
    assert "file_id: BQACAgI" in shown
    assert "someone" not in shown
    assert "token:" not in shown


def test_alert_shows_count_and_times_in_the_admins_zone() -> None:
    item = incident(
        count=12,
        first_seen=datetime(2026, 11, 29, 8, 5, tzinfo=UTC),
        last_seen=datetime(2026, 11, 29, 11, 30, 15, tzinfo=UTC),
    )
    text, _ = alert_views.alert(item, screen(), [])
    assert "Seen 12× · first 09:05:00 · last 12:30:15" in visible(text)


def test_a_time_on_another_local_day_shows_the_date() -> None:
    # 23:30 UTC on the 28th is already 00:30 on the 29th in Madrid: "today" for the admin
    today = incident(first_seen=datetime(2026, 11, 28, 23, 30, tzinfo=UTC))
    yesterday = incident(first_seen=datetime(2026, 11, 28, 22, 30, tzinfo=UTC))
    assert "first 00:30:00" in visible(alert_views.alert(today, screen(), [])[0])
    assert "first 2026-11-28 23:30" in visible(alert_views.alert(yesterday, screen(), [])[0])


def test_summer_time_is_applied() -> None:
    july = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    item = incident(first_seen=july, last_seen=july)
    text, _ = alert_views.alert(item, screen(now=july), [])
    assert "first 12:00:00 · last 12:00:00" in visible(text)


def test_alert_shows_the_state() -> None:
    text, _ = alert_views.alert(incident(state=IncidentState.FIXING), screen(), [])
    assert "State: fixing…" in visible(text)


# -- alert: hostile text and Telegram's limits --------------------------------------------


def test_hostile_log_text_is_escaped_into_well_formed_telegram_html() -> None:
    item = incident(
        rule="permisos",
        source="/var/log/<b>bot</b>&.log",
        sample=f"ERROR {HOSTILE}\nTraceback\n  line </pre> & <b>",
        fields={"path": f"/srv/{HOSTILE}.mp4", "file_id": "</code><a href='x'>id</a>"},
    )
    text, _ = alert_views.alert(item, screen(), ["retry"])
    shown = visible(text)  # raises if Telegram would refuse to parse it
    assert "<script>alert(1)</script> & </pre><b>x</b>" in shown
    assert "</code><a href='x'>id</a>" in shown
    assert "/var/log/<b>bot</b>&.log" in shown
    assert "&amp; <i" in shown  # an entity in the log stays literal text


def test_the_sample_stays_inside_one_pre_block_whatever_it_contains() -> None:
    item = incident(sample="before </pre> after <pre> & end")
    text, _ = alert_views.alert(item, screen(), [])
    plain, entities = parse_telegram_html(text)
    pre = [e for e in entities if e["type"] == "pre"]
    assert len(pre) == 1
    units = plain.encode("utf-16-le")  # entity offsets count UTF-16 units, as Telegram does
    start, length = 2 * pre[0]["offset"], 2 * pre[0]["length"]
    assert units[start : start + length].decode("utf-16-le") == "before </pre> after <pre> & end"


def test_control_and_direction_override_characters_never_reach_the_screen() -> None:
    item = incident(
        sample="ERROR \u202egpj.exe\x00 \x1b[2J\r done",
        fields={"path": "/srv/\u202egpj.exe\x00.mp4", "file_id": "a\u2066b\x7f"},
    )
    text, _ = alert_views.alert(item, screen(), [])
    shown = visible(text)
    for hostile in ("\u202e", "\u2066", "\x00", "\x1b", "\r", "\x7f"):
        assert hostile not in shown
    assert "gpj.exe" in shown


def test_a_newline_in_a_path_shows_as_a_mark_so_each_tag_stays_on_one_line() -> None:
    item = incident(source="/log/a\nb.log", fields={"path": "/srv/x\n</code>.mp4"})
    shown = visible(alert_views.alert(item, screen(), [])[0])
    assert "File: /log/a↵b.log" in shown
    assert "path: /srv/x↵</code>.mp4" in shown
    files = [status_views.FileLine(f"/log/{n}\n<b>.log", 1, NOW, None) for n in range(1_000)]
    shown = visible(status_views.status(report(files=files), screen()))
    assert "• /log/0↵<b>.log 1 B, last line 0s" in shown.splitlines()


def test_huge_sample_and_many_long_fields_still_fit_one_message() -> None:
    fields = {f"field{n:02d}": "x" * 5_000 for n in range(45)}
    fields.update({name: "/srv/" + "y" * 5_000 for name in ("path", "file_id", "errno", "host")})
    fields["port"] = "9" * 5_000
    item = incident(sample="ERROR " + "z" * 100_000, fields=fields)
    text, _ = alert_views.alert(item, screen(), ["retry"])
    shown = visible(text)
    assert layout.visible_len(text) <= MAX_TEXT_LENGTH
    assert "ERROR zzz" in shown
    assert "…" in shown  # cut with a visible marker


def test_astral_characters_count_twice_and_still_fit() -> None:
    # Telegram counts UTF-16 units: an emoji is 2, so cutting by code points overflows
    emoji = "😀"
    fields = {name: emoji * 5_000 for name in ("path", "file_id", "errno", "host", "port")}
    history = [audit(True, emoji * 300) for _ in range(3)]
    item = incident(
        rule="r" * 64, source="/log/" + emoji * 400, sample=emoji * 100_000, fields=fields
    )
    text, _ = alert_views.alert(item, screen(), ["retry"], history)
    visible(text)
    assert layout.visible_len(text) <= MAX_TEXT_LENGTH


def test_long_action_reports_in_the_history_still_leave_room_for_the_sample() -> None:
    report = "\n".join(f"/srv/media/folder{n} {n} GB" for n in range(500))
    history = [audit(True, report), audit(False, report), audit(True, report)]
    text, _ = alert_views.alert(incident(sample="ERROR disk full"), screen(), [], history)
    shown = visible(text)
    assert "ERROR disk full" in shown


def test_a_huge_traceback_shows_its_first_and_last_lines() -> None:
    lines = ["ERROR download failed"] + [f"  frame {n}" for n in range(5_000)] + ["OSError: 28"]
    text, _ = alert_views.alert(incident(sample="\n".join(lines)), screen(), [])
    assert "ERROR download failed\n…\nOSError: 28" in visible(text)


# -- alert: buttons -------------------------------------------------------------------------


def test_alert_offers_the_given_fixes_then_mark_fixed_ignore_and_mute() -> None:
    _, markup = alert_views.alert(incident(), screen(), ["clean_retry", "retry"])
    assert labels(markup) == [
        "🧹 Clean & retry",
        "🔁 Retry",
        "👤 I'm on it",
        "✅ Mark fixed",
        "🙈 Ignore",
        "🔕 Mute…",
    ]
    assert buttons(markup)[0][1] == "act:7:Tk-9_aZq:clean_retry"


def test_alert_without_fixes_still_offers_mark_fixed_ignore_and_mute() -> None:
    _, markup = alert_views.alert(incident(), screen(), [])
    assert labels(markup) == ["👤 I'm on it", "✅ Mark fixed", "🙈 Ignore", "🔕 Mute…"]


@pytest.mark.parametrize("state", [IncidentState.RESOLVED, IncidentState.IGNORED])
def test_a_closed_incident_has_no_buttons(state: IncidentState) -> None:
    text, markup = alert_views.alert(incident(state=state), screen(), ["retry"])
    assert markup is None
    assert f"State: {state.value}" in visible(text)


def test_callback_data_is_short_and_never_carries_a_path() -> None:
    path = "/srv/media/" + "very-long-name-" * 20 + ".mp4"
    item = incident(id=10**12, fields={"path": path, "file_id": "F" * 300})
    _, markup = alert_views.alert(item, screen(), [kind.value for kind in ActionKind])
    data = [d for _, d in buttons(markup)]
    assert len(data) == len(ActionKind) + 4  # fixes, On it, Mark fixed, Ignore, Mute
    for value in data:
        assert len(value.encode()) <= MAX_CALLBACK_DATA_BYTES
        assert "/" not in value
        assert "srv" not in value
        assert value.split(":")[1:3] == [str(10**12), "Tk-9_aZq"]


def test_history_shows_outcome_actor_and_local_time() -> None:
    history = [
        audit(False, "retry failed after 3 attempt(s): exit 1", at=NOW - timedelta(minutes=10)),
        audit(True, "owner changed to media:media (sudo)", actor="@ana", at=NOW),
    ]
    actors = {"policy": "automatic"}
    text, _ = alert_views.alert(incident(), screen(), [], history, actors)
    shown = visible(text)
    assert "❌ retry failed after 3 attempt(s): exit 1 — automatic, 12:50:00" in shown
    assert "✅ owner changed to media:media (sudo) — @ana, 13:00:00" in shown


def test_history_shows_only_the_last_three_outcomes() -> None:
    history = [audit(True, f"attempt {n}", at=NOW) for n in range(5)]
    shown = visible(alert_views.alert(incident(), screen(), [], history)[0])
    assert "attempt 0" not in shown
    assert "attempt 1" not in shown
    assert all(f"attempt {n}" in shown for n in (2, 3, 4))


def test_hostile_text_in_an_action_summary_is_escaped() -> None:
    history = [audit(False, "chown failed: </b><script>&", actor="<i>@x</i>")]
    shown = visible(alert_views.alert(incident(), screen(), [], history)[0])
    assert "❌ chown failed: </b><script>& — <i>@x</i>" in shown


# -- /errors ----------------------------------------------------------------------------------


def many(n: int, rule: str = "timeout") -> list[Incident]:
    return [incident(id=100 - i, rule=rule, last_seen=NOW - timedelta(minutes=i)) for i in range(n)]


def paging(markup: InlineKeyboardMarkup | None) -> list[tuple[str, str]]:
    return [(label, data) for label, data in buttons(markup) if data.startswith("page:")]


def test_first_page_with_more_offers_only_older() -> None:
    text, markup = list_views.errors_page(many(10), screen(), page=0, has_more=True, rule=None)
    assert paging(markup) == [("Older ▶️", "page:1:10:*")]
    assert visible(text).splitlines()[0] == "Incidents · page 1"


def test_middle_page_offers_newer_and_older() -> None:
    _, markup = list_views.errors_page(many(10), screen(), page=2, has_more=True, rule="timeout")
    assert paging(markup) == [("◀️ Newer", "page:1:10:timeout"), ("Older ▶️", "page:3:10:timeout")]


def test_last_page_offers_only_newer() -> None:
    _, markup = list_views.errors_page(many(3), screen(), page=1, has_more=False, rule=None, size=5)
    assert paging(markup) == [("◀️ Newer", "page:0:5:*")]


def test_a_single_page_has_no_paging_buttons() -> None:
    _, markup = list_views.errors_page(many(3), screen(), page=0, has_more=False, rule=None)
    assert paging(markup) == []


def test_each_incident_gets_an_open_button_five_per_row() -> None:
    found = many(12)
    _, markup = list_views.errors_page(found, screen(), page=0, has_more=False, rule=None, size=12)
    assert markup is not None
    rows = [[b.text for b in row] for row in markup.inline_keyboard]
    assert [len(row) for row in rows] == [5, 5, 2]
    opens = [(label, data) for label, data in buttons(markup) if data.startswith("open:")]
    assert opens == [(f"#{i.id}", f"open:{i.id}:Tk-9_aZq") for i in found]


def test_errors_lines_show_rule_count_state_and_age() -> None:
    item = incident(count=4, state=IncidentState.FIXING, last_seen=NOW - timedelta(minutes=90))
    text, _ = list_views.errors_page([item], screen(), page=0, has_more=False, rule="permisos")
    lines = visible(text).splitlines()
    assert lines[0] == "Incidents permisos · page 1"
    assert lines[1] == "🟠 #7 permisos ×4 · fixing… · 1h30m ago"


def test_no_incidents_says_so_without_buttons() -> None:
    text, markup = list_views.errors_page([], screen(), page=0, has_more=False, rule="timeout")
    assert visible(text) == "No incidents (timeout)."
    assert markup is None


def test_paging_data_stays_within_telegrams_limit_for_the_longest_rule_name() -> None:
    rule = "r" * 64  # rule names may be up to 64 characters (rules.NAME_RE)
    text, markup = list_views.errors_page(
        many(30, rule), screen(), page=9999, has_more=True, rule=rule, size=30
    )
    visible(text)
    for _, data in buttons(markup):
        assert len(data.encode()) <= MAX_CALLBACK_DATA_BYTES


# -- /status ----------------------------------------------------------------------------------


def report(**changes: object) -> status_views.StatusReport:
    base: dict[str, Any] = {
        "started_at": NOW - timedelta(hours=3, minutes=5),
        "files": [
            status_views.FileLine("/var/log/bot.log", 2048, NOW - timedelta(seconds=30), None),
            status_views.FileLine("/var/log/<b>.log", 0, None, "permission denied & <gone>"),
        ],
        "disks": [status_views.DiskLine("/srv/media", 91.4, 8 * 1024**3)],
        "cpu_percent": 12.3,
        "memory_percent": 45.6,
        "rss": 50 * 1024**2,
        "checks": [
            CheckResult.note("bot_api", CheckState.OK, "answers in 12 ms", NOW),
            CheckResult.note("disk", CheckState.CRITICAL, "91% used <see>", NOW),
        ],
        "open_by_rule": {"timeout": 2, "permisos": 1},
        "mutes": {"timeout": NOW + timedelta(hours=1)},
        "outbox_depth": 4,
    }
    base.update(changes)
    return status_views.StatusReport(**base)


def test_status_shows_health_files_disks_checks_open_incidents_mutes_and_outbox() -> None:
    shown = visible(status_views.status(report(), screen()))
    lines = shown.splitlines()
    assert lines[0] == "Status · up 3h05m"
    assert "• /var/log/bot.log 2.0 KB, last line 30s" in lines
    assert "• /var/log/<b>.log ⚠️ permission denied & <gone>" in lines
    assert "• /srv/media 91% used, 8.0 GB free" in lines
    assert "Host CPU 12% · RAM 46% · adminbot 50.0 MB" in lines
    assert "• ✅ bot_api: answers in 12 ms" in lines
    assert "• 🔴 disk: 91% used <see>" in lines
    assert lines.index("• permisos: 1") < lines.index("• timeout: 2")
    assert "• timeout until 14:00:00" in lines
    assert lines[-1] == "⏳ 4 alert(s) waiting for delivery"


def test_status_of_a_file_with_content_but_no_new_line_says_so_not_never() -> None:
    quiet = status_views.FileLine("/var/log/bot.log", 4096, None, None, NOW - timedelta(minutes=5))
    lines = visible(status_views.status(report(files=[quiet]), screen())).splitlines()
    assert "• /var/log/bot.log 4.0 KB, no new line since start (last written 5m ago)" in lines
    assert not any("never" in line for line in lines)


def test_status_of_an_empty_file_with_no_line_yet_says_so() -> None:
    empty = status_views.FileLine("/var/log/bot.log", 0, None, None, None)
    lines = visible(status_views.status(report(files=[empty]), screen())).splitlines()
    assert "• /var/log/bot.log 0 B, no new line since start" in lines


def test_status_when_nothing_is_wrong() -> None:
    quiet = report(files=[], disks=[], checks=[], open_by_rule={}, mutes={}, outbox_depth=0)
    lines = visible(status_views.status(quiet, screen())).splitlines()
    assert "• none found yet" in lines
    assert lines[-1] == "• none"
    assert not any("waiting for delivery" in line for line in lines)
    assert not any(line.startswith("Muted") for line in lines)


def test_status_with_very_many_files_fits_and_keeps_open_incidents_and_outbox() -> None:
    files = [
        status_views.FileLine(f"/var/log/pipeline/worker-{n:04d}.log", 1024, NOW, None)
        for n in range(2_000)
    ]
    text = status_views.status(report(files=files), screen())
    shown = visible(text)
    assert layout.visible_len(text) <= MAX_TEXT_LENGTH
    assert "worker-0000.log" in shown
    assert "• timeout: 2" in shown
    assert "⏳ 4 alert(s) waiting for delivery" in shown
    assert "more" in shown  # the admin is told files were left out


def test_status_in_spanish() -> None:
    shown = visible(status_views.status(report(), screen("es")))
    assert "Estado · activo 3h05m" in shown
    assert "⏳ 4 aviso(s) pendientes de entrega" in shown


# -- /summary and check flips -----------------------------------------------------------------


def summary_data(median: timedelta | None) -> Summary:
    return Summary(
        since=NOW - timedelta(hours=24),
        until=NOW,
        lines=12_345,
        by_rule={"timeout": (2, 30), "permisos": (1, 1)},
        actions_run=3,
        actions_ok=2,
        actions_failed=1,
        top=[incident(id=3, rule="timeout", count=25), incident(id=4, rule="<b>", count=5)],
        still_open=1,
        resolved=2,
        median_resolution=median,
    )


def test_summary_with_median_time_to_fix() -> None:
    shown = visible(list_views.summary(summary_data(timedelta(minutes=90)), screen()))
    lines = shown.splitlines()
    assert lines[0] == "Summary since 2026-11-28 13:00"
    assert "Lines read: 12345" in lines
    assert "Incidents: 3 (31 occurrences)" in lines
    assert lines.index("• permisos: 1 (1×)") < lines.index("• timeout: 2 (30×)")
    assert "Actions: 3 run · 2 ok · 1 failed" in lines
    assert "• #3 timeout ×25" in lines
    assert "• #4 <b> ×5" in lines
    assert "Still open: 1" in lines
    assert lines[-1] == "Median time to fix: 1h30m"


def test_summary_without_resolutions_has_no_median_line() -> None:
    shown = visible(list_views.summary(summary_data(None), screen()))
    assert "Median" not in shown
    assert shown.splitlines()[-1] == "Still open: 1"


def test_session_summary_shows_start_and_end() -> None:
    shown = visible(list_views.summary(summary_data(None), screen(), session=True))
    assert shown.splitlines()[0] == "Session summary · 2026-11-28 13:00 → 13:00:00"


def test_check_flip_to_a_problem_shows_old_and_new_state() -> None:
    result = CheckResult.note("disk <srv>", CheckState.CRITICAL, "97% used & rising", NOW)
    shown = visible(notice_views.check_flip(result, CheckState.WARNING, screen()))
    assert shown == "🔴 disk <srv>: warning → critical\n97% used & rising"


def test_a_first_problem_says_what_is_known_without_a_made_up_old_state() -> None:
    result = CheckResult.note("pipeline", CheckState.CRITICAL, "pipeline process not found", NOW)
    shown = visible(notice_views.check_flip(result, None, screen()))
    assert shown == "🔴 pipeline: critical\npipeline process not found"
    assert "?" not in shown and "→" not in shown


def test_a_first_problem_in_spanish_has_no_made_up_old_state() -> None:
    result = CheckResult.note("bot_api", CheckState.UNKNOWN, "sin respuesta", NOW)
    shown = visible(notice_views.check_flip(result, None, screen("es")))
    assert shown.startswith("❔ bot_api: desconocido\n")


def test_descriptors_running_short_are_worded_in_both_languages() -> None:
    found = facts(used=980, limit=1024, percent=95.7)
    result = CheckResult("fds", CheckState.CRITICAL, CheckReason.FDS_USAGE, NOW, found)
    english = visible(notice_views.check_flip(result, CheckState.WARNING, screen()))
    spanish = visible(notice_views.check_flip(result, CheckState.WARNING, screen("es")))
    assert english.endswith("980 of 1024 file descriptors open (95.7%)")
    assert spanish.endswith("980 de 1024 descriptores de archivo abiertos (95.7%)")


def test_check_recovery_says_recovered() -> None:
    result = CheckResult.note("bot_api", CheckState.OK, "answers in 9 ms", NOW)
    shown = visible(notice_views.check_flip(result, CheckState.CRITICAL, screen()))
    assert shown == "✅ bot_api recovered\nanswers in 9 ms"


# -- helpers ----------------------------------------------------------------------------------


def test_duration_is_short_and_readable() -> None:
    assert words.duration(timedelta(seconds=-5)) == "0s"
    assert words.duration(timedelta(seconds=59)) == "59s"
    assert words.duration(timedelta(minutes=59, seconds=59)) == "59m"
    assert words.duration(timedelta(hours=2)) == "2h"
    assert words.duration(timedelta(hours=47, minutes=5)) == "47h05m"
    assert words.duration(timedelta(days=3, hours=4)) == "3d4h"


def test_cut_counts_what_telegram_counts_and_marks_the_cut() -> None:
    assert layout.cut("abc", 3) == "abc"
    assert layout.cut("abcd", 3) == "ab…"
    cut = layout.cut("😀" * 10, 5)
    assert cut == "😀😀…"
    assert layout.visible_len(cut) <= 5


def test_a_resolved_critical_alert_no_longer_says_it_needs_attention() -> None:
    resolved = incident(severity=Severity.CRITICAL, state=IncidentState.RESOLVED)
    text, _ = alert_views.alert(resolved, screen(), [])
    assert "needs attention" not in visible(text)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "🚫 No fix: /srv/otra is outside the allowed folders"),
        ("es", "🚫 Sin arreglo: /srv/otra is outside the allowed folders"),
    ],
)
def test_an_alert_without_a_fix_button_says_why(language: str, expected: str) -> None:
    why = "/srv/otra is outside the allowed folders"
    text, markup = alert_views.alert(incident(), screen(language), [], no_fix=why)
    assert expected in visible(text)
    assert not any(data.startswith("act:") for _, data in buttons(markup))


def test_a_reason_is_not_shown_when_a_fix_is_offered() -> None:
    text, _ = alert_views.alert(incident(), screen(), ["chown"], no_fix="whatever")
    assert "No fix" not in visible(text)


def test_a_fix_waiting_for_the_bot_api_server_says_since_when() -> None:
    since = datetime(2026, 11, 29, 9, 41, tzinfo=UTC)  # 10:41 in Madrid
    fixing = incident(rule="timeout", state=IncidentState.FIXING)
    text, _ = alert_views.alert(fixing, screen(), ["retry"], waiting_since=since)
    assert "Waiting for the Bot API server (down since 10:41:00)" in visible(text)
    text_es, _ = alert_views.alert(fixing, screen("es"), ["retry"], waiting_since=since)
    assert "Esperando al servidor Bot API (caído desde 10:41:00)" in visible(text_es)


def test_quarantine_alone_has_its_own_button() -> None:
    corrupt = incident(rule="corrupto", fields={"path": "/srv/media/a.mp4"})
    _, markup = alert_views.alert(corrupt, screen(), ["quarantine"])
    assert "🗃 Quarantine" in labels(markup)


def _kind(n: int, *, state: KindState = KindState.NEW, learned: bool = False) -> Kind:
    return Kind(
        id=n,
        template=f"Download of <FILE_ID> failed: kind {n} <*>",
        first_seen=NOW - timedelta(hours=2),
        last_seen=NOW - timedelta(minutes=n),
        count=10 * n,
        state=state,
        learned=learned,
        samples=("line",),
        file="/logs/bot.log",
    )


def test_kinds_page_lists_template_counts_times_and_state_escaped() -> None:
    kinds = [_kind(1), _kind(2, learned=True), _kind(3, state=KindState.IGNORED)]
    text = list_views.kinds_page(kinds, total=5, screen=screen())
    plain, _ = parse_telegram_html(text)
    assert "Kinds of error no rule knows · 5 in all" in plain
    assert "#1 Download of <FILE_ID> failed: kind 1 <*>" in plain
    assert "×10 · first 11:00:00 · last 12:59:00 · new" in plain  # Madrid time
    assert "· learnt, no alert" in plain and "· ignored" in plain
    assert "… and 2 more" in plain


def test_kinds_page_in_spanish_and_when_nothing_is_known() -> None:
    assert "nuevo" in list_views.kinds_page([_kind(1)], 1, screen("es"))
    assert list_views.kinds_page([], 0, screen()) == "No error without a rule has been seen yet."


def test_a_resolved_crash_loop_says_how_often_it_restarted_and_not_that_it_needs_attention() -> (
    None
):
    crash = incident(rule="proceso_caido", severity=Severity.CRITICAL, state=IncidentState.RESOLVED)
    again = Recurrence(
        count=3,
        since=NOW - timedelta(seconds=16),
        last=NOW,
        previous=6,
        settled_at=NOW.replace(hour=9, minute=43, second=0),
    )
    text, markup = alert_views.alert(crash, screen(), [], recurrence=again)
    assert "Restarted 3× in 16s, running since 10:43:00" in text  # Madrid time
    assert "needs attention now" not in text and markup is None


def test_an_open_crash_loop_past_its_budget_still_needs_attention_and_says_how_often() -> None:
    crash = incident(rule="proceso_caido", severity=Severity.CRITICAL)
    again = Recurrence(
        count=4, since=NOW - timedelta(seconds=20), last=NOW, previous=6, settled_at=None
    )
    text, _ = alert_views.alert(crash, screen(), ["restart_process"], recurrence=again)
    assert "needs attention now" in text and "Crashed 4× in 20s" in text


def test_mute_choices_offer_three_durations_and_back_within_telegrams_data_limit() -> None:
    markup = alert_views.mute_choices(incident(), Catalog("es"))
    assert labels(markup) == ["🔕 1 h", "🔕 8 h", "🔕 24 h", "↩️ Volver"]
    assert markup is not None
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert all(isinstance(d, str) and len(d.encode()) <= MAX_CALLBACK_DATA_BYTES for d in data)


def test_status_shows_an_incidents_mute_readably_and_all_in_words() -> None:
    until = NOW + timedelta(hours=8)
    mutes = {"permisos\u241fpath=/srv/a.mp4": until, "all": until}
    text = status_views.status(report(mutes=mutes), screen())
    assert "permisos · path=/srv/a.mp4" in text and "\u241f" not in text
    assert "• all alerts until" in text
