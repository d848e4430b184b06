"""Requests to Telegram that go out only while this instance is the front.

Every request but `getMe` (a standby checks its token too) is refused while the lease
is not held, so a front that wakes from a freeze with its lease gone sends nothing:
no alert, no edit, no callback answer, no poll. A `getUpdates` long poll waits until
the lease outlasts it by `POLL_MARGIN`, so Telegram has ended it before any other
instance may start polling: never two pollers on one token.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from http import HTTPStatus

from telegram._utils.types import ODVInput  # the type of do_request's timeouts, not re-exported
from telegram.error import NetworkError
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from adminbot.service.lease import Lease

logger = logging.getLogger(__name__)

POLL_MARGIN = 1.0
"""Seconds a long poll's answer is given to come back before the lease ends."""
WAIT_STEP = 0.1
FREE_METHODS = frozenset({"getMe"})
NO_UPDATES = b'{"ok": true, "result": []}'


class NotTheFront(NetworkError):
    """This instance does not hold the front lease now; the request was not sent."""


def fitted_poll_timeout(wanted: int, lease_seconds: float | None) -> int:
    """A long poll short enough to end within the lease left just before a renewal
    (renewals come every third of the lease)."""
    if lease_seconds is None:
        return wanted
    return max(1, min(wanted, int(lease_seconds * 2 / 3 - POLL_MARGIN)))


class LeasedRequest(HTTPXRequest):
    """An HTTPXRequest that asks the lease before each request goes out.

    `long_polls`: this one carries getUpdates; it also remembers when Telegram ends the
    last poll it sent, so a stopping front hands the role over no sooner."""

    def __init__(
        self,
        lease: Lease,
        *,
        connection_pool_size: int,
        read_timeout: float | None = 5.0,
        long_polls: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(connection_pool_size=connection_pool_size, read_timeout=read_timeout)
        self._lease = lease
        self._long_polls = long_polls
        self._monotonic = monotonic
        self._poll_ends_at = -math.inf

    def poll_left(self) -> float:
        """Seconds until Telegram has surely ended our long polls: 0 once one was answered
        (a poll ends any earlier one), else until a cancelled one times out there."""
        return max(0.0, self._poll_ends_at - self._monotonic())

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        if api_method not in FREE_METHODS:
            if self._long_polls:
                seconds = _poll_seconds(request_data)
                if seconds == 0 and not self._lease.held:
                    # The updater's closing confirmation, from a front deposed meanwhile: not
                    # sent, so the next front gets those updates again (they were not acted on).
                    return HTTPStatus.OK, NO_UPDATES
                await self._until_poll_fits(seconds)
            elif not self._lease.held:
                raise NotTheFront(f"{api_method} not sent: this instance is not the front")
        answer = await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        if self._long_polls:
            self._poll_ends_at = -math.inf
        return answer

    async def _until_poll_fits(self, seconds: float) -> None:
        """Wait until the lease outlasts the poll: a renewal is due, or this standby becomes
        the front again; the updater cancels the wait when it stops polling."""
        needed = seconds + POLL_MARGIN
        while self._lease.remaining() < needed:  # noqa: ASYNC110 - time left moves with the clock, no event tells it
            await asyncio.sleep(WAIT_STEP)
        self._poll_ends_at = max(self._poll_ends_at, self._monotonic() + needed)


def _poll_seconds(request_data: RequestData | None) -> float:
    """How long Telegram may hold this getUpdates open (its `timeout` parameter)."""
    if request_data is None:
        return 0.0
    value = request_data.parameters.get("timeout", 0)
    return float(value) if isinstance(value, int | float | str) else 0.0
