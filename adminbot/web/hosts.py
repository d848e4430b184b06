"""The overview's hosts: every host sharing the store, with its heartbeat, checks and disks.

This host's checks are read live from its tracker (with each check's facts); another
host's are the states its agent last wrote to the `hosts` table, with its newest disk
readings from `disk_samples`. Heartbeat and version are shown only when more than one
host shares the store, so one host's page looks as it always did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from adminbot.checks.base import CheckResult
from adminbot.facts import human_bytes, plain
from adminbot.fleet.silence import is_silent
from adminbot.service.runtime import Runtime
from adminbot.store.history import HistoryStore
from adminbot.store.hosts import HostRow
from adminbot.store.rows import UsageSample

DISK_WINDOW = timedelta(hours=1)
"""How far around a host's last heartbeat its newest disk reading is looked for (readings
are stamped on the host's own clock, the heartbeat on the store's)."""
DISK_CHECK = "disk "
"""A disk check is named "disk <folder>" (`build_checks`), its readings by folder."""


@dataclass(frozen=True, slots=True)
class Reading:
    """A folder's newest disk reading, as another host recorded it."""

    used: str
    total: str


@dataclass(frozen=True, slots=True)
class CheckRow:
    name: str
    state: str
    detail: str
    percent: float | None
    reading: Reading | None = None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """When a host last said it was alive, and whether that is too long ago."""

    at: datetime
    version: str
    silent: bool


@dataclass(frozen=True, slots=True)
class HostCard:
    name: str
    open: int
    checks: tuple[CheckRow, ...]
    heartbeat: Heartbeat | None = None


def check_row(result: CheckResult) -> CheckRow:
    percent = result.facts.get("percent")
    detail = ", ".join(
        f"{name} {plain(value)}" for name, value in result.facts.items() if name != "percent"
    )
    return CheckRow(
        result.name,
        result.state.value,
        detail,
        float(percent) if isinstance(percent, int | float) else None,
    )


def remote_checks(
    checks: Sequence[tuple[str, str]], disks: Mapping[str, UsageSample]
) -> tuple[CheckRow, ...]:
    """Another host's check states, each disk check with its folder's newest reading."""
    rows = []
    for name, state in checks:
        sample = disks.get(name.removeprefix(DISK_CHECK)) if name.startswith(DISK_CHECK) else None
        if sample is None or sample.total <= 0:
            rows.append(CheckRow(name, state, "", None))
            continue
        reading = Reading(human_bytes(sample.used), human_bytes(sample.total))
        rows.append(CheckRow(name, state, "", 100.0 * sample.used / sample.total, reading))
    return tuple(rows)


def host_cards(
    runtime: Runtime, history: HistoryStore, open_per_host: Mapping[str, int], here: str
) -> tuple[HostCard, ...]:
    """This host first, then every other host by name: those with a heartbeat row and
    those only incidents name (open incidents counted for each)."""
    rows = {row.name: row for row in runtime.hosts.hosts(runtime.clock())}
    after = runtime.remote.silent_after if rows.keys() - {here} else None
    local = tuple(
        check_row(result)
        for _, result in sorted(runtime.tracker.current().items(), key=lambda item: item[0])
    )
    cards = [HostCard(here, open_per_host.get(here, 0), local, _beat(rows.get(here), after))]
    for name in sorted((rows.keys() | open_per_host.keys()) - {here}):
        row = rows.get(name)
        checks: tuple[CheckRow, ...] = ()
        if row is not None:
            checks = remote_checks(row.beat.checks, _newest_disks(history, row))
        cards.append(HostCard(name, open_per_host.get(name, 0), checks, _beat(row, after)))
    return tuple(cards)


def _beat(row: HostRow | None, after: float | None) -> Heartbeat | None:
    """The heartbeat line, only when hosts share the store (`after` is None otherwise)."""
    if row is None or after is None:
        return None
    return Heartbeat(row.heartbeat_at, row.beat.version, is_silent(row, after))


def _newest_disks(history: HistoryStore, row: HostRow) -> dict[str, UsageSample]:
    """Each folder's newest reading near the host's last heartbeat."""
    at = row.heartbeat_at
    usage = history.disk_usage(at - DISK_WINDOW, at + DISK_WINDOW, host=row.name)
    return {folder: samples[-1] for folder, samples in usage.items() if samples}
