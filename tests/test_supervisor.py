"""Supervisor and RestartPolicy with real processes: the children are small Python scripts."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from adminbot.supervise import supervisor as supervisor_module
from adminbot.supervise.supervisor import ChildExit, RestartPolicy, Supervisor

PY = sys.executable
REPO = Path(__file__).resolve().parent.parent


def _script(code: str) -> list[str]:
    return [PY, "-c", textwrap.dedent(code)]


def _gone(pid: int) -> bool:
    """True when the process no longer exists (or is a zombie nobody reaped yet)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


async def _until(predicate: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


class ExitRecorder:
    """An on_exit callback that remembers what it was told."""

    def __init__(self) -> None:
        self.exits: list[ChildExit] = []

    async def __call__(self, report: ChildExit) -> None:
        self.exits.append(report)


async def test_stdout_and_stderr_lines_reach_the_log_in_order(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "pipeline.log"
    exits = ExitRecorder()
    child = _script(
        """
        import sys
        print("INFO starting download")
        print("ERROR telegram.error.TimedOut: timed out", file=sys.stderr)
        print("INFO retrying")
        print("Traceback (most recent call last):", file=sys.stderr)
        print("INFO done")
        """
    )
    supervisor = Supervisor(child, log, on_exit=exits)

    await supervisor.start()
    await _until(lambda: bool(exits.exits))

    assert _lines(log) == [
        "INFO starting download",
        "ERROR telegram.error.TimedOut: timed out",
        "INFO retrying",
        "Traceback (most recent call last):",
        "INFO done",
    ]
    assert exits.exits[0].returncode == 0
    assert supervisor.running is False


async def test_lines_are_appended_to_an_existing_log(tmp_path: Path) -> None:
    log = tmp_path / "pipeline.log"
    log.write_text("earlier line\n")
    exits = ExitRecorder()

    supervisor = Supervisor(_script("print('new line')"), log, on_exit=exits)
    await supervisor.start()
    await _until(lambda: bool(exits.exits))

    assert _lines(log) == ["earlier line", "new line"]


async def test_crash_calls_on_exit_with_code_and_last_lines(tmp_path: Path) -> None:
    exits = ExitRecorder()
    child = _script(
        """
        import sys
        for n in range(25):
            print(f"line {n}")
        print("FATAL cannot open session file", file=sys.stderr)
        sys.exit(3)
        """
    )
    supervisor = Supervisor(child, tmp_path / "pipeline.log", on_exit=exits)

    await supervisor.start()
    await _until(lambda: bool(exits.exits))

    (report,) = exits.exits
    assert report.returncode == 3
    assert report.signal is None
    assert report.expected is False
    assert report.reason == "exit 3"
    assert len(report.last_lines) == 20
    assert report.last_lines[-1] == "FATAL cannot open session file"
    assert report.last_lines[0] == "line 6"
    assert report.uptime > 0
    assert supervisor.last_exit == report


async def test_crash_ends_the_workers_the_child_left_behind(tmp_path: Path) -> None:
    grandchild_pid = tmp_path / "worker.pid"
    exits = ExitRecorder()
    child = _script(
        f"""
        import pathlib, subprocess, sys
        worker = subprocess.Popen(["sleep", "30"])
        pathlib.Path({str(grandchild_pid)!r}).write_text(str(worker.pid))
        print("ValueError: bad config", file=sys.stderr)
        sys.exit(1)
        """
    )
    supervisor = Supervisor(child, tmp_path / "pipeline.log", on_exit=exits, stop_timeout=2)

    await supervisor.start()
    await _until(lambda: bool(exits.exits))

    assert exits.exits[0].returncode == 1
    assert exits.exits[0].last_lines == ("ValueError: bad config",)
    assert _gone(int(grandchild_pid.read_text()))


async def test_stop_runs_the_sigterm_handler_and_leaves_no_grandchild(tmp_path: Path) -> None:
    marker = tmp_path / "handler-ran"
    grandchild_pid = tmp_path / "grandchild.pid"
    exits = ExitRecorder()
    child = _script(
        f"""
        import pathlib, signal, subprocess, sys, time
        def on_term(signum, frame):
            pathlib.Path({str(marker)!r}).write_text("bye")
            print("got SIGTERM, saving state")
            sys.exit(0)
        signal.signal(signal.SIGTERM, on_term)
        worker = subprocess.Popen(["sleep", "30"])
        pathlib.Path({str(grandchild_pid)!r}).write_text(str(worker.pid))
        print("ready")
        time.sleep(30)
        """
    )
    supervisor = Supervisor(child, tmp_path / "pipeline.log", on_exit=exits, stop_timeout=5)
    await supervisor.start()
    await _until(lambda: "ready" in _lines(tmp_path / "pipeline.log"))
    pid = supervisor.pid
    assert pid is not None

    report = await supervisor.stop()

    assert report is not None
    assert report.expected is True
    assert report.returncode == 0
    assert report.last_lines[-1] == "got SIGTERM, saving state"
    assert marker.read_text() == "bye"
    assert _gone(pid)
    assert _gone(int(grandchild_pid.read_text()))
    assert supervisor.running is False
    assert exits.exits == []  # an exit we asked for is not a crash


async def test_every_run_has_its_own_group_and_stop_ends_the_restarted_ones(
    tmp_path: Path,
) -> None:
    pids = tmp_path / "pids"
    child = _script(
        f"""
        import os, pathlib, subprocess, time
        worker = subprocess.Popen(["sleep", "30"])
        with pathlib.Path({str(pids)!r}).open("a") as out:
            out.write(f"{{os.getpid()}} {{worker.pid}}\\n")
        time.sleep(30)
        """
    )
    supervisor = Supervisor(child, tmp_path / "pipeline.log", stop_timeout=5)
    await supervisor.start()
    await _until(lambda: len(_lines(pids)) == 1)
    await supervisor.restart()
    await _until(lambda: len(_lines(pids)) == 2)
    runs = [tuple(int(pid) for pid in line.split()) for line in _lines(pids)]

    await supervisor.stop()

    assert [pid for run in runs for pid in run if not _gone(pid)] == []
    assert len({leader for leader, _ in runs}) == 2


async def test_child_ignoring_sigterm_is_killed_after_stop_timeout(tmp_path: Path) -> None:
    child = _script(
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready")
        time.sleep(30)
        """
    )
    supervisor = Supervisor(child, tmp_path / "pipeline.log", stop_timeout=0.5)
    await supervisor.start()
    await _until(lambda: "ready" in _lines(tmp_path / "pipeline.log"))
    started = time.monotonic()

    report = await supervisor.stop()

    assert report is not None
    assert report.signal == signal.SIGKILL
    assert report.returncode is None
    assert report.reason == "signal SIGKILL"
    assert 0.4 < time.monotonic() - started < 3


async def test_grandchild_ignoring_sigterm_is_killed_with_the_group(tmp_path: Path) -> None:
    grandchild_pid = tmp_path / "grandchild.pid"
    stubborn = textwrap.dedent(
        f"""
        import os, pathlib, signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        pathlib.Path({str(grandchild_pid)!r}).write_text(str(os.getpid()))
        time.sleep(30)
        """
    )
    child = _script(
        f"""
        import pathlib, subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", {stubborn!r}])
        while not pathlib.Path({str(grandchild_pid)!r}).exists():
            time.sleep(0.01)
        print("ready")
        time.sleep(30)
        """
    )
    supervisor = Supervisor(child, tmp_path / "pipeline.log", stop_timeout=0.5)
    await supervisor.start()
    await _until(lambda: "ready" in _lines(tmp_path / "pipeline.log"))

    pid = int(grandchild_pid.read_text())
    assert not _gone(pid)
    started = time.monotonic()

    report = await supervisor.stop()

    assert report is not None
    assert report.signal == signal.SIGTERM  # the child itself obeyed
    assert _gone(pid)
    assert time.monotonic() - started >= 0.4  # the group was given its stop_timeout


async def test_a_stop_cancelled_by_a_deadline_still_kills_the_group(tmp_path: Path) -> None:
    child = _script(
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready")
        time.sleep(30)
        """
    )
    supervisor = Supervisor(child, tmp_path / "pipeline.log", stop_timeout=30)
    await supervisor.start()
    await _until(lambda: "ready" in _lines(tmp_path / "pipeline.log"))
    pid = supervisor.pid
    assert pid is not None

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(supervisor.stop(), 0.3)

    await _until(lambda: _gone(pid), within=3)


async def test_huge_line_and_invalid_utf8_do_not_break_the_reader(tmp_path: Path) -> None:
    log = tmp_path / "pipeline.log"
    exits = ExitRecorder()
    child = _script(
        """
        import sys
        out = sys.stdout.buffer
        out.write(b"A" * 200_000 + b"\\n")
        out.write(b"bad \\xff\\xfe bytes\\n")
        out.write(b"downloading 10%\\rdownloading 55%\\rdownloading 100%\\r\\n")
        out.write(b"no newline at the end")
        """
    )
    supervisor = Supervisor(child, log, on_exit=exits)

    await supervisor.start()
    await _until(lambda: bool(exits.exits))

    huge, bad, progress, last = _lines(log)
    assert huge == "A" * 65536 + f" [line truncated: {200_000 - 65536} more bytes dropped]"
    assert bad == "bad \ufffd\ufffd bytes"
    assert progress == "downloading 100%"
    assert last == "no newline at the end"
    assert exits.exits[0].returncode == 0


async def test_status_reports_pid_usage_and_restarts(tmp_path: Path) -> None:
    child = _script("import time; print('ready'); time.sleep(30)")
    supervisor = Supervisor(child, tmp_path / "pipeline.log", stop_timeout=2)
    assert supervisor.status().running is False
    await supervisor.start()
    try:
        first = supervisor.status()
        await supervisor.restart()
        second = supervisor.status()
    finally:
        await supervisor.stop()

    assert first.running is True
    assert first.pid is not None
    assert first.rss is not None
    assert first.rss > 0
    assert first.cpu_percent is not None
    assert first.started_at is not None
    assert first.started_at.tzinfo is not None
    assert first.restarts == 0
    assert first.argv == tuple(child)
    assert second.restarts == 1
    assert second.pid != first.pid
    assert supervisor.status().pid is None


async def test_log_rotated_by_rename_is_reopened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(supervisor_module, "REOPEN_CHECK_SECONDS", 0.0)
    log = tmp_path / "pipeline.log"
    go_on = tmp_path / "go-on"
    exits = ExitRecorder()
    child = _script(
        f"""
        import pathlib, time
        print("before rotation")
        while not pathlib.Path({str(go_on)!r}).exists():
            time.sleep(0.01)
        print("after rotation")
        """
    )
    supervisor = Supervisor(child, log, on_exit=exits)
    await supervisor.start()
    await _until(lambda: _lines(log) == ["before rotation"])

    log.rename(tmp_path / "pipeline.log.1")  # what logrotate does without copytruncate
    go_on.touch()
    await _until(lambda: bool(exits.exits))

    assert _lines(tmp_path / "pipeline.log.1") == ["before rotation"]
    assert _lines(log) == ["after rotation"]


async def test_a_daemon_holding_the_output_cannot_hang_stop(tmp_path: Path) -> None:
    daemon_pid = tmp_path / "daemon.pid"
    child = _script(
        f"""
        import pathlib, subprocess, time
        daemon = subprocess.Popen(["sleep", "30"], start_new_session=True)
        pathlib.Path({str(daemon_pid)!r}).write_text(str(daemon.pid))
        print("ready")
        time.sleep(30)
        """
    )
    supervisor = Supervisor(child, tmp_path / "pipeline.log", stop_timeout=2)
    await supervisor.start()
    await _until(lambda: "ready" in _lines(tmp_path / "pipeline.log"))
    started = time.monotonic()
    try:
        report = await supervisor.stop()
    finally:
        os.kill(int(daemon_pid.read_text()), signal.SIGKILL)

    assert report is not None
    assert report.last_lines == ("ready",)
    assert time.monotonic() - started < 4


async def test_a_program_that_cannot_start_raises(tmp_path: Path) -> None:
    supervisor = Supervisor([str(tmp_path / "missing")], tmp_path / "pipeline.log")

    with pytest.raises(FileNotFoundError):
        await supervisor.start()
    assert supervisor.running is False


async def test_child_does_not_inherit_the_systemd_notify_socket(tmp_path: Path) -> None:
    exits = ExitRecorder()
    child = _script("import os; print(os.environ.get('NOTIFY_SOCKET', 'unset'))")
    env = {"NOTIFY_SOCKET": "/run/systemd/notify", "WATCHDOG_USEC": "60000000", "PATH": "/bin"}
    supervisor = Supervisor(child, tmp_path / "pipeline.log", on_exit=exits, env=env)

    await supervisor.start()
    await _until(lambda: bool(exits.exits))

    assert _lines(tmp_path / "pipeline.log") == ["unset"]


def test_restart_policy_backs_off_then_asks_when_the_budget_is_spent() -> None:
    now = [1000.0]
    policy = RestartPolicy(delays=(1, 2, 4), budget=3, window_seconds=600, monotonic=lambda: now[0])

    assert [policy.next_delay(), policy.next_delay(), policy.next_delay()] == [1, 2, 4]
    assert policy.next_delay() is None
    now[0] += 599
    assert policy.next_delay() is None


def test_restart_policy_forgets_attempts_older_than_the_window() -> None:
    now = [0.0]
    policy = RestartPolicy(delays=(1, 2, 4), budget=3, window_seconds=600, monotonic=lambda: now[0])
    policy.next_delay()
    now[0] = 300
    policy.next_delay()
    policy.next_delay()

    now[0] = 600  # the first attempt left the window, the others did not
    assert policy.next_delay() == 4
    assert policy.next_delay() is None


def test_restart_policy_repeats_the_last_delay_and_resets() -> None:
    policy = RestartPolicy(delays=(1, 5), budget=4, monotonic=lambda: 0.0)

    assert [policy.next_delay() for _ in range(5)] == [1, 5, 5, 5, None]
    policy.reset()
    assert policy.next_delay() == 1


def test_sigterm_to_adminbot_stops_its_child(tmp_path: Path) -> None:
    """The intended wiring: adminbot's SIGTERM handler awaits supervisor.stop()."""
    child_pid = tmp_path / "child.pid"
    stopped = tmp_path / "stopped"
    program = tmp_path / "fake_adminbot.py"
    program.write_text(
        textwrap.dedent(
            f"""
            import asyncio, pathlib, signal, sys
            from adminbot.supervise.supervisor import Supervisor

            async def main():
                supervisor = Supervisor(
                    [sys.executable, "-c", "import time; time.sleep(30)"],
                    pathlib.Path({str(tmp_path / "pipeline.log")!r}),
                    stop_timeout=5,
                )
                shutdown = asyncio.Event()
                loop = asyncio.get_running_loop()
                loop.add_signal_handler(signal.SIGTERM, shutdown.set)
                await supervisor.start()
                pathlib.Path({str(child_pid)!r}).write_text(str(supervisor.pid))
                await shutdown.wait()
                report = await supervisor.stop()
                pathlib.Path({str(stopped)!r}).write_text(report.reason)

            asyncio.run(main())
            """
        )
    )
    adminbot = subprocess.Popen([PY, str(program)], cwd=REPO)
    try:
        deadline = time.monotonic() + 10
        while not child_pid.exists() or not child_pid.read_text():
            assert adminbot.poll() is None, "the fake adminbot died early"
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0.02)
        pid = int(child_pid.read_text())
        assert not _gone(pid)

        adminbot.send_signal(signal.SIGTERM)
        assert adminbot.wait(timeout=10) == 0
    finally:
        if adminbot.poll() is None:
            adminbot.kill()
            adminbot.wait()

    assert stopped.read_text() == "signal SIGTERM"
    assert _gone(pid)
