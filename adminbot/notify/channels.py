"""Alerts on other channels (e-mail, ntfy, Slack, Discord…) through Apprise, exactly once.

`ChannelQueue` is a router sink: after the commit, a new incident at or above a
channel's `min_severity` becomes a row of that channel's outbox in the store.
`ChannelSender` drains each channel in order, one row at a time: claimed with
compare-and-set, rendered at send time by a renderer the composition root injects
(the words live in handlers/), sent by Apprise in a thread with a timeout, retried
with backoff; a channel that fails for good is told to the admin once and dropped.
A `telegram_down` channel gets an alert only once Telegram delivery has failed for
`fallback_after`; while Telegram works its rows are skipped (Telegram has them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import apprise

from adminbot.clock import Clock
from adminbot.incidents.events import EventKind, IncidentEvent
from adminbot.models import Severity
from adminbot.notify.channel_settings import ChannelConfig, ChannelWhen
from adminbot.notify.channel_urls import key, shown
from adminbot.notify.notices import ChannelFailed
from adminbot.notify.outbox import Outbox
from adminbot.store.channels import ChannelStore, RowState

logger = logging.getLogger(__name__)

MAX_PAUSE = 300.0
SETTLE_SECONDS = 10.0
"""How long Telegram must stay healthy after an alert is queued to count as having taken it."""
_CLIENT_ERROR = re.compile(r"error=(4\d\d)\b")
_TRANSIENT_4XX = {"408", "425", "429"}
_HTTP_STATUS = re.compile(r"HTTP (\d{3})")


@dataclass(frozen=True, slots=True)
class ChannelAlert:
    """What a channel is told of a new incident: facts only, worded by the renderer."""

    incident_id: int
    rule: str
    severity: Severity
    host: str
    source: str
    sample: str
    at: datetime
    link: str | None = None

    def to_payload(self) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id,
            "rule": self.rule,
            "severity": self.severity.value,
            "host": self.host,
            "source": self.source,
            "sample": self.sample,
            "at": self.at.isoformat(),
            "link": self.link,
        }

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> ChannelAlert:
        return cls(
            int(p["incident_id"]),
            str(p["rule"]),
            Severity(p["severity"]),
            str(p["host"]),
            str(p["source"]),
            str(p["sample"]),
            datetime.fromisoformat(p["at"]),
            p.get("link"),
        )


@dataclass(frozen=True, slots=True)
class ChannelText:
    title: str
    body: str


Render = Callable[[ChannelAlert | None], ChannelText]
"""Words for an alert, or for the test message when given None (from handlers/)."""


class Verdict(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    PERMANENT = "permanent"


Transport = Callable[[str, ChannelText, float], tuple[Verdict, str]]


def apprise_send(url: str, text: ChannelText, timeout: float) -> tuple[Verdict, str]:
    """One Apprise notification; a 4xx answer (bad credentials, gone webhook) is permanent."""
    client = apprise.Apprise()
    if not client.add(url):
        return Verdict.PERMANENT, "Apprise cannot use this URL"
    result = client.notify(
        body=text.body, title=text.title, body_format="markdown", timeout=timeout
    )
    if result:
        return Verdict.SENT, ""
    messages = [entry.message for entry in result.logs()]
    codes = [found[1] for m in messages for found in _CLIENT_ERROR.finditer(m)]
    if codes and codes[-1] not in _TRANSIENT_4XX:
        return Verdict.PERMANENT, f"the service answered HTTP {codes[-1]}"
    return Verdict.RETRY, "the service did not take the message"


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    """One channel as /status and /healthz show it."""

    index: int
    name: str
    when: ChannelWhen
    failing_since: datetime | None
    error: str
    queued: int
    dead: str | None

    @property
    def ok(self) -> bool:
        return self.failing_since is None and self.dead is None


@dataclass(frozen=True, slots=True)
class ChannelsStatus:
    """Every configured channel, for /status."""

    channels: tuple[ChannelStatus, ...]


@dataclass
class _Health:
    failing_since: datetime | None = None
    error: str = ""
    failures: int = 0
    next_try: datetime | None = None


class ChannelQueue:
    """The channels' outboxes: filled by the router, read by the sender and /status."""

    def __init__(
        self,
        channels: Sequence[ChannelConfig],
        store: ChannelStore,
        *,
        clock: Clock,
        host: str | None = None,
        on_enqueue: Callable[[], None] | None = None,
    ) -> None:
        self.channels = tuple(channels)
        self.store = store
        self.clock = clock
        self.host = host or socket.gethostname()
        self.on_enqueue = on_enqueue
        self.health = {channel.index: _Health() for channel in self.channels}
        store.recover()

    def route(self, event: IncidentEvent) -> None:
        """A router sink: a new, unmuted incident goes to every channel it is severe enough for."""
        incident = event.incident
        if event.kind is not EventKind.OPENED or event.muted or event.held is not None:
            return
        alert = ChannelAlert(
            incident.id,
            incident.rule,
            incident.severity,
            self.host,
            incident.source,
            event.match.record.text,
            incident.first_seen,
        )
        queued = False
        for channel in self.channels:
            if incident.severity.rank >= channel.min_severity.rank:
                self.store.enqueue(key(channel.url), incident.id, alert.to_payload(), self.clock())
                queued = True
        if queued and self.on_enqueue is not None:
            self.on_enqueue()

    def status(self) -> ChannelsStatus | None:
        if not self.channels:
            return None
        return ChannelsStatus(tuple(self._one(channel) for channel in self.channels))

    def parts(self) -> dict[str, tuple[bool, str]]:
        """For /healthz: each channel's health, named by index, never by URL."""
        parts = {}
        for item in (self._one(channel) for channel in self.channels):
            if item.dead is not None:
                detail = f"failed for good: {item.dead}"
            elif item.failing_since is not None:
                since = item.failing_since.isoformat(timespec="seconds")
                detail = f"failing since {since}: {item.error}; {item.queued} queued"
            else:
                detail = f"ok; {item.queued} queued"
            parts[f"channel {item.index} {item.name}"] = (item.ok, detail)
        return parts

    def _one(self, channel: ChannelConfig) -> ChannelStatus:
        name = key(channel.url)
        health = self.health[channel.index]
        dead = self.store.dead(name)
        return ChannelStatus(
            channel.index,
            shown(channel.url),
            channel.when,
            health.failing_since,
            health.error,
            self.store.queued(name),
            None if dead is None else dead[0],
        )


class ChannelSender:
    """Drains each channel's outbox in order, on the event loop; sends run in threads."""

    def __init__(
        self,
        queue: ChannelQueue,
        outbox: Outbox,
        render: Render,
        *,
        telegram: Callable[[], tuple[bool, str] | None],
        transport: Transport = apprise_send,
        backoff: float = 1.0,
        timeout: float = 15.0,
        period: float = 0.5,
    ) -> None:
        self.queue = queue
        self.outbox = outbox
        self.render = render
        self.telegram = telegram
        self.transport = transport
        self.backoff = backoff
        self.timeout = timeout
        self.period = period
        self.clock = queue.clock
        self.telegram_failing_since: datetime | None = None
        self.telegram_healthy_since: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.queue.channels:
            self._task = asyncio.create_task(self._run(), name="channels")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except Exception:  # the loop must outlive one bad row
                logger.exception("Channel delivery failed unexpectedly")
            await asyncio.sleep(self.period)

    async def deliver_due(self) -> int:
        """One pass over every channel: send what is due, oldest first; returns how many."""
        self._watch_telegram()
        sent = 0
        for channel in self.queue.channels:
            while await self._deliver_next(channel):
                sent += 1
        return sent

    def _watch_telegram(self) -> None:
        now = self.clock()
        part = self.telegram()
        healthy = part is not None and part[0]
        if healthy:
            self.telegram_failing_since = None
            self.telegram_healthy_since = self.telegram_healthy_since or now
        else:
            self.telegram_healthy_since = None
            self.telegram_failing_since = self.telegram_failing_since or now

    async def _deliver_next(self, channel: ChannelConfig) -> bool:
        store, name, now = self.queue.store, key(channel.url), self.clock()
        health = self.queue.health[channel.index]
        if store.dead(name) is not None or (health.next_try and now < health.next_try):
            return False
        row = store.oldest(name)
        if row is None:
            return False
        if channel.when is ChannelWhen.TELEGRAM_DOWN and not self._fallback_due(channel):
            settled = self.telegram_healthy_since
            taken = settled is not None and settled <= row.created_at
            if taken and now - row.created_at >= timedelta(seconds=SETTLE_SECONDS):
                return store.skip(row.id, now)
            return False
        if not store.claim(row.id):
            return False
        text = self.render(ChannelAlert.from_payload(row.payload))
        verdict, detail = await self._send(channel.url, text)
        return self._settle(channel, row.id, verdict, detail)

    def _fallback_due(self, channel: ChannelConfig) -> bool:
        since = self.telegram_failing_since
        return since is not None and self.clock() - since >= timedelta(
            seconds=channel.fallback_after
        )

    async def _send(self, url: str, text: ChannelText) -> tuple[Verdict, str]:
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self.transport, url, text, self.timeout), self.timeout + 5
            )
        except TimeoutError:
            return Verdict.RETRY, f"no answer in {self.timeout:g}s"

    def _settle(self, channel: ChannelConfig, row_id: int, verdict: Verdict, detail: str) -> bool:
        store, name, now = self.queue.store, key(channel.url), self.clock()
        health = self.queue.health[channel.index]
        label = f"channels[{channel.index}] ({shown(channel.url)})"
        if verdict is Verdict.SENT:
            store.finish(row_id, RowState.SENT, now)
            if health.failing_since is not None:
                logger.warning("%s delivers again", label)
            self.queue.health[channel.index] = _Health()
            return True
        if verdict is Verdict.PERMANENT:
            store.finish(row_id, RowState.DROPPED, now)
            if store.mark_dead(name, detail, now):
                logger.error("%s failed for good (%s); not retried", label, detail)
                status = _HTTP_STATUS.search(detail)
                code = None if status is None else int(status[1])
                self.outbox.notice(ChannelFailed(channel.index, shown(channel.url), code, now))
            return False
        store.release(row_id, detail)
        health.failures += 1
        health.error = detail
        health.failing_since = health.failing_since or now
        pause = min(MAX_PAUSE, self.backoff * 2.0 ** min(health.failures - 1, 8))
        health.next_try = now + timedelta(seconds=pause)
        logger.warning("%s failed (%s); retrying in %.1fs", label, detail, pause)
        return False

    async def test(self) -> list[tuple[ChannelConfig, Verdict, str]]:
        """Send the test message to every channel now, whatever its settings."""
        text = self.render(None)
        results = []
        for channel in self.queue.channels:
            verdict, detail = await self._send(channel.url, text)
            results.append((channel, verdict, detail))
        return results
