"""One sliding-window budget, for every "at most N times in T" limit adminbot keeps.

Automatic container restarts (`actions`) and automatic restarts of the supervised
pipeline (`supervise`) both stop and hand over to the admin once the budget is
spent; uses older than the window are forgotten. The clock is injected.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """At most `limit` uses in any sliding `window_seconds`, so a fix loop cannot run away."""

    def __init__(
        self, limit: int, window_seconds: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 0:
            raise ValueError("a budget must not be negative")
        self.limit = limit
        self.window_seconds = window_seconds
        self._monotonic = monotonic
        self._uses: deque[float] = deque()

    def _expire(self) -> float:
        now = self._monotonic()
        while self._uses and self._uses[0] <= now - self.window_seconds:
            self._uses.popleft()
        return now

    def used(self) -> int:
        """Uses inside the current window."""
        self._expire()
        return len(self._uses)

    def allow(self) -> bool:
        """Record a use and return True if the budget has room, else return False."""
        now = self._expire()
        if len(self._uses) >= self.limit:
            return False
        self._uses.append(now)
        return True

    def remaining(self) -> int:
        """Uses left in the current window."""
        return max(0, self.limit - self.used())

    def reset(self) -> None:
        """Forget every use: the admin took over."""
        self._uses.clear()
