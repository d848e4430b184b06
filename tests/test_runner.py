"""SubprocessRunner with real processes: no fakes, the commands are small Python scripts."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from adminbot.actions.runner import TAIL_BYTES, SubprocessRunner

PY = sys.executable


def _gone(pid: int) -> bool:
    """True when the process no longer exists (or is a zombie nobody reaped yet)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


def _gone_within(pid: int, seconds: float) -> bool:
    """Give the kernel a moment to finish a SIGKILL (blocking on purpose: it is a test)."""
    deadline = time.monotonic() + seconds
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _gone(pid)


async def test_output_and_exit_code_are_captured() -> None:
    runner = SubprocessRunner()

    result = await runner.run([PY, "-c", "print('hello'); raise SystemExit(3)"], timeout=10)

    assert result.exit_code == 3
    assert result.output_tail == "hello\n"
    assert result.timed_out is False
    assert result.error is None
    assert result.ok is False


async def test_stderr_is_merged_into_the_output_tail() -> None:
    code = "import sys; print('out'); sys.stdout.flush(); print('err', file=sys.stderr)"

    result = await SubprocessRunner().run([PY, "-c", code], timeout=10)

    assert result.ok
    assert "out" in result.output_tail
    assert "err" in result.output_tail


async def test_shell_metacharacters_arrive_as_one_literal_argument(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = f"$(touch {marker}); `touch {marker}` | touch {marker} && echo hi"

    result = await SubprocessRunner().run(
        [PY, "-c", "import sys; print(repr(sys.argv[1:]))", hostile], timeout=10
    )

    assert result.output_tail.strip() == repr([hostile])
    assert not marker.exists()


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = textwrap.dedent(
        f"""
        import subprocess, pathlib, time
        child = subprocess.Popen(["sleep", "30"])
        pathlib.Path({str(pid_file)!r}).write_text(str(child.pid))
        print("started", flush=True)
        time.sleep(30)
        """
    )
    started = time.monotonic()

    result = await SubprocessRunner().run([PY, "-c", script], timeout=1.0)

    assert result.timed_out is True
    assert result.exit_code is None
    assert "timed out" in (result.error or "")
    assert "started" in result.output_tail
    assert time.monotonic() - started < 10
    child = int(pid_file.read_text())
    assert _gone_within(child, 3.0), "the grandchild sleeping 30 s survived the timeout"


async def test_missing_executable_is_an_error_result_not_an_exception(tmp_path: Path) -> None:
    result = await SubprocessRunner().run([str(tmp_path / "no-such-program"), "x"], timeout=5)

    assert result.exit_code is None
    assert result.timed_out is False
    assert "could not start" in (result.error or "")
    assert "No such file" in (result.error or "")


async def test_nul_in_an_argument_is_an_error_result() -> None:
    result = await SubprocessRunner().run(["/bin/echo", "a\x00b"], timeout=5)

    assert result.exit_code is None
    assert "NUL" in (result.error or "")


async def test_empty_argv_is_an_error_result() -> None:
    result = await SubprocessRunner().run([], timeout=5)

    assert result.error == "empty command"


async def test_only_the_last_two_kilobytes_are_kept_and_bad_utf8_is_replaced() -> None:
    code = (
        "import sys; sys.stdout.buffer.write(b'A' * 100000 + b'\\xff' + b'B' * 100); "
        "sys.stdout.flush()"
    )

    result = await SubprocessRunner().run([PY, "-c", code], timeout=10)

    assert result.ok
    assert len(result.output_tail.encode("utf-8")) <= TAIL_BYTES + 2
    assert result.output_tail.endswith("\ufffd" + "B" * 100)


async def test_stdin_is_empty_so_a_command_waiting_for_input_does_not_hang() -> None:
    code = "import sys; print(repr(sys.stdin.read()))"

    result = await SubprocessRunner().run([PY, "-c", code], timeout=5)

    assert result.ok
    assert result.output_tail.strip() == "''"


async def test_the_command_runs_in_its_own_session() -> None:
    code = "import os; print(os.getsid(0) == os.getpid())"

    result = await SubprocessRunner().run([PY, "-c", code], timeout=5)

    assert result.output_tail.strip() == "True"


async def test_env_replaces_the_inherited_environment(monkeypatch) -> None:
    monkeypatch.setenv("ADMINBOT_TOKEN_FOR_TEST", "secret")
    code = "import os; print(os.environ.get('ADMINBOT_TOKEN_FOR_TEST'), os.environ['ONLY'])"

    result = await SubprocessRunner(env={"ONLY": "this", "PATH": os.defpath}).run(
        [PY, "-c", code], timeout=5
    )

    assert result.output_tail.strip() == "None this"


async def test_a_token_the_command_prints_is_redacted_from_its_output_tail() -> None:
    from adminbot.redaction import Redactor

    token = "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw-x"
    code = f"print('retrying with https://api.telegram.org/bot{token}/getFile')"

    result = await SubprocessRunner(redact=Redactor().text).run([PY, "-c", code], timeout=5)

    assert token not in result.output_tail
    assert "bot<token>/getFile" in result.output_tail


async def test_cancelling_a_run_kills_the_command_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = textwrap.dedent(
        f"""
        import subprocess, pathlib, time
        child = subprocess.Popen(["sleep", "30"])
        pathlib.Path({str(pid_file)!r}).write_text(str(child.pid))
        time.sleep(30)
        """
    )
    task = asyncio.create_task(SubprocessRunner().run([PY, "-c", script], timeout=60))
    for _ in range(100):
        if pid_file.exists() and pid_file.read_text():
            break
        await asyncio.sleep(0.02)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert _gone_within(int(pid_file.read_text()), 3.0)
