"""What the remedies need of the stages that tell the admin, named here as protocols.

The outbox (`adminbot.notify.outbox.Outbox`) and the JSON event log
(`adminbot.notify.eventlog.EventLog`) are handed to `Remedies` by the composition root;
the actions stage never imports the notify stage, which shows action outcomes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from adminbot.incidents.events import IncidentEvent


class Teller(Protocol):
    """The alerts: a new or changed incident told, an automatic fix counted in a storm."""

    def incident_event(self, event: IncidentEvent, *, counted: bool = False) -> None: ...

    def automatic(self, event: IncidentEvent) -> bool: ...

    def alert(self, incident_id: int) -> None: ...

    def incident_changed(self, incident_id: int, delay: timedelta | None = None) -> None: ...


class ActionLog(Protocol):
    """One line per fix run, beside the matches, in the structured log."""

    def action(
        self,
        *,
        at: datetime,
        incident_id: int | None,
        rule: str,
        action: str,
        result: str,
        actor: str,
    ) -> None: ...
