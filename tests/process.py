"""`python -m adminbot run` as a real process for the end-to-end tests: started, signalled,
killed and restarted the way an operator or a crash would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def process_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This environment without adminbot's or Telegram's settings, plus `extra`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ADMINBOT_", "TELEGRAM"))}
    return {**clean, "PYTHONPATH": str(ROOT), **extra}


class AdminbotProcess:
    """One adminbot run in `cwd`, its output appended to `cwd/adminbot.out`; restartable."""

    def __init__(self, cwd: Path, env: Mapping[str, str]) -> None:
        self.cwd = cwd
        self.env = dict(env)
        self.output_path = cwd / "adminbot.out"
        self.output = self.output_path.open("ab")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "adminbot", "run"],
            cwd=self.cwd,
            env=self.env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )

    def signal(self, number: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        assert self.process is not None
        self.process.wait(timeout=30)

    def said(self, text: str) -> bool:
        return text in self.output_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """SIGTERM (after SIGCONT, should it be frozen), SIGKILL if it does not end."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self.output.close()
