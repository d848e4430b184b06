"""The extra buttons of an alert: Context and Log on a log line, decisions on a new kind.

Kept apart from the tap handlers (`handlers.evidence`) so the screens can build them
without importing the commands.
"""

from __future__ import annotations

from adminbot.models import Incident
from adminbot.rules.builtin import NUEVO_TIPO
from adminbot.service.runtime import Runtime
from handlers.i18n import Catalog
from handlers.taps import Tap, Verb

Rows = list[list[tuple[str, str]]]


def alert_rows(runtime: Runtime, incident: Incident, t: Catalog) -> Rows:
    """The extra buttons of an open alert: evidence for a log line, decisions for a kind."""
    if incident.state.is_closed:
        return []
    rows: Rows = []
    # Another host's log is on that host: this one's file of the same name would lie.
    local = not runtime.remote.is_remote(incident)
    if local and latest_line(runtime, incident) is not None:
        context_button = (t("btn.context"), _data(Verb.CONTEXT, incident))
        rows.append([context_button, (t("btn.log"), _data(Verb.LOG, incident))])
    if incident.rule == NUEVO_TIPO.name and incident.key.isdigit():
        make = (t("btn.make_rule"), _data(Verb.MAKE_RULE, incident))
        rows.append([make, (t("btn.kind_ignore"), _data(Verb.KIND_IGNORE, incident))])
    return rows


def latest_line(runtime: Runtime, incident: Incident) -> tuple[str, int] | None:
    """The file and line number of the incident's latest occurrence, if a log line."""
    latest = runtime.store.occurrences(incident.id, limit=1)
    if not latest or latest[0][2] <= 0:
        return None
    return latest[0][1], latest[0][2]


def _data(verb: Verb, incident: Incident) -> str:
    return Tap(verb, incident.id, incident.token).encode()
