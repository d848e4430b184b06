"""The composition root of the core: every object built once, complete, in dependency order.

The fronts (Telegram in handlers/, the console) take the `Runtime`; tests pass
`Edges` with fakes at the outer edges (clock, command runner, Docker engine, checks).

Over ~400 lines: the composition root reads top to bottom as the program's wiring;
splitting it would hide the dependency order it exists to show.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from dotenv import dotenv_values

from adminbot.actions.diskreport import disk_report
from adminbot.actions.docker import DockerClient
from adminbot.actions.executor import (
    ActionBudget,
    ActionKind,
    ActionOutcome,
    Actions,
    ActionSettings,
)
from adminbot.actions.quarantine import QuarantineStats, quarantine_stats
from adminbot.actions.remedies import OutcomeListener, Remedies
from adminbot.actions.runner import CommandRunner, SubprocessRunner
from adminbot.checks.base import Check, CheckTracker
from adminbot.checks.botapi import BotApiCheck
from adminbot.checks.container import ContainerCheck
from adminbot.checks.disk import DiskCheck
from adminbot.checks.fds import FdCheck
from adminbot.checks.health import HealthWatcher
from adminbot.checks.process import ProcessCheck
from adminbot.checks.staleness import StalenessCheck
from adminbot.clock import Clock, utcnow
from adminbot.config import Config, with_demo_remedies
from adminbot.digest.schedule import DailyAt
from adminbot.errors import StartupError
from adminbot.facts import Size
from adminbot.fleet.agent import CLAIM_WAIT, Agent, claim_host_name
from adminbot.fleet.silence import SILENT_PERIODS, SilenceWatch, runs_front_duties
from adminbot.fleet.work import EXPIRE_AFTER, RemoteFixes
from adminbot.incidents.book import IncidentBook
from adminbot.incidents.events import IncidentEvent
from adminbot.incidents.intake import EventQueue, Intake
from adminbot.incidents.maintenance import Maintenance
from adminbot.incidents.noise import NoiseGate, thresholds_of
from adminbot.kinds.makerule import RuleMaker, stored_specs
from adminbot.kinds.miner import KindMiner
from adminbot.models import Incident
from adminbot.notify.channel_urls import secrets
from adminbot.notify.channels import ChannelQueue, ChannelsStatus
from adminbot.notify.console import ConsoleAlerts
from adminbot.notify.digests import DailyDigests
from adminbot.notify.eventlog import EventLog, redact_logging
from adminbot.notify.notices import LinesUnrecorded
from adminbot.notify.outbox import Doorbell, Outbox
from adminbot.notify.quiet import QuietPolicy
from adminbot.notify.reminders import Reminders
from adminbot.predict.watch import Outlook, Predictions
from adminbot.redaction import Redactor, RedactPattern
from adminbot.rules.ahead import AheadFigures
from adminbot.rules.builtin import NUEVO_TIPO, PROCESO_CAIDO
from adminbot.rules.ignore import IgnoreList
from adminbot.rules.source import RuleSource
from adminbot.service.metrics import Metrics
from adminbot.service.monitor import Monitor
from adminbot.service.weblinks import LoginLinks
from adminbot.store.api import StoreApi
from adminbot.store.backend import open_store
from adminbot.store.channels import ChannelStore
from adminbot.store.history import HistoryStore
from adminbot.store.hosts import HostStore
from adminbot.store.kinds import KindStore
from adminbot.store.lock import DataDirLock
from adminbot.store.logins import UsedLogins
from adminbot.store.noise import NoiseStore
from adminbot.store.retention import StoreSize
from adminbot.store.sqlite import Store
from adminbot.store.trends import TrendStore
from adminbot.store.userrules import UserRuleStore
from adminbot.store.work import WorkStore
from adminbot.supervise.child import PipelineChild, PipelineStatus
from adminbot.supervise.supervisor import RestartPolicy

logger = logging.getLogger(__name__)

StatusFacts = PipelineStatus | QuarantineStats | StoreSize | ChannelsStatus | Outlook
"""Extra facts /status shows, worded by the views."""


@dataclass(frozen=True)
class Periods:
    """How often the periodic work runs, in seconds; tests shorten them."""

    tick: float = 0.5
    heartbeat: float = 10.0
    self_watch: float = 5.0
    prune: float = 6 * 3600.0
    verify: float = 10.0
    """How long a Bot API outage seen in a log line is given to pass before anyone is asked."""
    check: float | None = None
    """The health-check period; None takes `verificacion_periodica` from the config."""
    delivery_backoff: float = 1.0
    """The first pause after a failed send; it doubles up to a cap."""
    drain: float = 5.0
    """How long a stopping front keeps delivering what is queued."""
    storm_window: float = 60.0
    """The window `[alerts] storm_threshold` counts new incidents in."""
    work_poll: float = 1.0
    """How often an agent looks for fixes the front queued for its host."""
    work_expiry: float = EXPIRE_AFTER
    """How long a fix queued for another host waits before it expires."""
    host_claim_wait: float = CLAIM_WAIT
    """How long a starting agent waits for a just-killed copy's session to end."""


@dataclass(frozen=True)
class Edges:
    """The outer edges tests swap for fakes; production takes the defaults."""

    clock: Clock = utcnow
    runner: CommandRunner | None = None
    docker: DockerClient | None = None
    checks: Sequence[Check] | None = None
    periods: Periods = Periods()


@dataclass(frozen=True)
class Runtime:
    """The core as the fronts (Telegram, console) see it: what they read and act through."""

    config: Config
    clock: Clock
    started_at: datetime
    store: StoreApi
    book: IncidentBook
    outbox: Outbox
    bell: Doorbell
    intake: Intake
    monitor: Monitor
    remedies: Remedies
    checks: tuple[Check, ...]
    tracker: CheckTracker
    health: HealthWatcher
    metrics: Metrics
    console: ConsoleAlerts
    periods: Periods
    kinds: KindStore
    channels: ChannelQueue
    predictions: Predictions
    reminders: Reminders
    rules: RuleSource
    """The rules in force: the configuration's and those made in the chat."""
    rule_maker: RuleMaker
    digests: DailyDigests
    """The daily digest's schedule, and the facts and chart series of any window."""
    noise: NoiseGate
    """Maintenance windows, thresholds and `[[ignore]]`: what is recorded but not told."""
    hosts: HostStore
    """Every host sharing the store, as their heartbeats left them."""
    agent: Agent
    """This host's heartbeat row."""
    silence: SilenceWatch | None
    """The watch over the other hosts' heartbeats, in the process with front duties."""
    remote: RemoteFixes
    """Fixes for other hosts' incidents, queued for their agents; this host's, run."""
    docker: DockerClient | None = None
    child: PipelineChild | None = None
    lock: DataDirLock | None = None
    web_links: LoginLinks | None = None
    """Mints the dashboard's one-time login links (None unless `[web] enabled`)."""

    @property
    def status_lines(self) -> list[Callable[[], StatusFacts | None]]:
        """Extra facts for /status: the supervised pipeline, the quarantine."""
        lines: list[Callable[[], StatusFacts | None]] = []
        if self.child is not None:
            lines.append(self.child.status_line)
        lines.append(lambda: quarantine_stats(self.config.quarantine_dir))
        lines.append(lambda: StoreSize(Size(self.store.size_bytes()), self.config.store.keep_days))
        lines.append(self.channels.status)
        lines.append(self.predictions.outlook)
        return lines


def action_settings(config: Config) -> ActionSettings:
    actions = config.actions
    return ActionSettings(
        allowed_roots=actions.allowed_folders,
        retry_argv=actions.retry_command,
        retry_expect_path=actions.retry_expect_path,
        command_timeout=actions.command_timeout,
        max_retries=config.max_retries,
        backoff_delays=config.backoff_delays,
        owner=actions.owner,
        group=actions.group,
        folder_mode=actions.folder_mode,
        quarantine_dir=config.quarantine_dir,
        quarantine_max_age_days=actions.quarantine_max_age_days,
        container=actions.container,
        bot_api_url=actions.bot_api_url,
        path_base=actions.workdir,
    )


BASE_VARIABLES = frozenset({"PATH", "HOME", "LANG", "TZ"})


def command_environment(
    environ: Mapping[str, str],
    *,
    env_file: Path | None = None,
    passthrough: Sequence[str] = (),
) -> dict[str, str]:
    """The pipeline's environment for its retry command, never adminbot's.

    1. A minimal base from adminbot's environment: PATH, HOME, LANG, LC_*, TZ.
    2. The pipeline's own variables from `[actions] env_file` (its `.env`).
    3. The names listed in `[actions] env_passthrough`, copied from adminbot's.
    A deny-list of secret-looking names cannot know DATABASE_URL or SENTRY_DSN.
    """
    env = {
        name: value
        for name, value in environ.items()
        if name in BASE_VARIABLES or name.startswith("LC_")
    }
    if env_file is not None:
        env |= {name: value for name, value in dotenv_values(env_file).items() if value is not None}
    env |= {name: environ[name] for name in passthrough if name in environ}
    return env


def bot_api_check(config: Config) -> BotApiCheck | None:
    """The one probe of the local Bot API server, with the pipeline's token if configured."""
    url = config.actions.bot_api_url
    if not url:
        return None
    return BotApiCheck("bot api", url, config.checks.bot_api_token, timeout=5.0)


def build_checks(
    config: Config, monitor: Monitor, docker: DockerClient | None, bot_api: BotApiCheck | None
) -> list[Check]:
    settings = config.checks
    checks: list[Check] = [FdCheck()]
    for path in config.disk_paths:
        checks.append(
            DiskCheck(
                f"disk {path}",
                path,
                warn_percent=settings.disk_warn_percent,
                crit_percent=settings.disk_crit_percent,
                warn_free_bytes=_mb(settings.disk_warn_free_mb),
                crit_free_bytes=_mb(settings.disk_crit_free_mb),
            )
        )
    if bot_api is not None:
        checks.append(bot_api)
    if docker is not None and config.actions.container:
        checks.append(ContainerCheck("container", docker, config.actions.container))
    process: ProcessCheck | None = None
    if settings.process_cmdline or settings.process_pid_file:
        process = ProcessCheck(
            "pipeline",
            cmdline_contains=settings.process_cmdline,
            pid_file=settings.process_pid_file,
        )
        checks.append(process)
    if settings.max_log_silence_minutes:
        checks.append(
            StalenessCheck(
                "log silence",
                lambda: _newest_line(monitor),
                timedelta(minutes=settings.max_log_silence_minutes),
                process_alive=process.alive if process else None,
            )
        )
    return checks


def _mb(value: float | None) -> int | None:
    return None if value is None else int(value * 1024 * 1024)


def _newest_line(monitor: Monitor) -> datetime | None:
    times = [f.last_line_at for f in monitor.watched() if f.last_line_at is not None]
    return max(times) if times else None


def build_runtime(
    config: Config,
    edges: Edges | None = None,
    *,
    child_argv: Sequence[str] = (),
    console: ConsoleAlerts | None = None,
) -> tuple[Runtime, EventQueue]:
    """Build the core, complete, in dependency order; nothing runs until the service starts.

    Call it on the running event loop: the doorbell and the event queue wake tasks there.
    """
    loop = asyncio.get_running_loop()
    edges = edges or Edges()
    clock = edges.clock
    if child_argv:
        config = supervised(config)
    config = with_demo_remedies(config)
    settings = action_settings(config)
    lock = DataDirLock(config.data_dir)  # before the store: a second adminbot stops here
    store = open_store(config.store_path, config.database_url, config.host_name)
    try:
        # a second copy of this host's agent stops here
        claim_host_name(store, wait=edges.periods.host_claim_wait)
    except StartupError:
        lock.release()
        raise
    bell = Doorbell(loop)
    outbox = Outbox(
        store,
        # an agent without the token queues its alerts for the front that has it
        config.alert_chats if config.telegram_enabled or config.database_url else (),
        throttle_seconds=config.alerts.edit_throttle_seconds,
        min_severity=config.min_severity,
        clock=clock,
        on_enqueue=bell.ring,
        storm_threshold=config.alerts.storm_threshold,
        storm_window=edges.periods.storm_window,
        quiet=QuietPolicy.of(config.alerts.quiet_hours, config.alerts.quiet_mode, config.timezone),
    )
    noise = noise_gate(config, store, clock)
    book = IncidentBook(store, clock, gate=noise)
    book.recover_interrupted()
    queue = EventQueue(loop)
    redactor = Redactor.configured((*config.redact, *channel_secrets(config)))
    redact_logging(redactor)
    trends = TrendStore(store)
    event_log = EventLog(config.event_log)
    intake = Intake(
        store,
        book,
        event_log,
        queue,
        clock=clock,
        redactor=redactor,
        on_unrecorded=lambda lost: outbox.notice(LinesUnrecorded.of(lost)),
        tally=trends.count_rules,
    )
    tracker = CheckTracker()
    metrics = Metrics(
        incidents=store.state_counts,
        outbox_depth=store.outbox_depth,
        check_states=lambda: {name: r.state.value for name, r in tracker.current().items()},
        store_bytes=store.size_bytes,
        ahead=lambda: monitor.ahead.figures() if monitor.ahead else AheadFigures(0, 0, False),
    )
    user_rules = UserRuleStore(store)
    rules = RuleSource(config.rules, stored_specs(user_rules))
    kinds = KindStore(store)
    miner = KindMiner(
        kinds,
        config.rules[NUEVO_TIPO.name],
        warmup=config.kinds.warmup,
        clock=clock,
        redactor=redactor,
    )
    monitor = Monitor(
        config, store, intake, rules, clock=clock, on_lines=metrics.lines_read, kinds=miner
    )
    rule_maker = RuleMaker(store, kinds, rules, user_rules, miner=miner, clock=clock)
    docker = edges.docker
    if docker is None and config.actions.container:
        docker = DockerClient(
            socket_path=config.actions.docker_socket, base_url=config.actions.docker_url
        )
    bot_api = bot_api_check(config)
    probe = bot_api.is_up if bot_api is not None else None
    runner = edges.runner or SubprocessRunner(
        env=command_environment(
            os.environ,
            env_file=config.actions.env_file,
            passthrough=config.actions.env_passthrough,
        ),
        cwd=config.actions.workdir,
        redact=redactor.text,
    )
    actions = Actions(settings, runner=runner, docker=docker, bot_api_probe=probe)
    console = console or ConsoleAlerts(
        zone=config.zone, repeat_every=config.alerts.edit_throttle_seconds
    )
    checks = tuple(
        edges.checks if edges.checks is not None else build_checks(config, monitor, docker, bot_api)
    )
    predictions = Predictions(
        trends,
        intake,
        outbox,
        crit_percent=config.checks.disk_crit_percent,
        horizon=timedelta(hours=config.checks.disk_forecast_hours),
        clock=clock,
    )
    health = HealthWatcher(
        checks,
        tracker,
        intake,
        outbox,
        on_flip=[console.flip],
        on_round=[predictions.round],
        flap_window=timedelta(minutes=config.supervise.restart_budget_minutes),
    )
    child = _pipeline_child(config, intake, child_argv) if child_argv else None
    local_actions = {ActionKind.RESTART_PROCESS: child.restart} if child is not None else {}
    hosts = HostStore(store)
    check_period = edges.periods.check or config.verificacion_periodica
    remote = RemoteFixes(
        store,
        WorkStore(store),
        hosts,
        outbox,
        silent_after=SILENT_PERIODS * check_period,
        expire_after=edges.periods.work_expiry,
        clock=clock,
    )
    remote.recover_interrupted()
    remedies = Remedies(
        store,
        book,
        outbox,
        actions,
        rules=rules,
        budgets=action_budgets(config),
        events=event_log,
        clock=clock,
        probe=probe,
        server_down_since=health.bot_api_down_since,
        verify_seconds=edges.periods.verify,
        disk_report=lambda: disk_report(config.disk_paths),
        local_actions=local_actions,
        on_outcome=[console.outcome, _count_action(metrics)],
        remote=remote,
    )
    channels = ChannelQueue(config.channels, ChannelStore(store), clock=clock)
    at = config.digest.at
    digests = DailyDigests(
        store,
        HistoryStore(store),
        outbox,
        schedule=DailyAt(at, config.zone) if at is not None else None,
        chart=config.digest.chart,
        clock=clock,
    )
    started_at = clock()
    agent = Agent(
        store,
        hosts,
        watched=monitor.watched,
        checks=lambda: {name: r.state.value for name, r in tracker.current().items()},
        started_at=started_at,
        clock=clock,
    )
    silence = None
    if runs_front_duties(config):
        silence = SilenceWatch(
            hosts,
            intake,
            book,
            outbox,
            own_host=store.host,
            after=SILENT_PERIODS * check_period,
            zone=config.zone,
            clock=clock,
        )
    runtime = Runtime(
        config=config,
        clock=clock,
        started_at=started_at,
        store=store,
        book=book,
        outbox=outbox,
        bell=bell,
        intake=intake,
        monitor=monitor,
        remedies=remedies,
        checks=checks,
        tracker=tracker,
        health=health,
        metrics=metrics,
        console=console,
        periods=edges.periods,
        kinds=kinds,
        channels=channels,
        predictions=predictions,
        reminders=Reminders(
            store,
            book,
            outbox,
            after=config.alerts.remind_after,
            every=config.alerts.remind_every,
            clock=clock,
        ),
        rules=rules,
        rule_maker=rule_maker,
        digests=digests,
        noise=noise,
        hosts=hosts,
        agent=agent,
        silence=silence,
        remote=remote,
        docker=docker,
        child=child,
        lock=lock,
        web_links=LoginLinks(store, config, UsedLogins(store), clock)
        if config.web.enabled
        else None,
    )
    return runtime, queue


def noise_gate(config: Config, store: Store, clock: Clock) -> NoiseGate:
    """Maintenance windows, thresholds and ignore patterns, on this host's store."""
    noise = NoiseStore(store)
    maintenance = Maintenance(noise, config.maintenance, config.zone, clock)
    return NoiseGate(
        noise,
        store,
        maintenance,
        thresholds=thresholds_of(config.rules.specs),
        ignore=IgnoreList(config.ignore, config.host_name),
    )


def action_budgets(config: Config) -> dict[ActionKind, ActionBudget]:
    """How many automatic runs of each fix a window allows before the admin is asked."""
    actions = config.actions
    window = actions.restart_budget_minutes * 60
    budgets = {
        kind: ActionBudget(actions.auto_fix_budget, window)
        for kind in (
            ActionKind.RETRY,
            ActionKind.CLEAN_RETRY,
            ActionKind.MKDIR,
            ActionKind.CHOWN,
            ActionKind.QUARANTINE,
        )
    }
    budgets[ActionKind.RESTART_CONTAINER] = ActionBudget(actions.restart_budget, window)
    return budgets


def incident_sinks(runtime: Runtime) -> list[Callable[[IncidentEvent], None]]:
    """What follows from each committed incident event, in order (repeats collapsed)."""
    return [runtime.console, runtime.remedies.route, runtime.channels.route]


def incident_counters(runtime: Runtime) -> list[Callable[[IncidentEvent], None]]:
    """What counts every single match."""
    metrics = runtime.metrics
    return [lambda event: metrics.rule_matched(event.match.rule)]


def channel_secrets(config: Config) -> list[RedactPattern]:
    """The channel URLs' credentials, hidden wherever a line or a log is written."""
    found = {s for channel in config.channels for s in secrets(channel.url)}
    return [RedactPattern(re.escape(s)) for s in sorted(found, key=len, reverse=True)]


def _count_action(metrics: Metrics) -> OutcomeListener:
    def count(_incident: Incident, outcome: ActionOutcome, _actor: str) -> None:
        metrics.action(outcome.kind.value, "ok" if outcome.ok else "failed")

    return count


def supervised(config: Config) -> Config:
    """With a child, its output file is watched too, and the demo log is not."""
    watch = replace(config.watch, patterns=(*config.watch.patterns, str(config.child_log)))
    return replace(config, watch=watch, demo=False)


def _pipeline_child(config: Config, intake: Intake, argv: Sequence[str]) -> PipelineChild:
    settings = config.supervise
    policy = RestartPolicy(
        config.backoff_delays, settings.restart_budget, settings.restart_budget_minutes * 60
    )
    return PipelineChild(
        argv,
        config.child_log,
        intake,
        policy=policy,
        cwd=settings.workdir,
        stop_timeout=settings.stop_timeout,
        rule=config.rules[PROCESO_CAIDO.name],
    )
