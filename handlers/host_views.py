"""Words for several hosts sharing one store: which host an incident is on, each host's state.

Shown only when more than one host has ever heartbeat into the store: with one host
the messages stay as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from adminbot.facts import human_bytes
from adminbot.fleet.silence import is_silent
from adminbot.models import Incident
from adminbot.store.hosts import HostRow
from handlers.i18n import Catalog
from handlers.words import duration, esc

HOST_ICON = "🖥"


def alert_lines(incident: Incident, hosts: int, t: Catalog) -> list[str]:
    """The alert's host line, when hosts share the store."""
    if hosts <= 1 or not incident.host:
        return []
    return [t("alert.host", host=esc(incident.host))]


def line_suffix(incident: Incident, hosts: int) -> str:
    """What an /errors line adds: the host, when hosts share the store."""
    if hosts <= 1 or not incident.host:
        return ""
    return f" · {HOST_ICON} {esc(incident.host)}"


def status_lines(
    rows: Sequence[HostRow],
    silent_after: float,
    t: Catalog,
    time: Callable[[datetime], str],
) -> list[str]:
    """/status: every host with its last heartbeat, version, watched files and checks."""
    if len(rows) <= 1:
        return []
    lines = [t("status.hosts")]
    for row in rows:
        silent = is_silent(row, silent_after)
        lines.append(
            t(
                "status.host_silent" if silent else "status.host_line",
                host=esc(row.name),
                at=time(row.heartbeat_at),
                ago=duration(timedelta(seconds=row.silent_for), t),
                version=esc(row.beat.version),
            )
        )
        for f in row.beat.files:
            lines.append(
                t(
                    "status.host_file",
                    path=esc(f.path),
                    size=human_bytes(f.size),
                    lines=f.lines_read,
                )
            )
        if row.beat.checks:
            checks = ", ".join(f"{name} {state}" for name, state in row.beat.checks)
            lines.append(t("status.host_checks", checks=esc(checks)))
    return lines


def summary_lines(by_host: Mapping[str, tuple[int, int]], t: Catalog) -> list[str]:
    """/summary: incidents and occurrences per host, when hosts share the store."""
    if len(by_host) <= 1:
        return []
    return [
        t("summary.by_host", host=esc(host), incidents=n, hits=hits)
        for host, (n, hits) in sorted(by_host.items())
    ]
