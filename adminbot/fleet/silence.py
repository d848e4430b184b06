"""A host whose agent stops heartbeating is an incident: "host b silent since 10:42".

One process watches: the front that holds the lease (`Front.on_duty`); only a
process that may become the front builds a watch (`runs_front_duties`). A host is silent when its
last heartbeat, on the store's clock, is older than `after` (3 check periods); the
critical incident is grouped per host and resolved when the host beats again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from adminbot.clock import Clock, utcnow
from adminbot.config import Config
from adminbot.incidents.book import IncidentBook
from adminbot.incidents.intake import OPEN_STATES, Intake
from adminbot.models import IncidentState, Origin, Severity
from adminbot.notify.outbox import Outbox
from adminbot.rules.builtin import HOST_SILENCIOSO
from adminbot.store.hosts import HostRow, HostStore

logger = logging.getLogger(__name__)

SILENT_PERIODS = 3
"""Check periods without a heartbeat after which a host is down."""
ACTOR = "monitor"
SOURCE = "host:"


def runs_front_duties(config: Config) -> bool:
    """Whether this process may do the work one process does for every host: the one
    with the Telegram token (the lease then says which of them does), or the only host."""
    return config.telegram_enabled or config.database_url is None


def is_silent(row: HostRow, after: float) -> bool:
    """The one rule for a host being down: its last heartbeat, on the store's clock, is
    older than `after` seconds (3 check periods)."""
    return row.silent_for > after


def silent_text(host: str, since: datetime, zone: ZoneInfo) -> str:
    return f"host {host} silent since {since.astimezone(zone):%H:%M}"


class SilenceWatch:
    """Raises and resolves one `host_silencioso` incident per silent host."""

    def __init__(
        self,
        hosts: HostStore,
        intake: Intake,
        book: IncidentBook,
        outbox: Outbox,
        *,
        own_host: str,
        after: float,
        zone: ZoneInfo,
        clock: Clock = utcnow,
    ) -> None:
        self.hosts = hosts
        self.intake = intake
        self.book = book
        self.outbox = outbox
        self.own_host = own_host
        self.after = after
        self.zone = zone
        self.clock = clock

    def silent(self, row: HostRow) -> bool:
        return is_silent(row, self.after)

    def round(self) -> list[str]:
        """Raise for hosts gone silent, resolve for hosts back; returns the silent ones."""
        raised = {
            i.host: i.id
            for i in self.intake.store.incidents(rule=HOST_SILENCIOSO.name, states=OPEN_STATES)
        }
        silent = []
        for row in self.hosts.hosts(self.clock()):
            if row.name == self.own_host:
                continue
            if self.silent(row):
                silent.append(row.name)
                if row.name not in raised:
                    self._raise(row)
            elif row.name in raised:
                self._resolve(raised[row.name], row)
        return silent

    def _raise(self, row: HostRow) -> None:
        logger.error("Host %s silent for %.0fs", row.name, row.silent_for)
        self.intake.raise_incident(
            Origin.CHECK,
            HOST_SILENCIOSO.name,
            Severity.CRITICAL,
            silent_text(row.name, row.heartbeat_at, self.zone),
            source=f"{SOURCE}{row.name}",
            key=row.name,
            fields={"host": row.name, "since": row.heartbeat_at.isoformat()},
            host=row.name,
        )

    def _resolve(self, incident_id: int, row: HostRow) -> None:
        logger.info("Host %s heartbeats again", row.name)
        if self.book.move(incident_id, IncidentState.RESOLVED, ACTOR, "heartbeats again"):
            self.outbox.incident_changed(incident_id)
