"""Console alerts: one line per new incident, throttled lines for repeats.

Used on its own when no Telegram token is set, and beside Telegram so systemd's
journal keeps a readable trace.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

from adminbot.actions.executor import ActionOutcome
from adminbot.checks.base import CheckState, Flip
from adminbot.clock import Clock, utcnow
from adminbot.incidents.events import EventKind, IncidentEvent
from adminbot.models import Incident, Severity

_COLOURS = {
    Severity.INFO: "\033[36m",
    Severity.WARNING: "\033[33m",
    Severity.ERROR: "\033[31m",
    Severity.CRITICAL: "\033[1;41;97m",
}
_RESET = "\033[0m"
_FLIP_SEVERITY = {
    CheckState.OK: Severity.INFO,
    CheckState.WARNING: Severity.WARNING,
    CheckState.UNKNOWN: Severity.WARNING,
    CheckState.CRITICAL: Severity.CRITICAL,
}
_SAMPLE_CHARS = 160
STORM_LINES = 20
"""New incidents of one rule printed one by one per STORM_WINDOW; the rest are counted."""
STORM_WINDOW = timedelta(seconds=10)


@dataclass(slots=True)
class _Burst:
    """New incidents of one rule in the current window: printed, and folded into a count."""

    started: datetime
    severity: Severity
    printed: int = 0
    folded: int = 0


def _printable(text: str) -> str:
    """Keep hostile log text from moving the cursor or changing the terminal's colours."""
    if text.isprintable():  # the usual case, checked in C
        return text
    return "".join(ch if ch.isprintable() else "?" for ch in text)


class ConsoleAlerts:
    """Prints incident events and notices to a terminal or journal."""

    def __init__(
        self,
        out: TextIO | None = None,
        *,
        zone: ZoneInfo | None = None,
        colour: bool | None = None,
        repeat_every: float = 15.0,
        clock: Clock = utcnow,
    ) -> None:
        self.out = out or sys.stdout
        self.zone = zone or ZoneInfo("UTC")
        self.colour = self.out.isatty() if colour is None else colour
        self.repeat_every = timedelta(seconds=repeat_every)
        self.clock = clock
        self._last_printed: dict[int, datetime] = {}
        self._bursts: dict[str, _Burst] = {}
        self._lock = threading.Lock()

    def __call__(self, event: IncidentEvent) -> None:
        incident = event.incident
        now = self.clock()
        with self._lock:
            if event.kind is EventKind.REPEATED:
                last = self._last_printed.get(incident.id)
                if last is not None and now - last < self.repeat_every:
                    return
            elif incident.severity is not Severity.CRITICAL and self._folded(incident, now):
                return
            self._last_printed[incident.id] = now
        what = "NEW" if event.kind is EventKind.OPENED else f"x{incident.count}"
        muted = f" ({event.held})" if event.held else " (muted)" if event.muted else ""
        where = f"{incident.source}:{event.match.record.line_no}"
        sample = _printable(event.match.record.last_line.strip()[:_SAMPLE_CHARS])
        self.line(
            incident.severity,
            f"{incident.rule} #{incident.id} {what}{muted} {where} | {sample}",
        )

    def _folded(self, incident: Incident, now: datetime) -> bool:
        """Whether a new incident is only counted: its rule printed STORM_LINES new ones in
        this window already (a storm would flood the journal with a line each)."""
        burst = self._bursts.get(incident.rule)
        if burst is None or now - burst.started >= STORM_WINDOW:
            if burst is not None and burst.folded:
                self._fold_line(incident.rule, burst)
            burst = self._bursts[incident.rule] = _Burst(now, incident.severity)
        if burst.printed >= STORM_LINES:
            burst.folded += 1
            return True
        burst.printed += 1
        return False

    def settle(self) -> None:
        """Say how many new incidents each storm window folded, once it is over (the
        router calls this after each drain and when idle)."""
        now = self.clock()
        with self._lock:
            ended = [
                (rule, burst)
                for rule, burst in self._bursts.items()
                if now - burst.started >= STORM_WINDOW
            ]
            for rule, burst in ended:
                del self._bursts[rule]
                if burst.folded:
                    self._fold_line(rule, burst)

    def _fold_line(self, rule: str, burst: _Burst) -> None:
        seconds = int(STORM_WINDOW.total_seconds())
        text = (
            f"{rule}: {burst.folded:,} more new incidents in {seconds} s, not printed one by one "
            "(a storm; /errors lists them)"
        )
        self._write(burst.severity, text)

    def flip(self, flip: Flip) -> None:
        """A check changed state; its first result is only its state (there was no old one)."""
        change = flip.new.value if flip.old is None else f"{flip.old.value} -> {flip.new.value}"
        text = f"check {flip.check}: {change}: {flip.result.summary}"
        self.line(_FLIP_SEVERITY[flip.new], text)

    def outcome(self, incident: Incident, outcome: ActionOutcome, actor: str) -> None:
        """A fix ran."""
        severity = Severity.INFO if outcome.ok else Severity.ERROR
        self.line(severity, f"{incident.rule} #{incident.id} {outcome.summary} ({actor})")

    def line(self, severity: Severity, text: str) -> None:
        with self._lock:
            self._write(severity, text)

    def _write(self, severity: Severity, text: str) -> None:
        """One line, under the lock the caller holds."""
        stamp = self.clock().astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S")
        label = f"{severity.value.upper():<8}"
        if self.colour:
            label = f"{_COLOURS[severity]}{label}{_RESET}"
        self.out.write(f"{stamp} {label} {_printable(text)}\n")
        self.out.flush()
