"""Telegram's per-chat limits, kept deliberately instead of learnt from 429 answers.

About one message a second in a private chat, with short bursts allowed, and 20 a
minute in a group (a negative chat id). One token bucket per chat; the clock is
injected so tests run a fast one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Pace:
    """A token bucket: `rate` sends a second sustained, up to `burst` at once after a lull."""

    rate: float
    burst: float


PRIVATE = Pace(rate=1.0, burst=5.0)
GROUP = Pace(rate=20 / 60, burst=3.0)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class Pacer:
    """When the next message to a chat may go out."""

    def __init__(
        self,
        private: Pace = PRIVATE,
        group: Pace = GROUP,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.private = private
        self.group = group
        self.clock = clock
        self._buckets: dict[int, _Bucket] = {}

    def pace(self, chat_id: int) -> Pace:
        return self.group if chat_id < 0 else self.private

    def wait(self, chat_id: int) -> float:
        """Seconds until a message to `chat_id` may go out; 0 when it may go now."""
        pace, bucket = self.pace(chat_id), self._bucket(chat_id)
        if bucket.tokens >= 1.0:
            return 0.0
        return (1.0 - bucket.tokens) / pace.rate

    def take(self, chat_id: int) -> None:
        """Spend one send to `chat_id` (it may go below zero: the next ones wait longer)."""
        self._bucket(chat_id).tokens -= 1.0

    def _bucket(self, chat_id: int) -> _Bucket:
        pace, now = self.pace(chat_id), self.clock()
        bucket = self._buckets.get(chat_id)
        if bucket is None:
            bucket = self._buckets[chat_id] = _Bucket(pace.burst, now)
        bucket.tokens = min(pace.burst, bucket.tokens + (now - bucket.at) * pace.rate)
        bucket.at = now
        return bucket
