"""Corrective actions that are safe by construction.

Each action is planned into a typed Operation from fields a log line gave (untrusted:
a file name is whatever a Telegram user chose). `plan` validates everything and
touches nothing; `execute` runs the operation without a shell, with a timeout, and
returns an ActionOutcome with everything the audit table needs. Nothing outside the
allowed folders is ever touched.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from adminbot.actions.containers import DockerError
from adminbot.actions.docker import DockerClient
from adminbot.actions.operations import ActionSettings, Operation, Planner
from adminbot.actions.outcome import ActionNote, ActionOutcome, ActionReason, note
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
from adminbot.facts import Fact
from adminbot.models import ActionKind

__all__ = [
    "ActionBudget",
    "ActionKind",
    "ActionNote",
    "ActionOutcome",
    "ActionReason",
    "ActionSettings",
    "Actions",
    "Operation",
    "QuarantinedFile",
    "prune_quarantine",
    "quarantined",
]

logger = logging.getLogger(__name__)

SUMMARY_CHARS = 200
TEXT_CHARS = 160
PROBE_TIMEOUT_SECONDS = 5.0

ChownFn = Callable[..., None]


@dataclass(frozen=True)
class _Done:
    """An executor's result before timing and the description are added."""

    ok: bool
    notes: tuple[ActionNote, ...]
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
        self._probe = bot_api_probe
        self._chown_fn = chown_fn
        self._is_root = is_root
        self._clock = clock
        self._planner = Planner(settings, docker_configured=docker is not None)

    def available(self, kind: ActionKind, fields: Mapping[str, str]) -> bool:
        """Return True when `plan` would succeed, to decide which buttons to show."""
        return self.why_not(kind, fields) is None

    def why_not(self, kind: ActionKind, fields: Mapping[str, str]) -> str | None:
        """Why `plan` would refuse this fix for these fields (shown on the alert), or None."""
        try:
            self.plan(kind, fields)
        except ActionRefused as exc:
            return shown(str(exc), SUMMARY_CHARS)
        return None

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
                notes=note(ActionReason.REFUSED, why=shown(str(exc), SUMMARY_CHARS)),
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
            ActionKind.QUARANTINE: self._quarantine,
            ActionKind.RESTART_CONTAINER: self._restart,
        }
        started = self._monotonic()
        refused = False
        try:
            done = await executors[operation.kind](operation)
        except ActionRefused as exc:
            why = shown(str(exc), SUMMARY_CHARS)
            done, refused = _Done(False, note(ActionReason.REFUSED, why=why), attempts=0), True
        except DockerError as exc:
            done = _Done(False, note(ActionReason.DOCKER_ERROR, error=_text(exc.message)))
        except OSError as exc:
            error = _text(exc.strerror or str(exc))
            failed = note(ActionReason.OS_ERROR, action=operation.kind.value, error=error)
            done = _Done(False, failed)
        outcome = ActionOutcome(
            kind=operation.kind,
            ok=done.ok,
            notes=done.notes,
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
        problem: dict[str, Fact] = {"error": "not run"}
        attempt = 0
        for attempt in range(1, settings.max_retries + 1):
            if attempt > 1:
                await self._sleep(delays[min(attempt - 2, len(delays) - 1)])
            result = await self._runner.run(operation.argv, settings.command_timeout)
            failed = _retry_problem(result, operation.expect)
            if failed is None:
                return _Done(
                    True,
                    note(ActionReason.RETRY_OK, attempt=attempt, attempts=settings.max_retries),
                    result.exit_code,
                    result.output_tail,
                    attempt,
                )
            problem = failed
            logger.warning("retry attempt %s failed: %s", attempt, problem)
            if result.error and not result.timed_out:
                break  # the command cannot start: trying again cannot help
        assert result is not None  # max_retries >= 1 is checked in ActionSettings
        return _Done(
            False,
            note(ActionReason.RETRY_FAILED, attempt=attempt, **problem),
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
            changed = note(ActionReason.CHOWN_OK, path=shown_path(located.real), owner=spec)
            return _Done(True, changed)
        argv = ("sudo", "-n", "chown", "--no-dereference", spec, "--", str(located.real))
        result = await self._runner.run(argv, self.settings.command_timeout)
        if result.ok:
            return _Done(True, note(ActionReason.CHOWN_OK_SUDO, owner=spec), 0, result.output_tail)
        if "password is required" in result.output_tail:
            why = note(ActionReason.SUDO_PASSWORD)
        elif "not allowed" in result.output_tail or "sudoers" in result.output_tail:
            why = note(ActionReason.SUDO_DENIED)
        else:
            why = note(ActionReason.CHOWN_FAILED, **_command_problem(result))
        return _Done(False, why, result.exit_code, result.output_tail)

    async def _mkdir(self, operation: Operation) -> _Done:
        located = operation.located()
        created = make_dirs(located, operation.mode if operation.mode is not None else 0o775)
        if not created:
            return _Done(True, note(ActionReason.FOLDER_EXISTS))
        if operation.changes_owner:
            for path in created:
                child = Located(raw=path, real=path, root=located.root)
                done = await self._change_owner(child, operation)
                if not done.ok:
                    partly = note(ActionReason.FOLDERS_CREATED_PARTLY, count=len(created))
                    return _Done(False, partly + done.notes)
        made = note(ActionReason.FOLDERS_CREATED, count=len(created), path=shown_path(located.real))
        return _Done(True, made)

    async def _quarantine(self, operation: Operation) -> _Done:
        """Move the corrupt file to quarantine (never deleted); nothing is downloaded again."""
        destination = await asyncio.to_thread(
            move_to_quarantine, operation.located(), self.settings.quarantine_dir, self._clock()
        )
        return _Done(True, note(ActionReason.QUARANTINED, name=str(destination)))

    async def _clean_retry(self, operation: Operation) -> _Done:
        """Quarantine the corrupt file (moved, never deleted), then retry the download."""
        destination = await asyncio.to_thread(
            move_to_quarantine, operation.located(), self.settings.quarantine_dir, self._clock()
        )
        retried = await self._retry(operation)
        return _Done(
            retried.ok,
            note(ActionReason.QUARANTINED, name=str(destination)) + retried.notes,
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
            return _Done(False, note(ActionReason.RESTART_FAILED, error=_text(exc.message)))
        return await self._verify_restart(self._docker, name)

    async def _verify_restart(self, docker: DockerClient, name: str) -> _Done:
        """Poll until the container runs and the Bot API answers, or the wait is over."""
        wait = self.settings.restart_verify_seconds
        deadline = self._monotonic() + wait
        error: str | None = None
        status = "unknown"
        api_silent = False
        while True:
            try:
                state = await docker.inspect(name)
                error, status = None, state.status
            except DockerError as exc:
                error, state = exc.message, None
            if state is not None and state.running:
                if await self._api_answers():
                    why = ActionReason.CONTAINER_RESTARTED_API
                    if self._probe is None:
                        why = ActionReason.CONTAINER_RESTARTED
                    return _Done(True, note(why, container=name))
                api_silent = True
            else:
                api_silent = False
            if self._monotonic() >= deadline:
                break
            await self._sleep(self.settings.restart_poll_seconds)
        if error:
            return _Done(False, note(ActionReason.DOCKER_LOST, error=_text(error)))
        if api_silent:
            return _Done(False, note(ActionReason.API_SILENT, container=name, seconds=float(wait)))
        down = note(ActionReason.CONTAINER_DOWN, container=name, status=status, seconds=float(wait))
        return _Done(False, down)

    async def _api_answers(self) -> bool:
        if self._probe is None:
            return True
        try:
            return bool(await asyncio.wait_for(self._probe(), PROBE_TIMEOUT_SECONDS))
        except (OSError, TimeoutError) as exc:
            logger.info("Bot API probe failed: %s", type(exc).__name__)
            return False


def _retry_problem(result: CommandResult, expect: Path | None) -> dict[str, Fact] | None:
    """Return why an attempt failed (as `Problem` facts), or None when it succeeded."""
    if not result.ok:
        return _command_problem(result)
    if expect is not None and not expect.is_file():
        return {"missing": shown_path(expect)}
    return None


def _command_problem(result: CommandResult) -> dict[str, Fact]:
    if result.error:
        return {"error": _text(result.error)}
    lines = [line for line in result.output_tail.splitlines() if line.strip()]
    code: dict[str, Fact] = {} if result.exit_code is None else {"exit_code": result.exit_code}
    return {**code, "output": shown(lines[-1], 80)} if lines else code


def _text(text: str) -> str:
    """Foreign text (an engine's or a command's message) cut to fit in an alert line."""
    return shown(text, TEXT_CHARS)


ActionBudget = SlidingWindow
"""At most `limit` automatic uses of one fix in any sliding window (see `adminbot.budget`)."""
