"""Gather what a view needs from the runtime, then call the pure view."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

from adminbot.checks.disk import disk_usage
from adminbot.incidents.recurrence import Recurrence, recurrence
from adminbot.models import Incident, IncidentState
from adminbot.notify.notices import Unreadable, notice_from_payload
from adminbot.service.runtime import Runtime
from adminbot.store.hosts import HostRow
from handlers import alert_views, buttons, chart, layout, noise_views, notice_views, status_views
from handlers.i18n import Catalog
from handlers.words import esc

logger = logging.getLogger(__name__)


def words(runtime: Runtime) -> Catalog:
    """The message catalog in the configured language."""
    return Catalog(runtime.config.language)


def screen(runtime: Runtime, now: datetime | None = None) -> layout.Screen:
    hosts = runtime.hosts.count() if runtime.config.database_url is not None else 1
    return layout.Screen(words(runtime), runtime.config.zone, now or runtime.clock(), hosts)


def alert(runtime: Runtime, incident: Incident, *, repeated: bool = False) -> layout.View:
    actions = [kind.value for kind in runtime.remedies.offered(incident)]
    history = runtime.store.audit(incident_id=incident.id)
    actors = {"policy": words(runtime)("actor.policy")}
    return alert_views.alert(
        incident,
        screen(runtime),
        actions,
        history,
        actors,
        no_fix=runtime.remedies.why_no_fix(incident),
        waiting_since=runtime.remedies.waiting.get(incident.id),
        repeated=repeated,
        extra_rows=buttons.alert_rows(runtime, incident, words(runtime)),
        on_it=on_it(runtime, incident),
        muted_until=runtime.book.muted_until(incident.rule, incident.key),
        recurrence=recurrence_of(runtime, incident),
        notes=noise_views.alert_notes(runtime.rules.get(incident.rule), words(runtime)),
    )


def recurrence_of(runtime: Runtime, incident: Incident) -> Recurrence | None:
    """The crash loop or flapping outage this incident continues, within the restart window."""
    window = timedelta(minutes=runtime.config.supervise.restart_budget_minutes)
    return recurrence(runtime.store, incident, window)


def on_it(runtime: Runtime, incident: Incident) -> tuple[str, datetime] | None:
    """Who acknowledged the open incident, and when (the latest acknowledgement)."""
    if not incident.is_open:
        return None
    acks = [
        t
        for t in runtime.store.transitions(incident.id)
        if t.new_state is IncidentState.ACKNOWLEDGED
    ]
    return (acks[-1].actor, acks[-1].at) if acks else None


def message(runtime: Runtime, payload: Mapping[str, Any]) -> layout.View:
    """Render an outbox notice at send time, in the configured language and zone."""
    item = notice_from_payload(payload)
    if isinstance(item, Unreadable):
        logger.error("Unreadable notice in the outbox: %r", dict(payload))
    return notice_views.notice(item, screen(runtime), _patterns(runtime))


def chart_png(runtime: Runtime, since: datetime, until: datetime) -> bytes:
    """The chart of a window, drawn from the store now (slow: call it off the loop)."""
    data = runtime.digests.chart_data(since, until)
    return chart.draw(data, words(runtime), runtime.config.zone)


def _patterns(runtime: Runtime) -> tuple[str, ...]:
    return tuple(runtime.config.watch.patterns or (str(runtime.config.demo_log),))


def _files(runtime: Runtime) -> str:
    return ", ".join(f"<code>{esc(p)}</code>" for p in _patterns(runtime))


def help_text(runtime: Runtime) -> str:
    return words(runtime)("help", files=_files(runtime))


async def status_report(runtime: Runtime) -> status_views.StatusReport:
    files = await asyncio.to_thread(_files_now, runtime)
    disks = await asyncio.to_thread(_disks, runtime)
    process = psutil.Process()
    return status_views.StatusReport(
        started_at=runtime.started_at,
        files=files,
        disks=disks,
        cpu_percent=psutil.cpu_percent(interval=None),
        memory_percent=psutil.virtual_memory().percent,
        rss=process.memory_info().rss,
        checks=list(runtime.tracker.current().values()),
        open_by_rule=runtime.store.open_counts(),
        mutes=runtime.store.mutes(),
        outbox_depth=runtime.store.outbox_depth(),
        extra=[item for item in (source() for source in runtime.status_lines) if item],
        hosts=await asyncio.to_thread(_hosts, runtime),
        silent_after=runtime.remote.silent_after,
    )


def _hosts(runtime: Runtime) -> list[HostRow]:
    """Every host sharing the store (none to list with one host's SQLite store)."""
    if runtime.config.database_url is None:
        return []
    return runtime.hosts.hosts(runtime.clock())


def _files_now(runtime: Runtime) -> list[status_views.FileLine]:
    """The watched files, with the time each was last written (the tailer skips what a
    file held at the first start, so it may have read no line of a busy file)."""
    lines = []
    for f in runtime.monitor.watched():
        modified = None
        if f.last_line_at is None and f.problem is None:
            try:
                modified = datetime.fromtimestamp(Path(f.path).stat().st_mtime, UTC)
            except OSError:
                modified = None
        lines.append(status_views.FileLine(f.path, f.size, f.last_line_at, f.problem, modified))
    return lines


def _disks(runtime: Runtime) -> list[status_views.DiskLine]:
    lines = []
    for path in runtime.config.disk_paths:
        try:
            usage = disk_usage(str(path))
        except OSError as exc:
            logger.info("No disk usage for %s: %s", path, exc.strerror)
            continue
        lines.append(status_views.DiskLine(str(path), usage.percent, usage.free))
    return lines
