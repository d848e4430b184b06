"""Run external commands without a shell, with a deadline, keeping only the tail of their output.

Each command starts in its own session, so on timeout (or cancellation) the whole
process group is killed, children included. A command that cannot start is an
outcome, not an exception: the caller always gets a CommandResult to record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

logger = logging.getLogger(__name__)

TAIL_BYTES = 2048
TERM_GRACE_SECONDS = 1.0  # between SIGTERM and SIGKILL of a timed-out group
PIPE_GRACE_SECONDS = 1.0  # for leftovers still holding the output pipe after the command ended
_READ_CHUNK = 65536


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What one command did; exit_code is None when it timed out or could not start."""

    argv: tuple[str, ...]
    exit_code: int | None
    output_tail: str
    duration: float
    timed_out: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and self.error is None


class CommandRunner(Protocol):
    """Runs an argv list with a timeout; tests swap in a recording fake."""

    # The runner takes the timeout itself because on expiry it must kill
    # the whole process group, which a caller-side asyncio.timeout cannot do.
    async def run(self, argv: Sequence[str], timeout: float) -> CommandResult: ...  # noqa: ASYNC109


class _Tail:
    """Keeps the last `limit` bytes of a stream, so a chatty command cannot fill memory."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer = bytearray()

    async def drain(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(_READ_CHUNK):
            self.buffer += chunk
            if len(self.buffer) > self.limit:
                del self.buffer[: len(self.buffer) - self.limit]

    def text(self) -> str:
        return bytes(self.buffer).decode("utf-8", errors="replace")


class SubprocessRunner:
    """The real runner: asyncio.create_subprocess_exec, stdin from /dev/null, own session.

    `env` replaces the inherited environment when given; pass the pipeline's, not
    adminbot's, so the command never sees our secrets. `cwd` is where commands run.
    `redact` cleans the output tail, which is stored in the audit and shown in alerts.
    """

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        tail_bytes: int = TAIL_BYTES,
        monotonic: Callable[[], float] = time.monotonic,
        redact: Callable[[str], str] = str,
    ) -> None:
        self._env = dict(env) if env is not None else None
        self._redact = redact
        self._cwd = cwd
        self._tail_bytes = tail_bytes
        self._monotonic = monotonic

    async def run(self, argv: Sequence[str], timeout: float) -> CommandResult:  # noqa: ASYNC109
        """Run `argv` for at most `timeout` seconds; never raises for a command that fails."""
        args = tuple(argv)
        started = self._monotonic()
        problem = _argv_problem(args)
        if problem:
            return self._not_started(args, started, problem)
        try:
            process = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                env=self._env,
                cwd=self._cwd,
            )
        except OSError as exc:
            return self._not_started(args, started, f"could not start {args[0]}: {_why(exc)}")
        tail = _Tail(self._tail_bytes)
        assert process.stdout is not None  # we asked for a pipe
        reader = asyncio.create_task(tail.drain(process.stdout))
        try:
            timed_out = await _wait(process, timeout)
            await _finish_reading(reader, process.pid)
        except asyncio.CancelledError:
            # Whoever cancelled us must not leave the command running unseen.
            _kill_group(process.pid, signal.SIGKILL)
            reader.cancel()
            await process.wait()
            raise
        duration = self._monotonic() - started
        if timed_out:
            logger.warning("command %s timed out after %.1f s", args[0], timeout)
        return CommandResult(
            argv=args,
            exit_code=None if timed_out else process.returncode,
            output_tail=self._redact(tail.text()),
            duration=duration,
            timed_out=timed_out,
            error=f"timed out after {timeout:g} s" if timed_out else None,
        )

    def _not_started(self, args: tuple[str, ...], started: float, error: str) -> CommandResult:
        logger.warning("command not started: %s", error)
        return CommandResult(
            argv=args,
            exit_code=None,
            output_tail="",
            duration=self._monotonic() - started,
            error=error,
        )


def _argv_problem(args: tuple[str, ...]) -> str | None:
    if not args:
        return "empty command"
    if not all(isinstance(arg, str) for arg in args):
        return "every argument must be text"
    if any("\x00" in arg for arg in args):
        return "an argument contains a NUL byte"
    return None


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


async def _wait(process: asyncio.subprocess.Process, limit: float) -> bool:
    """Wait for the process; on timeout terminate then kill its group. Return timed_out."""
    try:
        await asyncio.wait_for(process.wait(), limit)
    except TimeoutError:
        _kill_group(process.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), TERM_GRACE_SECONDS)
        _kill_group(process.pid, signal.SIGKILL)
        await process.wait()
        return True
    return False


async def _finish_reading(reader: asyncio.Task[None], pgid: int) -> None:
    """Let the reader reach end of output; kill leftovers of the group that keep the pipe open."""
    try:
        await asyncio.wait_for(asyncio.shield(reader), PIPE_GRACE_SECONDS)
    except TimeoutError:
        logger.warning("children of process group %s kept its output open: killing them", pgid)
        _kill_group(pgid, signal.SIGKILL)
        try:
            await asyncio.wait_for(reader, PIPE_GRACE_SECONDS)
        except TimeoutError:
            logger.warning("output of process group %s never closed; giving up reading", pgid)


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    """Signal every process of the group the command leads (its own session)."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return  # the group is already empty
    except PermissionError:
        logger.warning("no permission to signal process group %s", pgid)
