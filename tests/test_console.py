"""Console alerts: one readable line per incident, throttled repeats, a safe terminal."""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

from adminbot.checks.base import CheckResult, CheckState, Flip
from adminbot.incidents.events import EventKind, IncidentEvent
from adminbot.models import Incident, IncidentState, Match, Record, Severity, frozen_map
from adminbot.notify.console import ConsoleAlerts
from tests.clocks import T0, FakeClock


class FakeTerminal(io.StringIO):
    """A StringIO that says it is a terminal, as sys.stdout does in an interactive shell."""

    def isatty(self) -> bool:
        return True


def event(
    kind: EventKind = EventKind.OPENED,
    *,
    count: int = 1,
    text: str = "ERROR timeout downloading a.mp4",
    severity: Severity = Severity.ERROR,
    muted: bool = False,
    incident_id: int = 4,
) -> IncidentEvent:
    record = Record(source="/log/bot.log", line_no=42, text=text)
    incident = Incident(
        id=incident_id,
        rule="timeout",
        severity=severity,
        key="a.mp4",
        state=IncidentState.OPEN,
        count=count,
        first_seen=T0,
        last_seen=T0,
        source="/log/bot.log",
        sample=text,
        fields=frozen_map({"path": "a.mp4"}),
    )
    return IncidentEvent(kind, incident, Match("timeout", severity, record, key="a.mp4"), muted)


def console(
    out: io.StringIO, clock: FakeClock, *, colour: bool | None = False, every: float = 15.0
) -> ConsoleAlerts:
    return ConsoleAlerts(
        out, zone=ZoneInfo("Europe/Madrid"), colour=colour, repeat_every=every, clock=clock
    )


def test_a_new_incident_is_one_line_with_local_time_severity_and_place() -> None:
    out = io.StringIO()
    console(out, FakeClock())(event())
    assert out.getvalue() == (
        "2026-11-29 11:00:00 ERROR    timeout #4 NEW /log/bot.log:42"
        " | ERROR timeout downloading a.mp4\n"
    )


def test_a_critical_incident_is_labelled_critical() -> None:
    out = io.StringIO()
    console(out, FakeClock())(event(severity=Severity.CRITICAL))
    assert " CRITICAL timeout #4 NEW " in out.getvalue()


def test_a_muted_incident_is_still_printed_and_marked_muted() -> None:
    out = io.StringIO()
    console(out, FakeClock())(event(muted=True))
    assert "timeout #4 NEW (muted) " in out.getvalue()


def test_repeats_are_throttled_and_show_the_count() -> None:
    out, clock = io.StringIO(), FakeClock()
    alerts = console(out, clock, every=15)
    alerts(event())
    for count in range(2, 50):
        clock.advance(0.1)
        alerts(event(EventKind.REPEATED, count=count))
    clock.advance(15)
    alerts(event(EventKind.REPEATED, count=50))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert " timeout #4 NEW " in lines[0]
    assert lines[1].startswith("2026-11-29 11:00:19 ERROR    timeout #4 x50 ")


def test_throttling_is_per_incident() -> None:
    out, clock = io.StringIO(), FakeClock()
    alerts = console(out, clock)
    alerts(event(incident_id=1))
    alerts(event(incident_id=2))
    alerts(event(EventKind.REPEATED, count=2, incident_id=1))
    alerts(event(EventKind.REPEATED, count=2, incident_id=3))  # never printed before: shown
    assert [line.split()[4] for line in out.getvalue().splitlines()] == ["#1", "#2", "#3"]


def test_a_traceback_shows_its_last_line() -> None:
    out = io.StringIO()
    text = "ERROR download failed\nTraceback (most recent call last):\n  x\nTimeoutError: 30s\n"
    console(out, FakeClock())(event(text=text))
    assert out.getvalue().rstrip("\n").endswith("| TimeoutError: 30s")
    assert out.getvalue().count("\n") == 1


def test_no_colour_codes_when_colour_is_off() -> None:
    out = io.StringIO()
    console(out, FakeClock(), colour=False)(event(severity=Severity.CRITICAL))
    assert "\x1b" not in out.getvalue()


def test_colour_codes_when_colour_is_on() -> None:
    out = io.StringIO()
    console(out, FakeClock(), colour=True)(event(severity=Severity.CRITICAL))
    assert "\x1b[1;41;97mCRITICAL\x1b[0m" in out.getvalue()


def test_colour_follows_the_terminal_when_not_configured() -> None:
    tty, pipe = FakeTerminal(), io.StringIO()
    console(tty, FakeClock(), colour=None)(event())
    console(pipe, FakeClock(), colour=None)(event())
    assert "\x1b[31m" in tty.getvalue()
    assert "\x1b" not in pipe.getvalue()


def test_hostile_log_text_does_not_reach_the_terminal_raw() -> None:
    out = FakeTerminal()
    hostile = "ERROR \x1b[2J\x1b]0;pwned\x07 \rfake line\x08\x00 \u202eevil \x9b31m"
    console(out, FakeClock(), colour=True)(event(text=hostile))
    written = out.getvalue()
    body = written.split(" | ", 1)[1]
    for raw in ("\x1b", "\r", "\x07", "\x08", "\x00", "\u202e", "\x9b"):
        assert raw not in body
    assert written.count("\n") == 1
    assert "[2J" in body  # shown harmlessly, so the admin can still read what was logged


def test_a_long_line_is_cut() -> None:
    out = io.StringIO()
    console(out, FakeClock())(event(text="ERROR " + "x" * 10_000))
    assert len(out.getvalue()) < 300


def test_notices_written_directly_are_made_printable_too() -> None:
    out = io.StringIO()
    console(out, FakeClock()).line(Severity.WARNING, "file /log/\x1b[31mred.log vanished")
    assert out.getvalue() == "2026-11-29 11:00:00 WARNING  file /log/?[31mred.log vanished\n"


def test_a_first_check_result_says_its_state_without_a_made_up_old_one() -> None:
    out, clock = io.StringIO(), FakeClock(T0)
    result = CheckResult.note("pipeline", CheckState.CRITICAL, "pipeline process not found", T0)
    console(out, clock).flip(Flip("pipeline", None, CheckState.CRITICAL, result))
    line = out.getvalue()
    assert "check pipeline: critical: pipeline process not found" in line
    assert "start" not in line and "None" not in line and "->" not in line


def test_a_later_check_flip_shows_old_and_new_state() -> None:
    out, clock = io.StringIO(), FakeClock(T0)
    result = CheckResult.note("disk", CheckState.CRITICAL, "97% used", T0)
    console(out, clock).flip(Flip("disk", CheckState.WARNING, CheckState.CRITICAL, result))
    assert "check disk: warning -> critical: 97% used" in out.getvalue()


def test_a_storm_of_one_rule_prints_a_few_lines_then_one_count_when_its_window_ends() -> None:
    """A journal is not flooded: 20 new incidents of a rule per 10 s are printed, the rest
    counted in one line once the window is over; a critical one is always printed."""
    from adminbot.notify.console import STORM_LINES, STORM_WINDOW

    out, clock = io.StringIO(), FakeClock()
    alerts = console(out, clock)
    for n in range(STORM_LINES + 30):
        alerts(event(incident_id=100 + n))
    alerts(event(incident_id=999, severity=Severity.CRITICAL))
    assert out.getvalue().count(" NEW ") == STORM_LINES + 1
    alerts.settle()
    assert "more new incidents" not in out.getvalue()  # the window is not over yet
    clock.advance(STORM_WINDOW.total_seconds())
    alerts.settle()
    lines = out.getvalue().splitlines()
    assert lines[-1].endswith(
        "timeout: 30 more new incidents in 10 s, not printed one by one "
        "(a storm; /errors lists them)"
    )
    alerts.settle()
    assert len(out.getvalue().splitlines()) == len(lines)  # said once
    alerts(event(incident_id=5000))
    assert out.getvalue().count(" NEW ") == STORM_LINES + 2  # a new window prints again
