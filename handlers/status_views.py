"""/status: the watched files, disks, checks, hosts and what is open, on one screen
that always fits one message (the files give way first)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from adminbot.actions.quarantine import QuarantineStats
from adminbot.checks.base import CheckResult, human_bytes
from adminbot.notify.channels import ChannelsStatus
from adminbot.predict.watch import Outlook
from adminbot.store.hosts import HostRow
from adminbot.store.retention import StoreSize
from adminbot.supervise.child import PipelineStatus
from handlers import channel_views, host_views, predict_views, words
from handlers.i18n import Catalog
from handlers.icons import CHECK_ICONS
from handlers.layout import MAX_CHARS, Screen, fit, inline, visible_len
from handlers.list_views import mute_name
from handlers.words import duration, esc


@dataclass(frozen=True)
class FileLine:
    path: str
    size: int
    last_line_at: datetime | None
    problem: str | None
    modified_at: datetime | None = None
    """When the file was last written; told when no line was read since the start."""


@dataclass(frozen=True)
class DiskLine:
    path: str
    percent: float
    free: int


@dataclass(frozen=True)
class StatusReport:
    """Everything /status shows, gathered by the handler from the runtime."""

    started_at: datetime
    files: Sequence[FileLine]
    disks: Sequence[DiskLine]
    cpu_percent: float
    memory_percent: float
    rss: int
    checks: Sequence[CheckResult]
    open_by_rule: Mapping[str, int]
    mutes: Mapping[str, datetime]
    outbox_depth: int
    extra: Sequence[PipelineStatus | QuarantineStats | StoreSize | ChannelsStatus | Outlook] = ()
    hosts: Sequence[HostRow] = ()
    """Every host sharing the store (listed when there is more than one)."""
    silent_after: float = 0.0


def status(report: StatusReport, screen: Screen) -> str:
    t = screen.t
    head = [t("status.title", uptime=duration(screen.now - report.started_at, t)), ""]
    head.append(t("status.files"))
    files = []
    for item in report.files:
        path = inline(item.path, 120)
        if item.problem:
            files.append(t("status.file_problem", path=path, problem=esc(item.problem)))
            continue
        files.append(_file_line(item, path, screen))
    if not report.files:
        files.append(t("status.no_files"))
    rest = _status_rest(report, screen)
    room = MAX_CHARS - 2 - visible_len("\n".join([*head, *rest]))
    return fit("\n".join([*head, *_fit_files(files, room, t), *rest]))


def _file_line(item: FileLine, path: str, screen: Screen) -> str:
    """What is known of a file: its last line read, else when it was last written."""
    t, size = screen.t, human_bytes(item.size)
    if item.last_line_at is not None:
        age = duration(screen.now - item.last_line_at, t)
        return t("status.file", path=path, size=size, age=age)
    if item.modified_at is not None:
        age = duration(screen.now - item.modified_at, t)
        return t("status.file_quiet", path=path, size=size, age=age)
    return t("status.file_waiting", path=path, size=size)


def _fit_files(files: list[str], room: int, t: Catalog) -> list[str]:
    """Keep as many file lines as fit, then say how many were left out, so the
    sections after the files (open incidents, mutes, the outbox) are never dropped."""
    if visible_len("\n".join(files)) + 1 <= room:
        return files
    room -= visible_len(t("status.more_files", count=len(files))) + 1
    kept: list[str] = []
    for line in files:
        room -= visible_len(line) + 1
        if room < 0:
            break
        kept.append(line)
    return [*kept, t("status.more_files", count=len(files) - len(kept))]


def _status_rest(report: StatusReport, screen: Screen) -> list[str]:
    """Everything /status shows after the watched files."""
    t = screen.t
    lines = host_views.status_lines(report.hosts, report.silent_after, t, screen.time)
    if report.disks:
        lines.append(t("status.disk"))
        for disk in report.disks:
            lines.append(
                t(
                    "status.disk_line",
                    path=inline(disk.path, 120),
                    percent=disk.percent,
                    free=human_bytes(disk.free),
                )
            )
    lines.append(
        t(
            "status.host",
            cpu=report.cpu_percent,
            mem=report.memory_percent,
            rss=human_bytes(report.rss),
        )
    )
    if report.checks:
        lines.append(t("status.checks"))
        for result in report.checks:
            lines.append(
                t(
                    "status.check_line",
                    icon=CHECK_ICONS[result.state],
                    name=esc(result.name),
                    summary=words.check(result, t),
                )
            )
    lines.append(t("status.open"))
    open_lines = [
        t("status.open_line", rule=esc(rule), count=count)
        for rule, count in sorted(report.open_by_rule.items())
    ]
    lines += open_lines or [t("status.none")]
    if report.mutes:
        lines.append(t("status.mutes"))
        for target, until in report.mutes.items():
            name = inline(mute_name(target, t), 200)
            lines.append(t("status.mute_line", target=name, until=screen.time(until)))
    for item in report.extra:
        if isinstance(item, ChannelsStatus):
            lines += [esc(line) for line in channel_views.status_lines(item, t)]
        elif isinstance(item, Outlook):
            lines += predict_views.status_lines(item, t)
        else:
            lines.append(_extra(item, t))
    if report.outbox_depth:
        lines.append(t("status.outbox", count=report.outbox_depth))
    return lines


def _extra(item: PipelineStatus | QuarantineStats | StoreSize, t: Catalog) -> str:
    if isinstance(item, StoreSize):
        if item.keep_days <= 0:
            return t("status.store_forever", size=human_bytes(item.size))
        return t("status.store", size=human_bytes(item.size), days=item.keep_days)
    if isinstance(item, QuarantineStats):
        size = human_bytes(item.size)
        return t("status.quarantine", files=item.files, size=size, newest=esc(item.newest))
    if not item.running:
        return t("status.pipeline_down", restarts=item.restarts)
    return t(
        "status.pipeline",
        pid=item.pid,
        uptime=duration(item.uptime, t) if item.uptime is not None else "?",
        restarts=item.restarts,
        cpu="?" if item.cpu_percent is None else f"{item.cpu_percent:.0f}",
        rss="?" if item.rss is None else human_bytes(item.rss),
    )
