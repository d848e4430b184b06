"""The Docker container of the local Bot API server, as its engine reports it."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Protocol

from adminbot.checks.base import (
    CheckReason,
    CheckResult,
    CheckState,
    describe_error,
)
from adminbot.clock import Clock, utcnow
from adminbot.facts import NO_FACTS, Facts, facts
from adminbot.rules.builtin import SERVIDOR_CAIDO

logger = logging.getLogger(__name__)


class ContainerStateLike(Protocol):
    """The part of the Docker client's ContainerState this check reads."""

    @property
    def running(self) -> bool: ...
    @property
    def status(self) -> str: ...
    @property
    def health(self) -> str | None: ...


class ContainerInspector(Protocol):
    """The Docker client as this module needs it; `adminbot.actions.docker.DockerClient` fits.

    Its errors are recognised by their `permanent` attribute (DockerError) or as OSError,
    so this module does not import the client.
    """

    async def inspect(self, name: str) -> ContainerStateLike | None: ...


_MISSING_CONTAINER = re.compile(r"no such (container|object)|not found|\b404\b", re.IGNORECASE)


class ContainerCheck:
    """Report whether the Bot API server's container is up, restarting or gone."""

    raises = SERVIDOR_CAIDO.name  # down is that incident (with its Restart button)

    def __init__(
        self, name: str, docker: ContainerInspector, container: str, *, clock: Clock = utcnow
    ) -> None:
        self.name = name
        self.container = container
        self._docker = docker
        self._clock = clock

    async def run(self) -> CheckResult:
        """Map the engine's view of the container to a state; no engine means UNKNOWN."""
        c = self.container
        try:
            state = await self._docker.inspect(c)
        except Exception as exc:
            # DockerError is not importable here (see ContainerInspector): it is told by its
            # `permanent` flag. Anything else is a bug and goes on to run_checks.
            if not (hasattr(exc, "permanent") or isinstance(exc, OSError)):
                raise
            text = describe_error(exc)
            if _MISSING_CONTAINER.search(text):
                return self._result(
                    CheckState.CRITICAL, CheckReason.CONTAINER_MISSING, facts(container=c)
                )
            logger.warning("container check %s: cannot ask Docker about %s: %s", self.name, c, text)
            return self._result(
                CheckState.UNKNOWN, CheckReason.DOCKER_UNREACHABLE, facts(container=c, error=text)
            )
        if state is None:
            missing = facts(container=c)
            return self._result(CheckState.CRITICAL, CheckReason.CONTAINER_MISSING, missing)
        status = (state.status or "").lower()
        health = (state.health or "").lower()
        health = "" if health == "none" else health
        details = [("container", c), ("status", status), ("health", health or "no health check")]
        started_at = getattr(state, "started_at", None)  # a datetime, or Docker's ISO text
        if isinstance(started_at, datetime):
            details.append(("started", started_at.isoformat(timespec="seconds")))
        elif isinstance(started_at, str) and started_at:
            details.append(("started", started_at))
        verdict, reason = _container_verdict(status, state.running, health)
        exit_code = getattr(state, "exit_code", None)
        if verdict is not CheckState.CRITICAL or not isinstance(exit_code, int):
            exit_code = None
        found = facts(container=c, status=status or "none", health=health, exit_code=exit_code)
        return self._result(verdict, reason, found, tuple(details))

    def _result(
        self,
        state: CheckState,
        reason: CheckReason,
        found: Facts = NO_FACTS,
        details: tuple[tuple[str, str], ...] = (),
    ) -> CheckResult:
        return CheckResult(self.name, state, reason, self._clock(), found, details)


def _container_verdict(status: str, running: bool, health: str) -> tuple[CheckState, CheckReason]:
    """Running is OK; unhealthy, paused or restarting WARNING; stopped or never started CRITICAL."""
    if status == "missing":  # how adminbot.actions.docker reports a 404 from the engine
        return CheckState.CRITICAL, CheckReason.CONTAINER_MISSING
    if status == "restarting":
        return CheckState.WARNING, CheckReason.CONTAINER_RESTARTING
    if status == "paused":
        return CheckState.WARNING, CheckReason.CONTAINER_PAUSED
    if status == "running" or (running and not status):
        if health == "unhealthy":
            return CheckState.WARNING, CheckReason.CONTAINER_UNHEALTHY
        if health:
            return CheckState.OK, CheckReason.CONTAINER_RUNNING_HEALTH
        return CheckState.OK, CheckReason.CONTAINER_RUNNING
    if status in ("exited", "dead", "removing"):
        return CheckState.CRITICAL, CheckReason.CONTAINER_STOPPED
    if status == "created":
        return CheckState.CRITICAL, CheckReason.CONTAINER_CREATED
    return CheckState.UNKNOWN, CheckReason.CONTAINER_ODD
