"""Notices to the admin as typed values: what happened, never how it reads.

The outbox stores a notice as JSON (`to_payload`) and the sender rebuilds it
(`notice_from_payload`) and renders it at send time, so the language, the time zone and
the channel (Telegram, a console, e-mail) are chosen by the renderer alone.

Over ~400 lines: each notice kind is a small dataclass plus its two JSON cases;
the length is the number of kinds, one idea.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from adminbot.checks.base import CheckReason, CheckResult, CheckState
from adminbot.digest.facts import DigestFacts
from adminbot.facts import Facts, facts, facts_from_json, facts_to_json
from adminbot.incidents.events import Unrecorded
from adminbot.incidents.maintenance import KeyTally, RuleTally, WindowSummary
from adminbot.incidents.summary import Summary
from adminbot.store.damage import DamageReason, Recovery, ResumeFrom
from adminbot.supervise.supervisor import ChildExit


class NoticeKind(StrEnum):
    STARTED = "started"
    STOPPING = "stopping"
    MUTE_EXPIRED = "mute_expired"
    CHECK_FLIP = "check_flip"
    SELF_WATCH = "self_watch"
    SESSION_SUMMARY = "summary"
    STORE_RECOVERED = "store_recovered"
    STORE_FULL = "store_full"
    LINES_UNRECORDED = "lines_unrecorded"
    CHANNEL_FAILED = "channel_failed"
    QUIET_DIGEST = "quiet_digest"
    REMINDER = "reminder"
    DAILY_DIGEST = "daily_digest"
    DIGEST_CHART = "digest_chart"
    MAINTENANCE_OVER = "maintenance_over"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Started:
    """adminbot is up and watching."""

    kind = NoticeKind.STARTED


@dataclass(frozen=True, slots=True)
class Stopping:
    """adminbot is shutting down."""

    kind = NoticeKind.STOPPING


@dataclass(frozen=True, slots=True)
class MuteExpired:
    """A mute ran out: alerts of `target` (a rule, or "all") come back."""

    target: str
    kind = NoticeKind.MUTE_EXPIRED


@dataclass(frozen=True, slots=True)
class CheckFlip:
    """A health check changed state; `old` is None when it is the first state seen."""

    name: str
    state: CheckState
    old: CheckState | None
    reason: CheckReason
    at: datetime
    facts: Facts = field(default_factory=facts)
    kind = NoticeKind.CHECK_FLIP

    @classmethod
    def of(cls, result: CheckResult, old: CheckState | None) -> CheckFlip:
        return cls(result.name, result.state, old, result.reason, result.checked_at, result.facts)

    def result(self) -> CheckResult:
        return CheckResult(self.name, self.state, self.reason, self.at, self.facts)


@dataclass(frozen=True, slots=True)
class SelfWatch:
    """A part of adminbot itself (tailer, jobs, delivery) stopped or started working."""

    part: str
    ok: bool
    detail: str
    kind = NoticeKind.SELF_WATCH


@dataclass(frozen=True, slots=True)
class RuleCount:
    rule: str
    incidents: int
    hits: int


@dataclass(frozen=True, slots=True)
class TopIncident:
    id: int
    rule: str
    count: int


@dataclass(frozen=True, slots=True)
class ChildEnd:
    """How the supervised pipeline ended: an exit code or a signal's name."""

    returncode: int | None = None
    signal: str | None = None


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """What one session did, as counts (the renderer words and lays them out)."""

    since: datetime
    until: datetime
    lines: int
    by_rule: tuple[RuleCount, ...]
    actions_run: int
    actions_ok: int
    actions_failed: int
    top: tuple[TopIncident, ...]
    still_open: int
    median_resolution: timedelta | None = None
    child: ChildEnd | None = None
    kind = NoticeKind.SESSION_SUMMARY

    @property
    def incidents(self) -> int:
        return sum(r.incidents for r in self.by_rule)

    @property
    def occurrences(self) -> int:
        return sum(r.hits for r in self.by_rule)


@dataclass(frozen=True, slots=True)
class StoreRecovered:
    """The store was damaged: moved aside, a fresh one started; where tailing resumed."""

    reason: DamageReason
    at: datetime
    moved_to: str | None
    resume: ResumeFrom
    positions_at: datetime | None = None
    files: int = 0
    kind = NoticeKind.STORE_RECOVERED

    @classmethod
    def of(cls, recovery: Recovery) -> StoreRecovered:
        return cls(
            recovery.reason,
            recovery.at,
            recovery.moved_to,
            recovery.resume,
            recovery.positions_at,
            recovery.files,
        )


@dataclass(frozen=True, slots=True)
class StoreFull:
    """The store cannot take writes (its disk is full): history paused; or it can again."""

    full: bool
    at: datetime
    kind = NoticeKind.STORE_FULL


@dataclass(frozen=True, slots=True)
class LinesUnrecorded:
    """Matched lines of `source` that could not be stored even one by one (disk full).

    They were read and classified, and the file's position moved past them so it
    does not stall; their incidents are missing from history."""

    source: str
    lines: int
    records: int
    first_line: int
    last_line: int
    rules: tuple[str, ...] = ()
    kind = NoticeKind.LINES_UNRECORDED

    @classmethod
    def of(cls, fact: Unrecorded) -> LinesUnrecorded:
        return cls(
            fact.source, fact.lines, fact.records, fact.first_line, fact.last_line, fact.rules
        )


@dataclass(frozen=True, slots=True)
class ChannelFailed:
    """An alert channel failed for good (bad URL, refused credentials): no longer tried.

    `name` is the channel's URL without its secrets; `status` the service's HTTP answer,
    None when Apprise could not use the URL at all."""

    index: int
    name: str
    status: int | None
    at: datetime
    kind = NoticeKind.CHANNEL_FAILED


@dataclass(frozen=True, slots=True)
class HeldAlert:
    """An alert held during quiet hours, as the digest lists it."""

    id: int
    rule: str
    severity: str
    count: int
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class QuietDigest:
    """Quiet hours ended: the non-critical alerts held meanwhile, in one message."""

    held: tuple[HeldAlert, ...]
    kind = NoticeKind.QUIET_DIGEST


@dataclass(frozen=True, slots=True)
class Reminder:
    """A critical incident is still open and nobody acknowledged it; sent as a reply."""

    incident_id: int
    rule: str
    opened: datetime
    count: int
    kind = NoticeKind.REMINDER


@dataclass(frozen=True, slots=True)
class DailyDigest:
    """The day in one message: incidents by type and host, fixes run, what is still open."""

    facts: DigestFacts
    kind = NoticeKind.DAILY_DIGEST


@dataclass(frozen=True, slots=True)
class DigestChart:
    """A chart of the window, sent as a photo; drawn from the store when it is sent."""

    since: datetime
    until: datetime
    kind = NoticeKind.DIGEST_CHART


@dataclass(frozen=True, slots=True)
class MaintenanceOver(WindowSummary):
    """A maintenance window ended: its summary (`incidents.maintenance`) as a notice."""

    kind = NoticeKind.MAINTENANCE_OVER

    @classmethod
    def of(cls, summary: WindowSummary) -> MaintenanceOver:
        return cls(*(getattr(summary, f.name) for f in fields(WindowSummary)))


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A row this version cannot read (a bug, or a newer version wrote it): shown plainly."""

    payload: Mapping[str, Any]
    kind = NoticeKind.UNKNOWN


Notice = (
    Started
    | Stopping
    | MuteExpired
    | CheckFlip
    | SelfWatch
    | SessionSummary
    | StoreRecovered
    | StoreFull
    | LinesUnrecorded
    | ChannelFailed
    | QuietDigest
    | Reminder
    | DailyDigest
    | DigestChart
    | MaintenanceOver
    | Unreadable
)


def to_payload(notice: Notice) -> dict[str, Any]:
    """The notice as the outbox's JSON payload: its `kind` and its fields."""
    match notice:
        case Started() | Stopping():
            return {"kind": notice.kind.value}
        case MuteExpired(target=target):
            return {"kind": notice.kind.value, "target": target}
        case CheckFlip():
            return {
                "kind": notice.kind.value,
                "name": notice.name,
                "state": notice.state.value,
                "old": notice.old.value if notice.old else None,
                "reason": notice.reason.value,
                "at": notice.at.isoformat(),
                "facts": facts_to_json(notice.facts),
            }
        case SelfWatch(part=part, ok=ok, detail=detail):
            return {"kind": notice.kind.value, "part": part, "ok": ok, "detail": detail}
        case SessionSummary():
            return _summary_payload(notice)
        case StoreRecovered():
            return {
                "kind": notice.kind.value,
                "reason": notice.reason.value,
                "at": notice.at.isoformat(),
                "moved_to": notice.moved_to,
                "resume": notice.resume.value,
                "positions_at": _iso(notice.positions_at),
                "files": notice.files,
            }
        case StoreFull(full=full, at=at):
            return {"kind": notice.kind.value, "full": full, "at": at.isoformat()}
        case LinesUnrecorded():
            return {
                "kind": notice.kind.value,
                "source": notice.source,
                "lines": notice.lines,
                "records": notice.records,
                "first_line": notice.first_line,
                "last_line": notice.last_line,
                "rules": list(notice.rules),
            }
        case ChannelFailed():
            return {
                "kind": notice.kind.value,
                "index": notice.index,
                "name": notice.name,
                "status": notice.status,
                "at": notice.at.isoformat(),
            }
        case QuietDigest(held=held):
            rows = [[h.id, h.rule, h.severity, h.count, h.first_seen.isoformat()] for h in held]
            return {"kind": notice.kind.value, "held": rows}
        case Reminder():
            return {
                "kind": notice.kind.value,
                "incident": notice.incident_id,
                "rule": notice.rule,
                "opened": notice.opened.isoformat(),
                "count": notice.count,
            }
        case DailyDigest(facts=found):
            return {"kind": notice.kind.value, **found.to_json()}
        case DigestChart(since=since, until=until):
            window = {"since": since.isoformat(), "until": until.isoformat()}
            return {"kind": notice.kind.value, **window}
        case MaintenanceOver():
            return {
                "kind": notice.kind.value,
                "origin": notice.origin,
                "starts": notice.starts.isoformat(),
                "ends": notice.ends.isoformat(),
                "rules": list(notice.rules),
                "hosts": list(notice.hosts),
                "by_rule": [[r.rule, r.opened, r.hits] for r in notice.by_rule],
                "top": [[k.rule, k.key, k.hits] for k in notice.top],
            }
        case Unreadable(payload=payload):
            return dict(payload)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _summary_payload(s: SessionSummary) -> dict[str, Any]:
    median = s.median_resolution
    return {
        "kind": s.kind.value,
        "since": s.since.isoformat(),
        "until": s.until.isoformat(),
        "lines": s.lines,
        "by_rule": [[r.rule, r.incidents, r.hits] for r in s.by_rule],
        "actions": [s.actions_run, s.actions_ok, s.actions_failed],
        "top": [[t.id, t.rule, t.count] for t in s.top],
        "still_open": s.still_open,
        "median_seconds": None if median is None else median.total_seconds(),
        "child": None if s.child is None else [s.child.returncode, s.child.signal],
    }


def notice_from_payload(payload: Mapping[str, Any]) -> Notice:
    """Rebuild a notice; rows queued by the older `topic` format are read too."""
    kind = payload.get("kind", payload.get("topic"))
    try:
        return _read(kind, payload)
    except (KeyError, ValueError, TypeError):
        return Unreadable(dict(payload))


def _read(kind: object, p: Mapping[str, Any]) -> Notice:
    match kind:
        case NoticeKind.STARTED:
            return Started()
        case NoticeKind.STOPPING:
            return Stopping()
        case NoticeKind.MUTE_EXPIRED:
            return MuteExpired(str(p["target"]))
        case NoticeKind.CHECK_FLIP if "reason" in p:
            old = CheckState(p["old"]) if p.get("old") else None
            at = datetime.fromisoformat(p["at"])
            reason = CheckReason(p["reason"])
            found = facts_from_json(p.get("facts"))
            return CheckFlip(p["name"], CheckState(p["state"]), old, reason, at, found)
        case NoticeKind.CHECK_FLIP:  # the older format kept only an English summary
            old = CheckState(p["old"]) if p.get("old") else None
            at = datetime.fromisoformat(p["at"])
            note = facts(text=str(p.get("summary", "")))
            return CheckFlip(p["name"], CheckState(p["state"]), old, CheckReason.NOTE, at, note)
        case NoticeKind.SELF_WATCH:
            return SelfWatch(str(p["part"]), bool(p["ok"]), str(p.get("detail", "")))
        case NoticeKind.SESSION_SUMMARY if "since" in p:
            return _read_summary(p)
        case NoticeKind.STORE_RECOVERED:
            positions_at = p.get("positions_at")
            return StoreRecovered(
                DamageReason(p["reason"]),
                datetime.fromisoformat(p["at"]),
                p.get("moved_to"),
                ResumeFrom(p["resume"]),
                None if positions_at is None else datetime.fromisoformat(positions_at),
                int(p.get("files", 0)),
            )
        case NoticeKind.STORE_FULL:
            return StoreFull(bool(p["full"]), datetime.fromisoformat(p["at"]))
        case NoticeKind.LINES_UNRECORDED:
            return LinesUnrecorded(
                str(p["source"]),
                int(p["lines"]),
                int(p["records"]),
                int(p["first_line"]),
                int(p["last_line"]),
                tuple(str(r) for r in p.get("rules", ())),
            )
        case NoticeKind.CHANNEL_FAILED:
            at = datetime.fromisoformat(p["at"])
            status = None if p.get("status") is None else int(p["status"])
            return ChannelFailed(int(p["index"]), str(p["name"]), status, at)
        case NoticeKind.QUIET_DIGEST:
            return QuietDigest(
                tuple(
                    HeldAlert(int(i), str(r), str(s), int(c), datetime.fromisoformat(f))
                    for i, r, s, c, f in p["held"]
                )
            )
        case NoticeKind.REMINDER:
            return Reminder(
                int(p["incident"]),
                str(p["rule"]),
                datetime.fromisoformat(p["opened"]),
                int(p["count"]),
            )
        case NoticeKind.DAILY_DIGEST:
            return DailyDigest(DigestFacts.from_json(p))
        case NoticeKind.DIGEST_CHART:
            since, until = datetime.fromisoformat(p["since"]), datetime.fromisoformat(p["until"])
            return DigestChart(since, until)
        case NoticeKind.MAINTENANCE_OVER:
            return MaintenanceOver(
                str(p["origin"]),
                datetime.fromisoformat(p["starts"]),
                datetime.fromisoformat(p["ends"]),
                tuple(str(r) for r in p["rules"]),
                tuple(str(h) for h in p["hosts"]),
                tuple(RuleTally(str(r), int(o), int(h)) for r, o, h in p["by_rule"]),
                tuple(KeyTally(str(r), str(k), int(h)) for r, k, h in p["top"]),
            )
    return Unreadable(dict(p))


def _read_summary(p: Mapping[str, Any]) -> SessionSummary:
    run, ok, failed = p["actions"]
    median = p.get("median_seconds")
    child = p.get("child")
    return SessionSummary(
        since=datetime.fromisoformat(p["since"]),
        until=datetime.fromisoformat(p["until"]),
        lines=int(p["lines"]),
        by_rule=tuple(RuleCount(str(r), int(n), int(h)) for r, n, h in p["by_rule"]),
        actions_run=int(run),
        actions_ok=int(ok),
        actions_failed=int(failed),
        top=tuple(TopIncident(int(i), str(r), int(c)) for i, r, c in p["top"]),
        still_open=int(p["still_open"]),
        median_resolution=None if median is None else timedelta(seconds=float(median)),
        child=None if child is None else ChildEnd(child[0], child[1]),
    )


def session_summary(data: Summary, ended: ChildExit | None = None) -> SessionSummary:
    """The session's figures from `build_summary`, and how the pipeline ended, if supervised."""
    child = None
    if ended is not None:
        name = signal.Signals(ended.signal).name if ended.signal is not None else None
        child = ChildEnd(ended.returncode, name)
    return SessionSummary(
        since=data.since,
        until=data.until,
        lines=data.lines,
        by_rule=tuple(RuleCount(r, n, h) for r, (n, h) in sorted(data.by_rule.items())),
        actions_run=data.actions_run,
        actions_ok=data.actions_ok,
        actions_failed=data.actions_failed,
        top=tuple(TopIncident(i.id, i.rule, i.count) for i in data.top),
        still_open=data.still_open,
        median_resolution=data.median_resolution,
        child=child,
    )
