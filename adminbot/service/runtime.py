"""Everything a running adminbot holds, built once from the config.

The Telegram layer and the console loop both take a `Runtime`; tests build one with
fakes swapped in at the edges (clock, command runner, Docker engine).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from adminbot.actions.diskreport import disk_report
from adminbot.actions.docker import DockerClient, http_alive
from adminbot.actions.executor import ActionBudget, ActionKind, Actions, ActionSettings, quarantined
from adminbot.actions.remedies import Remedies
from adminbot.actions.runner import CommandRunner, SubprocessRunner
from adminbot.checks.base import Check, CheckTracker, human_bytes
from adminbot.checks.health import HealthWatcher
from adminbot.checks.probes import (
    BotApiCheck,
    ContainerCheck,
    DiskCheck,
    ProcessCheck,
    StalenessCheck,
)
from adminbot.clock import Clock, utcnow
from adminbot.config import Config
from adminbot.incidents.book import IncidentBook
from adminbot.notify.outbox import Outbox
from adminbot.service.httpapi import HealthServer
from adminbot.service.metrics import Metrics
from adminbot.service.monitor import Monitor
from adminbot.service.selfwatch import SelfWatch
from adminbot.store.sqlite import Store
from adminbot.supervise.child import PipelineChild
from adminbot.supervise.supervisor import RestartPolicy

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    config: Config
    store: Store
    monitor: Monitor
    outbox: Outbox
    remedies: Remedies
    checks: list[Check]
    tracker: CheckTracker
    health: HealthWatcher
    clock: Clock
    started_at: datetime
    selfwatch: SelfWatch
    metrics: Metrics
    docker: DockerClient | None = None
    child: PipelineChild | None = None
    http: HealthServer | None = None
    status_lines: list[Callable[[], str]] = field(default_factory=list)

    @property
    def book(self) -> IncidentBook:
        return self.monitor.book


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


_SECRET = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|ADMIN_ID|^ADMINBOT_", re.IGNORECASE)


def command_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """adminbot's environment minus its secrets: a retry command never sees our token."""
    return {name: value for name, value in environ.items() if not _SECRET.search(name)}


def build_checks(config: Config, monitor: Monitor, docker: DockerClient | None) -> list[Check]:
    settings = config.checks
    checks: list[Check] = []
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
    if config.actions.bot_api_url:
        token = config.token if _is_local(config.actions.bot_api_url) else None
        checks.append(BotApiCheck("bot api", config.actions.bot_api_url, token, timeout=5.0))
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


def _is_local(url: str) -> bool:
    return url.startswith(("http://127.", "http://localhost", "http://[::1]"))


def _newest_line(monitor: Monitor) -> datetime | None:
    times = [f.last_line_at for f in monitor.watched() if f.last_line_at is not None]
    return max(times) if times else None


def build_runtime(
    config: Config,
    *,
    clock: Clock = utcnow,
    runner: CommandRunner | None = None,
    docker: DockerClient | None = None,
    checks: Sequence[Check] | None = None,
    child_argv: Sequence[str] = (),
) -> Runtime:
    """Wire the core together; nothing runs until `Service.start()`."""
    if child_argv:
        config = supervised(config)
    settings = action_settings(config)
    store = Store(config.store_path)
    store.recover_claims()
    outbox = Outbox(
        store,
        config.admin_ids if config.telegram_enabled else (),
        throttle_seconds=config.alerts.edit_throttle_seconds,
        min_severity=config.min_severity,
        clock=clock,
    )
    monitor = Monitor(config, store, outbox=outbox, clock=clock)
    monitor.book.recover_interrupted()
    if docker is None and config.actions.container:
        docker = DockerClient(
            socket_path=config.actions.docker_socket, base_url=config.actions.docker_url
        )
    probe = None
    if config.actions.bot_api_url:
        url = config.actions.bot_api_url
        probe = lambda: http_alive(url)  # noqa: E731 - a tiny adapter
    runner = runner or SubprocessRunner(
        env=command_environment(os.environ), cwd=config.actions.workdir
    )
    actions = Actions(
        settings,
        runner=runner,
        docker=docker,
        bot_api_probe=probe,
    )
    budgets = {
        ActionKind.RESTART_CONTAINER: ActionBudget(
            config.actions.restart_budget, config.actions.restart_budget_minutes * 60
        )
    }
    tracker = CheckTracker()
    checks = list(checks) if checks is not None else build_checks(config, monitor, docker)
    health = HealthWatcher(checks, tracker, monitor, outbox)
    remedies = Remedies(
        store,
        monitor.book,
        outbox,
        actions,
        rules=config.rules,
        budgets=budgets,
        events=monitor.events,
        clock=clock,
        probe=probe,
        server_down=health.bot_api_down,
        disk_report=lambda: disk_report(config.disk_paths),
    )
    monitor.router = remedies.route
    child = None
    if child_argv:
        child = _pipeline_child(config, monitor, child_argv)
        remedies.local_actions[ActionKind.RESTART_PROCESS] = child.restart
    metrics = _metrics(store, tracker, monitor, remedies)
    selfwatch = SelfWatch(
        monitor, store, stall_seconds=max(30.0, 5 * config.watch.backstop_seconds)
    )
    runtime = Runtime(
        config=config,
        store=store,
        monitor=monitor,
        outbox=outbox,
        remedies=remedies,
        checks=checks,
        tracker=tracker,
        health=health,
        clock=clock,
        started_at=clock(),
        docker=docker,
        selfwatch=selfwatch,
        metrics=metrics,
        child=child,
    )
    if config.http.enabled:
        runtime.http = HealthServer(
            config.http.host, config.http.port, runtime.selfwatch.parts, metrics
        )
    if child is not None:
        runtime.status_lines.append(child.status_line)
    runtime.status_lines.append(lambda: quarantine_line(config))
    return runtime


def supervised(config: Config) -> Config:
    """With a child, its output file is watched too, and the demo log is not."""
    watch = replace(config.watch, patterns=(*config.watch.patterns, str(config.child_log)))
    return replace(config, watch=watch, demo=False)


def _pipeline_child(config: Config, monitor: Monitor, argv: Sequence[str]) -> PipelineChild:
    settings = config.supervise
    policy = RestartPolicy(
        config.backoff_delays, settings.restart_budget, settings.restart_budget_minutes * 60
    )
    return PipelineChild(
        argv,
        config.child_log,
        monitor,
        policy=policy,
        cwd=settings.workdir,
        stop_timeout=settings.stop_timeout,
    )


def _metrics(store: Store, tracker: CheckTracker, monitor: Monitor, remedies: Remedies) -> Metrics:
    metrics = Metrics(
        incidents=store.state_counts,
        outbox_depth=store.outbox_depth,
        check_states=lambda: {name: r.state.value for name, r in tracker.current().items()},
    )
    monitor.batch_listeners.append(metrics.lines_read)
    monitor.listeners.append(lambda event: metrics.rule_matched(event.match.rule))
    remedies.listeners.append(
        lambda _incident, outcome, _actor: metrics.action(
            outcome.kind.value, "ok" if outcome.ok else "failed"
        )
    )
    return metrics


def quarantine_line(config: Config) -> str:
    files = quarantined(config.quarantine_dir)
    if not files:
        return ""
    size = sum(f.size for f in files)
    newest = min(files, key=lambda f: f.age_seconds)
    return f"Quarantine: {len(files)} file(s), {human_bytes(size)}; newest {newest.name}"
