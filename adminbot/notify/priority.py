"""Which queued outbox row goes first: the priorities the outbox and storm mode share."""

from __future__ import annotations

from enum import IntEnum

from adminbot.models import Severity


class Priority(IntEnum):
    """Which queued row goes first (lower first); within one priority, the oldest."""

    CRITICAL = 0
    ERROR = 1
    NOTICE = 2
    EDIT = 3


def alert_priority(severity: Severity) -> Priority:
    """A new alert's place in the queue: critical first, then errors, then the rest."""
    if severity is Severity.CRITICAL:
        return Priority.CRITICAL
    if severity is Severity.ERROR:
        return Priority.ERROR
    return Priority.NOTICE
