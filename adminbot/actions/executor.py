"""Corrective actions that are safe by construction.

Each action is planned into a typed Operation from fields a log line gave (untrusted:
a file name is whatever a Telegram user chose). `plan` validates everything and
touches nothing; `execute` runs the operation without a shell, with a timeout, and
returns an ActionOutcome with everything the audit table needs. Nothing outside the
allowed folders is ever touched.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from adminbot.actions.docker import DockerClient, DockerError, http_alive
from adminbot.actions.operations import ActionKind, ActionSettings, Operation, Planner
from adminbot.actions.paths import Located, make_dirs, open_parent, shown, shown_path
from adminbot.actions.quarantine import (
    QuarantinedFile,
    move_to_quarantine,
    prune_quarantine,
    quarantined,
)
from adminbot.actions.runner import CommandResult, CommandRunner
from adminbot.budget import SlidingWindow
from adminbot.clock import Clock, utcnow
from adminbot.errors import ActionRefused

__all__ = [
    "ActionBudget",
    "ActionKind",
    "ActionOutcome",
    "ActionSettings",
    "Actions",
    "Operation",
    "QuarantinedFile",
    "prune_quarantine",
    "quarantined",
]

logger = logging.getLogger(__name__)

SUMMARY_CHARS = 200
PROBE_TIMEOUT_SECONDS = 5.0
SUDO_PROMPT_SUMMARY = "sudo needs a password: allow adminbot to run chown without one"
SUDO_DENIED_SUMMARY = "sudo does not allow adminbot to run chown: add a sudoers rule for it"

ChownFn = Callable[..., None]


@dataclass(frozen=True)
class ActionOutcome:
    """What an action did, for the admin (`summary`) and the audit table (the rest).

    `refused` means validation refused it and nothing was touched.
    """

    kind: ActionKind
    ok: bool
    summary: str
    operation: str
    exit_code: int | None = None
    output_tail: str = ""
    duration: float = 0.0
    attempts: int = 0
    refused: bool = False


@dataclass(frozen=True)
class _Done:
    """An executor's result before timing and the description are added."""

    ok: bool
    summary: str
    exit_code: int | None = None
    output_tail: str = ""
    attempts: int = 1


def _is_root() -> bool:
    return os.geteuid() == 0


class Actions:
    """Plans and executes corrective actions; every side effect is injected."""

    def __init__(
        self,
        settings: ActionSettings,
        *,
        runner: CommandRunner,
        docker: DockerClient | None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        bot_api_probe: Callable[[], Awaitable[bool]] | None = None,
        chown_fn: ChownFn = os.chown,
        is_root: Callable[[], bool] = _is_root,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self._runner = runner
        self._docker = docker
        self._sleep = sleep
        self._monotonic = monotonic
        if bot_api_probe is None and settings.bot_api_url:
            bot_api_probe = functools.partial(http_alive, settings.bot_api_url)
        self._probe = bot_api_probe
        self._chown_fn = chown_fn
        self._is_root = is_root
        self._clock = clock
        self._planner = Planner(settings, docker_configured=docker is not None)

    def available(self, kind: ActionKind, fields: Mapping[str, str]) -> bool:
        """Return True when `plan` would succeed, to decide which buttons to show."""
        try:
            self.plan(kind, fields)
        except ActionRefused:
            return False
        return True

    def plan(self, kind: ActionKind, fields: Mapping[str, str]) -> Operation:
        """Validate the action for these fields and return the operation; touch nothing."""
        return self._planner.plan(kind, fields)

    async def run(self, kind: ActionKind, fields: Mapping[str, str]) -> ActionOutcome:
        """Plan and execute; a refusal becomes an outcome with `refused=True`.

        An unknown `kind` raises ValueError: it is a bug in the caller, not hostile input.
        """
        kind = ActionKind(kind)
        try:
            operation = self.plan(kind, fields)
        except ActionRefused as exc:
            logger.warning("refused %s: %s", kind, exc)
            return ActionOutcome(
                kind=kind,
                ok=False,
                summary=shown(str(exc), SUMMARY_CHARS),
                operation=f"{kind} (refused)",
                refused=True,
            )
        return await self._execute(operation)

    async def _execute(self, operation: Operation) -> ActionOutcome:
        """Execute an operation `plan` just built and time it; never raises for expected failures.

        Private on purpose: the only way in is `run`, so every operation executed was
        validated a moment before, against the current file system.
        """
        executors = {
            ActionKind.RETRY: self._retry,
            ActionKind.CHOWN: self._chown,
            ActionKind.MKDIR: self._mkdir,
            ActionKind.CLEAN_RETRY: self._clean_retry,
            ActionKind.RESTART_CONTAINER: self._restart,
        }
        started = self._monotonic()
        refused = False
        try:
            done = await executors[operation.kind](operation)
        except ActionRefused as exc:
            done, refused = _Done(False, str(exc), attempts=0), True
        except DockerError as exc:
            done = _Done(False, f"Docker: {exc.message}")
        except OSError as exc:
            done = _Done(False, f"{operation.kind} failed: {exc.strerror or exc}")
        outcome = ActionOutcome(
            kind=operation.kind,
            ok=done.ok,
            summary=shown(done.summary, SUMMARY_CHARS),
            operation=operation.describe(),
            exit_code=done.exit_code,
            output_tail=done.output_tail,
            duration=self._monotonic() - started,
            attempts=done.attempts,
            refused=refused,
        )
        logger.info("action %s: %s -> %s", operation.kind, outcome.operation, outcome.summary)
        return outcome

    async def _retry(self, operation: Operation) -> _Done:
        """Run the retry command up to max_retries times with backoff between attempts."""
        settings = self.settings
        delays = settings.backoff_delays
        result: CommandResult | None = None
        problem = "not run"
        attempt = 0
        for attempt in range(1, settings.max_retries + 1):
            if attempt > 1:
                await self._sleep(delays[min(attempt - 2, len(delays) - 1)])
            result = await self._runner.run(operation.argv, settings.command_timeout)
            problem = _retry_problem(result, operation.expect)
            if problem is None:
                return _Done(
                    True,
                    f"retry succeeded (attempt {attempt} of {settings.max_retries})",
                    result.exit_code,
                    result.output_tail,
                    attempt,
                )
            logger.warning("retry attempt %s failed: %s", attempt, problem)
            if result.error and not result.timed_out:
                break  # the command cannot start: trying again cannot help
        assert result is not None  # max_retries >= 1 is checked in ActionSettings
        return _Done(
            False,
            f"retry failed after {attempt} attempt(s): {problem}",
            result.exit_code,
            result.output_tail,
            attempt,
        )

    async def _chown(self, operation: Operation) -> _Done:
        return await self._change_owner(operation.located(), operation)

    async def _change_owner(self, located: Located, operation: Operation) -> _Done:
        """Change owner without following a symlink: directly as root, else through sudo -n."""
        spec = operation.owner_spec
        if self._is_root():
            with open_parent(located) as (dir_fd, name):
                self._chown_fn(
                    name, operation.uid, operation.gid, dir_fd=dir_fd, follow_symlinks=False
                )
            return _Done(True, f"owner of {shown_path(located.real)} changed to {spec}")
        argv = ("sudo", "-n", "chown", "--no-dereference", spec, "--", str(located.real))
        result = await self._runner.run(argv, self.settings.command_timeout)
        if result.ok:
            return _Done(True, f"owner changed to {spec} (sudo)", 0, result.output_tail)
        if "password is required" in result.output_tail:
            summary = SUDO_PROMPT_SUMMARY
        elif "not allowed" in result.output_tail or "sudoers" in result.output_tail:
            summary = SUDO_DENIED_SUMMARY
        else:
            summary = f"chown failed: {_command_problem(result)}"
        return _Done(False, summary, result.exit_code, result.output_tail)

    async def _mkdir(self, operation: Operation) -> _Done:
        located = operation.located()
        created = make_dirs(located, operation.mode if operation.mode is not None else 0o775)
        if not created:
            return _Done(True, "the folder already exists")
        if operation.changes_owner:
            for path in created:
                child = Located(raw=path, real=path, root=located.root)
                done = await self._change_owner(child, operation)
                if not done.ok:
                    return _Done(False, f"created {len(created)} folder(s), but {done.summary}")
        return _Done(True, f"created {len(created)} folder(s): {shown_path(located.real)}")

    async def _clean_retry(self, operation: Operation) -> _Done:
        """Quarantine the corrupt file (moved, never deleted), then retry the download."""
        destination = await asyncio.to_thread(
            move_to_quarantine, operation.located(), self.settings.quarantine_dir, self._clock()
        )
        retried = await self._retry(operation)
        return _Done(
            retried.ok,
            f"quarantined as {destination.name}; {retried.summary}",
            retried.exit_code,
            retried.output_tail,
            retried.attempts,
        )

    async def _restart(self, operation: Operation) -> _Done:
        name = operation.target or ""
        if self._docker is None:
            raise ActionRefused("Docker is not configured")
        try:
            await self._docker.restart(name, self.settings.restart_wait_seconds)
        except DockerError as exc:
            return _Done(False, f"restart failed: {exc.message}")
        return await self._verify_restart(self._docker, name)

    async def _verify_restart(self, docker: DockerClient, name: str) -> _Done:
        """Poll until the container runs and the Bot API answers, or the wait is over."""
        wait = self.settings.restart_verify_seconds
        deadline = self._monotonic() + wait
        error: str | None = None
        status = "unknown"
        while True:
            try:
                state = await docker.inspect(name)
                error, status = None, state.status
            except DockerError as exc:
                error, state = exc.message, None
            if state is not None and state.running:
                if await self._api_answers():
                    suffix = " and the Bot API answers" if self._probe else ""
                    return _Done(True, f"container {name} restarted{suffix}")
                status = "running, but the Bot API does not answer"
            if self._monotonic() >= deadline:
                break
            await self._sleep(self.settings.restart_poll_seconds)
        if error:
            return _Done(False, f"restarted, but Docker stopped answering: {error}")
        if status.startswith("running"):
            return _Done(False, f"container {name} is {status} after {wait:g} s")
        return _Done(False, f"restarted, but container {name} is {status} after {wait:g} s")

    async def _api_answers(self) -> bool:
        if self._probe is None:
            return True
        try:
            return bool(await asyncio.wait_for(self._probe(), PROBE_TIMEOUT_SECONDS))
        except (OSError, TimeoutError) as exc:
            logger.info("Bot API probe failed: %s", type(exc).__name__)
            return False


def _retry_problem(result: CommandResult, expect: Path | None) -> str | None:
    """Return why an attempt failed, or None when it succeeded."""
    if not result.ok:
        return _command_problem(result)
    if expect is not None and not expect.is_file():
        return f"exit 0 but {shown_path(expect)} is missing"
    return None


def _command_problem(result: CommandResult) -> str:
    if result.error:
        return result.error
    lines = [line for line in result.output_tail.splitlines() if line.strip()]
    last = f": {shown(lines[-1], 80)}" if lines else ""
    return f"exit {result.exit_code}{last}"


ActionBudget = SlidingWindow
"""At most `limit` automatic uses of one fix in any sliding window (see `adminbot.budget`)."""
