"""The icons a check's state and an incident's severity show as, the same on every screen."""

from __future__ import annotations

from adminbot.checks.base import CheckState
from adminbot.models import Severity

CHECK_ICONS = {
    CheckState.OK: "✅",
    CheckState.WARNING: "🟡",
    CheckState.CRITICAL: "🔴",
    CheckState.UNKNOWN: "❔",
}
SEVERITY_ICONS = {
    Severity.INFO: "ℹ️",
    Severity.WARNING: "🟡",
    Severity.ERROR: "🟠",
    Severity.CRITICAL: "🔴",
}
