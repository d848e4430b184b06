"""Console mode: the terminal is the front when no Telegram token is set.

Alerts reach the terminal through the console sinks every mode has; this front adds
the banner, the built-in simulator for the demo, and the session summary at the end.
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from adminbot.incidents.summary import build_summary
from adminbot.service.runtime import Runtime
from adminbot.service.selfwatch import Part
from adminbot.supervise.supervisor import ChildExit

DEMO_RATE = 3.0
"""Records per second the demo simulator writes."""


class ConsoleFront:
    """Prints what Telegram would say; runs the demo simulator when nothing is watched."""

    def __init__(
        self,
        runtime: Runtime,
        out: TextIO | None = None,
        *,
        demo_rate: float = DEMO_RATE,
        demo_error_every: float | None = None,
    ) -> None:
        self.runtime = runtime
        self.out = out or sys.stdout
        self.demo_rate = demo_rate
        self.demo_error_every = demo_error_every
        self._demo_stop = threading.Event()
        self._demo: threading.Thread | None = None

    def health(self) -> Part | None:
        return None

    def on_duty(self) -> bool:
        """The terminal front is the only process (console mode has no shared store)."""
        return True

    async def start(self) -> None:
        config = self.runtime.config
        if config.demo:
            self._demo = self._start_demo()
            self._say(
                "adminbot: no log files configured (ADMINBOT_WATCH or [watch] paths in "
                f"adminbot.toml), so it watches a simulated pipeline log: {config.demo_log}"
            )
            self._say(
                f"adminbot: demo fixes act only inside {config.demo_folder}; "
                "its retry command is a harmless stand-in that always succeeds"
            )
        else:
            self._say(f"adminbot: watching {', '.join(config.watch.patterns)}")
        self._say(
            f"adminbot: console mode (no TELEGRAM_TOKEN); events in {config.event_log}; "
            "Ctrl-C stops"
        )

    async def stop(self, ended: ChildExit | None) -> None:
        self._demo_stop.set()
        if self._demo is not None:
            self._demo.join(timeout=5)
        runtime = self.runtime
        summary = build_summary(
            runtime.store, runtime.started_at, runtime.clock(), lines=runtime.monitor.stats.lines
        )
        by_rule = ", ".join(f"{rule} {n}" for rule, (n, _) in sorted(summary.by_rule.items()))
        child = f" Pipeline stopped ({ended.reason})." if ended is not None else ""
        self._say(
            f"Session summary: {summary.lines} lines read, {summary.incidents} incidents"
            f" ({by_rule or 'none'}), {summary.actions_run} actions, "
            f"{summary.still_open} still open.{child}"
        )

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def _start_demo(self) -> threading.Thread:
        """The simulator writes lines naming the demo's folder, so its fixes can run."""
        from adminbot.simulate import simulate as append_lines

        config = self.runtime.config
        config.demo_folder.mkdir(parents=True, exist_ok=True)
        thread = threading.Thread(
            target=append_lines,
            args=(config.demo_log,),
            kwargs={
                "rate": self.demo_rate,
                "stop": self._demo_stop,
                "error_every": self.demo_error_every,
                "root": config.demo_folder,
            },
            name="demo-simulator",
            daemon=True,
        )
        thread.start()
        return thread
