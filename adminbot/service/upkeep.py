"""Maintenance windows started and ended by a person, the same from /maintenance and the page.

Both fronts call these, so a window started on the page is listed by /maintenance
and the other way round, with the same cap and the same summary at its end.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from adminbot.incidents.maintenance import Window
from adminbot.incidents.schedule import Scope
from adminbot.notify.notices import MaintenanceOver
from adminbot.service.runtime import Runtime

logger = logging.getLogger(__name__)

MAX_MAINTENANCE = timedelta(days=7)


def start_maintenance(runtime: Runtime, duration: timedelta, scope: Scope, actor: str) -> Window:
    """An ad-hoc window from now, a week at most."""
    window = runtime.noise.maintenance.start(min(duration, MAX_MAINTENANCE), scope, actor)
    logger.info("Maintenance until %s started by %s", window.ends.isoformat(), actor)
    return window


def end_maintenance(runtime: Runtime, actor: str) -> int:
    """End the ad-hoc windows now (the scheduled ones go on) and queue each one's summary."""
    maintenance = runtime.noise.maintenance
    ended = maintenance.end_adhoc()
    logger.info("%d maintenance window(s) ended by %s", ended, actor)
    for over in maintenance.close_due():
        runtime.outbox.notice(MaintenanceOver.of(over))
    return ended
