"""The supervised pipeline (`adminbot run -- python main.py`) as the incident book sees it.

An unexpected exit raises a `proceso_caido` incident; restarting is an action like
any other, so the policy (auto within a budget, then ask) and the audit apply to it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from adminbot.actions.executor import ActionOutcome
from adminbot.checks.base import human_bytes, human_duration
from adminbot.clock import Clock, utcnow
from adminbot.models import ActionKind
from adminbot.rules.builtin import PROCESO_CAIDO
from adminbot.rules.spec import RuleSpec
from adminbot.service.monitor import Monitor
from adminbot.supervise.supervisor import ChildExit, RestartPolicy, Supervisor

logger = logging.getLogger(__name__)

KEY = "child"
POLICY_ACTOR = "policy"


class PipelineChild:
    """Starts, watches and restarts the pipeline process for adminbot."""

    def __init__(
        self,
        argv: Sequence[str],
        log_path: Path,
        monitor: Monitor,
        *,
        policy: RestartPolicy,
        cwd: Path | None = None,
        stop_timeout: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Clock = utcnow,
        rule: RuleSpec = PROCESO_CAIDO,
    ) -> None:
        self.monitor = monitor
        self.rule = rule
        self.policy = policy
        self.sleep = sleep
        self.clock = clock
        self._stopped = False
        self.supervisor = Supervisor(
            argv, log_path, on_exit=self._on_exit, cwd=cwd, stop_timeout=stop_timeout, clock=clock
        )

    @property
    def log_path(self) -> Path:
        return self.supervisor.log_path

    async def start(self) -> None:
        self._stopped = False
        await self.supervisor.start()

    async def stop(self) -> ChildExit | None:
        """Stop the child for good: a restart still waiting on its backoff must not
        bring it back after adminbot has stopped it (that would leave an orphan)."""
        self._stopped = True
        return await self.supervisor.stop()

    def _on_exit(self, report: ChildExit) -> None:
        """The child died on its own: that is an incident, with its last words."""
        argv = " ".join(self.supervisor.argv)
        tail = "\n".join(report.last_lines[-10:])
        text = f"{argv}: {report.reason} after {report.uptime:.0f}s\n{tail}".rstrip()
        logger.error("Pipeline process exited unexpectedly: %s", report.reason)
        self.monitor.raise_incident(
            self.rule.name,
            self.rule.severity,
            text,
            source=f"process:{self.supervisor.argv[0]}",
            key=KEY,
            fields={"exit": report.reason, "pid": str(report.pid)},
        )

    async def restart(self, actor: str) -> ActionOutcome:
        """Restart the child; by policy only within the restart budget, with backoff."""
        started = time.monotonic()
        if actor == POLICY_ACTOR:
            delay = self.policy.next_delay()
            if delay is None:
                budget = f"{self.policy.budget} in {self.policy.window_seconds / 60:g} min"
                why = f"restart budget used up ({budget}): waiting for the admin"
                return self._outcome(False, why, started)
            await self.sleep(delay)
        else:
            self.policy.reset()
        if self._stopped:
            return self._outcome(False, "not restarted: adminbot is stopping", started)
        if self.supervisor.running:
            await self.supervisor.restart()
        else:
            await self.supervisor.start()
        pid = self.supervisor.pid
        return self._outcome(pid is not None, f"restarted, pid {pid}", started)

    def _outcome(self, ok: bool, summary: str, started: float) -> ActionOutcome:
        return ActionOutcome(
            kind=ActionKind.RESTART_PROCESS,
            ok=ok,
            summary=summary,
            operation=f"restart {' '.join(self.supervisor.argv)}"[:200],
            exit_code=None,
            output_tail="",
            duration=time.monotonic() - started,
            attempts=1,
            refused=False,
        )

    def status_line(self) -> str:
        """One line for /status: pid, uptime, restarts, CPU and memory."""
        status = self.supervisor.status()
        if not status.running or status.started_at is None:
            return f"Pipeline: not running ({status.restarts} restarts)"
        uptime = human_duration(self.clock() - status.started_at)
        cpu = f"{status.cpu_percent:.0f}%" if status.cpu_percent is not None else "?"
        rss = human_bytes(status.rss) if status.rss is not None else "?"
        return (
            f"Pipeline: pid {status.pid}, up {uptime}, {status.restarts} restarts, "
            f"CPU {cpu}, RAM {rss}"
        )
