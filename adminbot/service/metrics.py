"""Prometheus metrics for adminbot, in a registry of its own.

Counters and the delivery histogram are fed by the stages as things happen.
Gauges that mirror state kept elsewhere (open incidents, outbox depth, check
states) are read through callables at scrape time, so they can never drift from
the store. A private `CollectorRegistry` keeps library defaults out and lets
tests build as many `Metrics` as they like.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from adminbot.rules.ahead import AheadFigures

logger = logging.getLogger(__name__)

# The classic text format that generate_latest writes (newer clients default to 1.0.0).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Nagios-style numbers, so a dashboard can colour and alert on max(adminbot_check_state).
CHECK_STATE_VALUES: Mapping[str, int] = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}
UNKNOWN_CHECK_STATE = 3

# Delivery goes through a durable outbox with retries: seconds normally, minutes when
# Telegram is down, so the buckets reach far.
DELIVERY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)

IncidentCounts = Callable[[], Mapping[tuple[str, str], int]]
OutboxDepth = Callable[[], int]
CheckStates = Callable[[], Mapping[str, "str | int"]]
StoreBytes = Callable[[], int]
Ahead = Callable[[], AheadFigures]

_T = TypeVar("_T")


class Metrics:
    """adminbot's metrics; `render()` is what GET /metrics returns."""

    def __init__(
        self,
        *,
        incidents: IncidentCounts | None = None,
        outbox_depth: OutboxDepth | None = None,
        check_states: CheckStates | None = None,
        store_bytes: StoreBytes | None = None,
        ahead: Ahead | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        self._lines = Counter(
            "adminbot_lines_read",
            "Lines read from watched log files.",
            ["file"],
            registry=self.registry,
        )
        self._matches = Counter(
            "adminbot_rule_matches",
            "Log records classified by a rule.",
            ["rule"],
            registry=self.registry,
        )
        self._by_rule: dict[str, Counter] = {}
        self._actions = Counter(
            "adminbot_actions",
            "Remediation actions run, by kind and result.",
            ["kind", "result"],
            registry=self.registry,
        )
        self._delivery = Histogram(
            "adminbot_alert_delivery_seconds",
            "Time from an alert being queued to Telegram accepting it.",
            buckets=DELIVERY_BUCKETS,
            registry=self.registry,
        )
        self._resends = Counter(
            "adminbot_alert_resends",
            "Messages sent again after an attempt whose outcome was unknown (a timed-out "
            "answer, or in flight when adminbot stopped): each may repeat one already shown.",
            registry=self.registry,
        )
        self._delivery_failures = Counter(
            "adminbot_delivery_failures",
            "Attempts to reach Telegram that failed and will be retried, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.registry.register(
            _ScrapeTimeCollector(incidents, outbox_depth, check_states, store_bytes)
        )
        if ahead is not None:
            self.registry.register(_AheadCollector(ahead))

    def lines_read(self, file: str, n: int) -> None:
        """Count `n` lines read from `file` (a batch at a time, not per line)."""
        if n > 0:
            self._lines.labels(file=file).inc(n)

    def rule_matched(self, rule: str) -> None:
        """Count one record classified by `rule` (once per match: a storm's hot path, so
        each rule's labelled child is looked up once)."""
        child = self._by_rule.get(rule)
        if child is None:
            child = self._by_rule[rule] = self._matches.labels(rule=rule)
        child.inc()

    def action(self, kind: str, result: str) -> None:
        """Count one remediation action of `kind` that ended with `result` (ok, failed...)."""
        self._actions.labels(kind=kind, result=result).inc()

    def delivered(self, seconds: float) -> None:
        """Record how long one alert took to reach Telegram."""
        self._delivery.observe(max(seconds, 0.0))

    def alert_resent(self) -> None:
        """Count one re-send that may repeat a message Telegram already showed."""
        self._resends.inc()

    def delivery_failed(self, reason: str) -> None:
        """Count one failed attempt to deliver (timeout, network, rate_limited, unreadable...)."""
        self._delivery_failures.labels(reason=reason).inc()

    def render(self) -> bytes:
        """The whole registry in the Prometheus text format (version 0.0.4)."""
        return generate_latest(self.registry)


class _ScrapeTimeCollector(Collector):
    """Gauges read from the integrator's callables on each scrape."""

    def __init__(
        self,
        incidents: IncidentCounts | None,
        outbox_depth: OutboxDepth | None,
        check_states: CheckStates | None,
        store_bytes: StoreBytes | None = None,
    ) -> None:
        self._incidents = incidents
        self._outbox_depth = outbox_depth
        self._check_states = check_states
        self._store_bytes = store_bytes

    def describe(self) -> Iterator[Metric]:
        """Declare the names up front so the registry can detect collisions."""
        if self._incidents is not None:
            yield _incidents_family()
        if self._outbox_depth is not None:
            yield _outbox_family()
        if self._check_states is not None:
            yield _checks_family()
        if self._store_bytes is not None:
            yield _store_family()

    def collect(self) -> Iterator[Metric]:
        if self._incidents is not None:
            counts = _read("incidents", self._incidents)
            if counts is not None:
                incidents = _incidents_family()
                for (rule, state), count in sorted(counts.items()):
                    incidents.add_metric([str(rule), str(state)], count)
                yield incidents
        if self._outbox_depth is not None:
            depth = _read("outbox depth", self._outbox_depth)
            if depth is not None:
                outbox = _outbox_family()
                outbox.add_metric([], depth)
                yield outbox
        if self._check_states is not None:
            states = _read("check states", self._check_states)
            if states is not None:
                checks = _checks_family()
                for check, reading in sorted(states.items()):
                    checks.add_metric([check], _check_value(reading))
                yield checks
        if self._store_bytes is not None:
            size = _read("store size", self._store_bytes)
            if size is not None:
                store = _store_family()
                store.add_metric([], size)
                yield store


class _AheadCollector(Collector):
    """The classifier worker's figures (`adminbot.rules.ahead`), read on each scrape."""

    def __init__(self, ahead: Ahead) -> None:
        self._ahead = ahead

    def describe(self) -> Iterator[Metric]:
        yield from _ahead_families()

    def collect(self) -> Iterator[Metric]:
        figures = _read("the classifier worker", self._ahead)
        if figures is None:
            return
        taken, failures, running = _ahead_families()
        taken.add_metric([], figures.taken)
        failures.add_metric([], figures.failures)
        running.add_metric([], 1 if figures.running else 0)
        yield from (taken, failures, running)


def _ahead_families() -> tuple[CounterMetricFamily, CounterMetricFamily, GaugeMetricFamily]:
    return (
        CounterMetricFamily(
            "adminbot_classified_ahead_batches",
            "Batches classified in the worker process while the batch before was stored.",
        ),
        CounterMetricFamily(
            "adminbot_classifier_worker_failures",
            "Classifier workers that died, stopped answering or could not start (their "
            "batches were classified in the service's process).",
        ),
        GaugeMetricFamily(
            "adminbot_classifier_worker_running",
            "1 while a classifier worker process runs (it starts with a backlog or a storm).",
        ),
    )


def _incidents_family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "adminbot_incidents",
        "This host's incidents in the store, by rule and state.",
        labels=["rule", "state"],
    )


def _outbox_family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "adminbot_outbox_depth",
        "Alerts waiting to be delivered (a fleet shares one outbox: every host shows it).",
    )


def _store_family() -> GaugeMetricFamily:
    return GaugeMetricFamily("adminbot_store_bytes", "Size of the store on disk, with its WAL.")


def _checks_family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "adminbot_check_state",
        "Last state of each health check: 0 ok, 1 warning, 2 critical, 3 unknown.",
        labels=["check"],
    )


def _read(what: str, source: Callable[[], _T]) -> _T | None:
    """Call one scrape-time source; a failing one drops its gauge, not the whole scrape."""
    try:
        return source()
    except Exception:  # the source is the integrator's code (the store, the outbox)
        logger.warning("metrics: reading %s failed; left out of this scrape", what, exc_info=True)
        return None


def _check_value(state: str | int) -> int:
    if isinstance(state, int):
        return state if state in CHECK_STATE_VALUES.values() else UNKNOWN_CHECK_STATE
    return CHECK_STATE_VALUES.get(str(state).lower(), UNKNOWN_CHECK_STATE)
