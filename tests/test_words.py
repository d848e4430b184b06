"""Every fact and notice the core can produce is worded by the views, in both languages.

The Spanish rendering of each must differ from the English one and hold none of a list
of English words, so a sentence built in the core cannot slip through to a Spanish admin.
"""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from adminbot.actions.diskreport import DiskReport, FolderUsage, Subfolder
from adminbot.actions.outcome import ENGLISH as ACTION_ENGLISH
from adminbot.actions.outcome import PROBLEM_ENGLISH, ActionNote, ActionReason, Problem
from adminbot.actions.quarantine import QuarantineStats
from adminbot.checks.base import ENGLISH as CHECK_ENGLISH
from adminbot.checks.base import CheckReason, CheckResult, CheckState
from adminbot.facts import Fact, Size, facts
from adminbot.models import Incident, IncidentState, Severity, frozen_map
from adminbot.notify import notices
from adminbot.store.rows import AuditEntry
from adminbot.supervise.child import PipelineStatus
from handlers import alert_views, layout, list_views, notice_views, status_views, words
from handlers.i18n import Catalog
from tests.telegram_html import parse_telegram_html
from tests.test_notices import EVERY_KIND

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

ENGLISH_WORDS = re.compile(
    r"\b(the|failed|used|largest|files?|file\(s\)|restarted|restart|free|not|is|are|does|"
    r"running|answers?|after|attempts?|owner|changed|created|folders?|exist|limit|ago|"
    r"watching|budget|skipped|stopping|stopped|moved|quarantine|missing|exit|code|but|and|of|"
    r"in|with|yet|seen|line|process|container|server|check|unreachable|gave|up|newest|"
    r"waiting|automatic|crashed|succeeded|recovered|works|again|open|still|none)\b",
    re.IGNORECASE,
)

# Values that are data, not words: any English in a rendering comes from a template.
DATA: dict[str, Fact] = {
    "text": "t1",
    "why": "w1",
    "error": "E42",
    "path": "/srv/d",
    "percent": 91.5,
    "free": Size(8 * 1024**3),
    "server": "127.0.0.1:8081",
    "seconds": 5.0,
    "status": "s1",
    "description": "d1",
    "username": "u1",
    "container": "c1",
    "health": "h1",
    "process": "p1",
    "cmdline": "m1",
    "pid_file": "/run/p.pid",
    "pid": 42,
    "name": "n1",
    "uptime": timedelta(hours=3),
    "cpu": 1.5,
    "rss": Size(50 * 1024**2),
    "waited": timedelta(minutes=11),
    "quiet": timedelta(minutes=12),
    "action": "retry",
    "attempt": 2,
    "attempts": 3,
    "owner": "1000:1000",
    "count": 2,
    "budget": 2,
    "minutes": 10.0,
    "exit_code": 1,
    "output": "o1",
    "missing": "/srv/d/x.mp4",
}
LIMITS: dict[CheckReason, Fact] = {
    CheckReason.DISK_PERCENT_LIMIT: 90.0,
    CheckReason.DISK_FREE_LIMIT: Size(10 * 1024**3),
}
NEUTRAL_CHECKS = {CheckReason.NOTE}
NEUTRAL_ACTIONS = {ActionReason.TEXT, ActionReason.DOCKER_ERROR}


def t(language: str) -> Catalog:
    return Catalog(language)


def screen(language: str) -> layout.Screen:
    return layout.Screen(Catalog(language), ZoneInfo("Europe/Madrid"), NOW)


def shown(html_text: str) -> str:
    parse_telegram_html(html_text)
    return words.plain_text(html_text)


def assert_spanish(english: str, spanish: str) -> None:
    assert spanish != english
    found = ENGLISH_WORDS.findall(spanish)
    assert found == [], f"English in {spanish!r}: {found}"


def check_result(reason: CheckReason, state: CheckState = CheckState.WARNING) -> CheckResult:
    values = {**DATA, "limit": LIMITS.get(reason, timedelta(minutes=10))}
    return CheckResult("disk", state, reason, NOW, facts(**values))


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_the_catalog_and_the_log_line_use_the_same_facts_for_each_reason() -> None:
    en = Catalog("en")
    checks = {
        r: placeholders(en.template(f"check.reason.{r.value}")) ^ placeholders(CHECK_ENGLISH[r])
        for r in CheckReason
    }
    actions = {
        r: placeholders(en.template(f"action.reason.{r.value}")) ^ placeholders(ACTION_ENGLISH[r])
        for r in ActionReason
    }
    problems = {
        p: placeholders(en.template(f"action.problem.{p.value}")) ^ placeholders(PROBLEM_ENGLISH[p])
        for p in Problem
    }

    assert {r: d for r, d in checks.items() if d} == {}
    assert {r: d for r, d in actions.items() if d} == {}
    assert {p: d for p, d in problems.items() if d} == {}


@pytest.mark.parametrize("reason", list(CheckReason))
def test_every_check_reason_is_worded_in_both_languages(reason: CheckReason) -> None:
    result = check_result(reason)

    english = shown(words.check(result, t("en")))
    spanish = shown(words.check(result, t("es")))

    assert english
    if reason not in NEUTRAL_CHECKS:
        assert_spanish(english, spanish)


@pytest.mark.parametrize("reason", list(ActionReason))
def test_every_action_reason_is_worded_in_both_languages(reason: ActionReason) -> None:
    item = ActionNote(reason, facts(**DATA))

    english = shown(words.note(item, t("en")))
    spanish = shown(words.note(item, t("es")))

    assert english
    if reason not in NEUTRAL_ACTIONS:
        assert_spanish(english, spanish)


@pytest.mark.parametrize("problem", [p for p in Problem if p is not Problem.ERROR])
def test_every_command_problem_is_worded_in_both_languages(problem: Problem) -> None:
    values: dict[str, Fact] = {"attempt": 3, "exit_code": 1}
    values.update(
        {Problem.OUTPUT: {"output": "o1"}, Problem.MISSING: {"missing": "/x"}}.get(problem, {})
    )
    item = ActionNote(ActionReason.RETRY_FAILED, facts(**values))

    english = shown(words.note(item, t("en")))
    spanish = shown(words.note(item, t("es")))

    assert_spanish(english, spanish)
    assert ("/x" if problem is Problem.MISSING else "1") in spanish


def test_an_action_note_reads_like_the_english_log_line_in_english() -> None:
    item = ActionNote(ActionReason.RETRY_FAILED, facts(attempt=3, exit_code=1, output="reset"))

    assert item.english() == "retry failed after 3 attempt(s): exit 1: reset"
    assert shown(words.note(item, t("en"))) == (
        "retry failed after 3 attempt(s): exit code 1: reset"
    )
    assert shown(words.note(item, t("es"))) == (
        "el reintento falló tras 3 intento(s): código de salida 1: reset"
    )


@pytest.mark.parametrize("notice", EVERY_KIND, ids=lambda n: n.kind.value)
def test_every_notice_kind_renders_in_both_languages(notice: notices.Notice) -> None:
    english, keyboard = notice_views.notice(notice, screen("en"), ["/var/log/bot.log"])
    spanish, _ = notice_views.notice(notice, screen("es"), ["/var/log/bot.log"])

    assert keyboard is None
    # A self-watch detail is the self-check's own text (data here, not a template).
    assert_spanish(shown(english), shown(spanish).replace("stalled", ""))


def test_an_unreadable_notice_says_so_in_the_admin_language() -> None:
    item = notices.Unreadable({"kind": "from_the_future"})

    english, _ = notice_views.notice(item, screen("en"))
    spanish, _ = notice_views.notice(item, screen("es"))

    assert "from_the_future" in english
    assert_spanish(shown(english), shown(spanish).replace("from_the_future", ""))


def test_a_session_summary_says_how_the_pipeline_ended() -> None:
    text, _ = notice_views.notice(EVERY_KIND[6], screen("es"))

    assert "Pipeline detenido (señal SIGTERM)." in shown(text)
    assert "Mediana hasta arreglo: 12min" in shown(text)


def test_a_silent_log_reads_in_minutes_in_each_language() -> None:
    result = CheckResult(
        "log",
        CheckState.WARNING,
        CheckReason.LOG_SILENT_ALIVE,
        NOW,
        facts(quiet=timedelta(minutes=12), limit=timedelta(minutes=10)),
    )

    assert shown(words.check(result, t("en"))) == (
        "no new line for 12m (limit 10m) while the process is alive"
    )
    assert shown(words.check(result, t("es"))) == (
        "ninguna línea nueva desde hace 12min (límite 10min) con el proceso vivo"
    )


REPORT = DiskReport(
    (
        FolderUsage(
            "/srv/descargas",
            91.0,
            Size(8 * 1024**3),
            (Subfolder("Movies", Size(5012345678)), Subfolder(".", Size(25))),
            partial=True,
        ),
        FolderUsage("/mnt/gone", error="E2"),
    )
)


def test_the_disk_report_is_a_readable_list_of_folders_and_sizes() -> None:
    lines = [shown(line) for line in words.disk_report(REPORT, t("en"))]

    assert lines == [
        "• /srv/descargas 91% used, 8.0 GB free",
        "  Largest folders (the count stopped early):",
        "  ◦ Movies — 4.7 GB",
        "  ◦ (loose files) — 25 B",
        "• /mnt/gone: E2",
    ]


def test_the_disk_report_in_spanish_has_no_english() -> None:
    english = "\n".join(shown(line) for line in words.disk_report(REPORT, t("en")))
    spanish = "\n".join(shown(line) for line in words.disk_report(REPORT, t("es")))

    assert_spanish(english, spanish.replace("Movies", ""))


def incident() -> Incident:
    return Incident(
        id=7,
        rule="disco_lleno",
        severity=Severity.CRITICAL,
        key="*",
        state=IncidentState.OPEN,
        count=1,
        first_seen=NOW,
        last_seen=NOW,
        source="/var/log/bot.log",
        sample="OSError: [Errno 28] No space left on device",
        fields=frozen_map({"errno": "28"}),
        token="tok",
    )


def audit(kind: str, ok: bool, summary: str, detail: dict[str, object] | None) -> AuditEntry:
    return AuditEntry(1, 7, NOW, "policy", kind, kind, None, "", 0.0, ok, summary, detail)


def test_an_alert_shows_the_disk_report_as_a_report_not_as_a_fix() -> None:
    entry = audit("report", True, REPORT.english(), REPORT.to_json())

    text, _ = alert_views.alert(incident(), screen("es"), [], [entry], {"policy": "automático"})

    plain = shown(text)
    assert "✅" not in plain
    assert "📊 Uso del disco — automático, 13:00:00" in plain
    assert "  ◦ Movies — 4.7 GB" in plain
    assert "largest" not in plain


def test_an_alert_words_an_action_outcome_in_the_admin_language() -> None:
    item = ActionNote(ActionReason.RETRY_OK, facts(attempt=1, attempts=3))
    entry = audit("retry", True, item.english(), {"notes": [item.to_json()]})

    text, _ = alert_views.alert(incident(), screen("es"), [], [entry], {"policy": "automático"})

    assert "✅ reintento correcto (intento 1 de 3) — automático, 13:00:00" in shown(text)


def test_an_alert_shows_an_audit_row_from_before_notes_as_its_text() -> None:
    entry = audit("retry", False, "retry failed after 3 attempt(s): exit 1", None)

    text, _ = alert_views.alert(incident(), screen("es"), [], [entry])

    assert "❌ retry failed after 3 attempt(s): exit 1 — policy" in shown(text)


@pytest.mark.parametrize(
    "item",
    [
        PipelineStatus(True, 1, 4242, timedelta(hours=2), 3.0, Size(1024**2)),
        PipelineStatus(False, 2),
        QuarantineStats(3, Size(2048), "20261129T120000Z-a.mp4"),
    ],
    ids=["pipeline", "pipeline down", "quarantine"],
)
def test_status_extras_are_worded_in_both_languages(
    item: PipelineStatus | QuarantineStats,
) -> None:
    report = status_views.StatusReport(
        started_at=NOW,
        files=[],
        disks=[],
        cpu_percent=1.0,
        memory_percent=2.0,
        rss=1024,
        checks=[],
        open_by_rule={},
        mutes={},
        outbox_depth=0,
        extra=[item],
    )
    english = shown(status_views.status(report, screen("en"))).splitlines()[-1]
    spanish = shown(status_views.status(report, screen("es"))).splitlines()[-1]

    assert_spanish(english, spanish)


def test_one_duration_formatter_with_the_catalog_units() -> None:
    assert words.duration(timedelta(hours=47, minutes=5)) == "47h05m"
    assert words.duration(timedelta(hours=47, minutes=5), t("es")) == "47h05min"
    for views in (alert_views, list_views, notice_views):  # the views use this one
        assert vars(views)["duration"] is words.duration
