"""The supervised pipeline (`adminbot run -- python main.py`) as the incident book sees it.

An unexpected exit raises a `proceso_caido` incident; restarting is an action like
any other, so the policy (auto within a budget, then ask) and the audit apply to it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from adminbot.actions.executor import ActionOutcome
from adminbot.actions.outcome import ActionNote, ActionReason, note
from adminbot.clock import Clock, utcnow
from adminbot.facts import Size
from adminbot.incidents.intake import Intake
from adminbot.models import ActionKind, Origin
from adminbot.rules.builtin import PROCESO_CAIDO
from adminbot.rules.spec import RuleSpec
from adminbot.supervise.supervisor import ChildExit, RestartPolicy, Supervisor

logger = logging.getLogger(__name__)

KEY = "child"
POLICY_ACTOR = "policy"


@dataclass(frozen=True, slots=True)
class PipelineStatus:
    """The supervised pipeline as /status shows it; `None` figures were not readable."""

    running: bool
    restarts: int
    pid: int | None = None
    uptime: timedelta | None = None
    cpu_percent: float | None = None
    rss: Size | None = None


class PipelineChild:
    """Starts, watches and restarts the pipeline process for adminbot."""

    def __init__(
        self,
        argv: Sequence[str],
        log_path: Path,
        intake: Intake,
        *,
        policy: RestartPolicy,
        cwd: Path | None = None,
        stop_timeout: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Clock = utcnow,
        rule: RuleSpec = PROCESO_CAIDO,
    ) -> None:
        self.intake = intake
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
        self.intake.raise_incident(
            Origin.PROCESS,
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
                why = note(
                    ActionReason.CHILD_BUDGET_USED_UP,
                    budget=self.policy.budget,
                    minutes=self.policy.window_seconds / 60,
                )
                return self._outcome(False, why, started)
            await self.sleep(delay)
        else:
            self.policy.reset()
        if self._stopped:
            return self._outcome(False, note(ActionReason.CHILD_STOPPING), started)
        if self.supervisor.running:
            await self.supervisor.restart()
        else:
            await self.supervisor.start()
        pid = self.supervisor.pid
        return self._outcome(pid is not None, note(ActionReason.CHILD_RESTARTED, pid=pid), started)

    def _outcome(self, ok: bool, notes: tuple[ActionNote, ...], started: float) -> ActionOutcome:
        return ActionOutcome(
            kind=ActionKind.RESTART_PROCESS,
            ok=ok,
            notes=notes,
            operation=f"restart {' '.join(self.supervisor.argv)}"[:200],
            exit_code=None,
            output_tail="",
            duration=time.monotonic() - started,
            attempts=1,
            refused=False,
        )

    def status_line(self) -> PipelineStatus:
        """What /status shows of the child: pid, uptime, restarts, CPU and memory."""
        status = self.supervisor.status()
        if not status.running or status.started_at is None:
            return PipelineStatus(running=False, restarts=status.restarts)
        return PipelineStatus(
            running=True,
            restarts=status.restarts,
            pid=status.pid,
            uptime=max(self.clock() - status.started_at, timedelta(0)),
            cpu_percent=status.cpu_percent,
            rss=None if status.rss is None else Size(status.rss),
        )
