"""The incidents page's filters, read from the address: unknown or malformed values are dropped."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo

from adminbot.models import IncidentState
from adminbot.store.browse import IncidentQuery

PAGE_SIZE = 50
MAX_TEXT = 200


def _moment(raw: str | None, zone: tzinfo) -> datetime | None:
    """A date or date-time from an <input type=datetime-local>, in the admin's zone."""
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def parse_query(params: Mapping[str, str], zone: tzinfo = UTC) -> tuple[IncidentQuery, int]:
    """The filters and the page number the address asks for."""
    state = params.get("state", "")
    states: tuple[IncidentState, ...] = ()
    if state == "active":
        states = tuple(s for s in IncidentState if not s.is_closed)
    elif state in {s.value for s in IncidentState}:
        states = (IncidentState(state),)
    page_raw = params.get("page", "0")
    page = int(page_raw) if page_raw.isdigit() and len(page_raw) < 7 else 0
    text = (params.get("q") or "").strip()[:MAX_TEXT] or None
    query = IncidentQuery(
        states=states,
        rule=(params.get("rule") or None),
        host=(params.get("host") or None),
        text=text,
        since=_moment(params.get("since"), zone),
        until=_moment(params.get("until"), zone),
    )
    return query, page
