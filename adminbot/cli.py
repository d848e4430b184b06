"""The `adminbot` command: run, simulate, check-rules."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dotenv import load_dotenv

from adminbot import __version__
from adminbot.config import Config, load_config
from adminbot.errors import ConfigError

if TYPE_CHECKING:
    # The runtime (asyncio, httpx, watchdog, SQLite...) is imported only by the commands
    # that run it, so `check-rules` and `simulate` start fast.
    import asyncio

    from adminbot.notify.console import ConsoleAlerts
    from adminbot.service.monitor import Monitor
    from adminbot.service.runtime import Runtime
    from adminbot.store.sqlite import Store
    from adminbot.supervise.supervisor import ChildExit

logger = logging.getLogger(__name__)

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adminbot", description="Watch a media pipeline's logs and help its admin."
    )
    parser.add_argument("--version", action="version", version=f"adminbot {__version__}")
    parser.add_argument("--config", type=Path, help="TOML file (default: adminbot.toml)")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("ADMINBOT_LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        help="adminbot's own log level (env ADMINBOT_LOG_LEVEL)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run_ = commands.add_parser(
        "run",
        help="watch the logs; Telegram if TELEGRAM_TOKEN is set",
        description="Watch the logs. `adminbot run -- python main.py` also starts and "
        "supervises the pipeline, whose output is watched like any log.",
    )
    run_.add_argument("child", nargs=argparse.REMAINDER, help="-- CMD [ARGS...] to supervise")
    simulate = commands.add_parser("simulate", help="append realistic pipeline log lines")
    simulate.add_argument("file", nargs="?", type=Path, help="log file (default: demo log)")
    simulate.add_argument("--rate", type=float, default=2.0, help="records per second")
    simulate.add_argument("--duration", type=float, help="stop after this many seconds")
    simulate.add_argument("--seed", type=int)
    check = commands.add_parser("check-rules", help="test the rules on a log file, offline")
    check.add_argument("logfile", type=Path)
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument("--samples", type=int, default=3)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = _parser().parse_args(argv)
    load_dotenv(Path.cwd() / ".env", override=False)
    try:
        config = load_config(path=args.config)
        if args.command == "run":
            child = args.child[1:] if args.child[:1] == ["--"] else args.child
            return run(config, args.log_level, child)
        if args.command == "simulate":
            return simulate(config, args)
        return check_rules(config, args)
    except ConfigError as exc:
        print(f"adminbot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def check_rules(config: Config, args: argparse.Namespace) -> int:
    from adminbot.rules.offline import check_file, config_ruleset

    return check_file(args.logfile, config_ruleset(config), as_json=args.json, out=sys.stdout)


def simulate(config: Config, args: argparse.Namespace) -> int:
    from adminbot.simulate import simulate as append_lines

    target = args.file or config.demo_log
    print(f"Appending simulated pipeline lines to {target} (Ctrl-C stops)", file=sys.stderr)
    written = append_lines(target, rate=args.rate, duration=args.duration, seed=args.seed)
    print(f"{written} records written", file=sys.stderr)
    return 0


def run(config: Config, log_level: str, child_argv: Sequence[str] = ()) -> int:
    import asyncio

    from adminbot.notify.eventlog import setup_logging

    setup_logging(config.monitor_log, log_level)
    _stderr_warnings()
    if config.telegram_enabled:
        from handlers.app import run_telegram

        return run_telegram(config, child_argv)
    return asyncio.run(run_console(config, child_argv))


def _stderr_warnings() -> None:
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)


async def run_console(
    config: Config, child_argv: Sequence[str] = (), stop: asyncio.Event | None = None
) -> int:
    """Console mode: alerts on stdout until SIGINT/SIGTERM, then a session summary."""
    from adminbot.notify.console import ConsoleAlerts
    from adminbot.service.lifecycle import Service
    from adminbot.service.runtime import build_runtime

    runtime = build_runtime(config, child_argv=child_argv)
    config = runtime.config
    console = ConsoleAlerts(zone=config.zone, repeat_every=config.alerts.edit_throttle_seconds)
    _print_to(console, runtime)
    stop = stop or _stop_on_signals()
    demo_stop = threading.Event()
    demo = _start_demo(config, demo_stop) if config.demo else None
    service = Service(runtime)
    await service.start()
    _banner(config)
    try:
        await service.run_periodic(stop)
    finally:
        demo_stop.set()
        ended = await service.stop()
        if demo is not None:
            demo.join(timeout=5)
        _print_summary(runtime.store, runtime.monitor, ended)
        runtime.store.close()
    return 0


def _print_to(console: ConsoleAlerts, runtime: Runtime) -> None:
    """Everything the admin would be told on Telegram, as terminal lines."""
    from adminbot.checks.base import CheckState
    from adminbot.models import Severity

    flip_severity = {
        CheckState.OK: Severity.INFO,
        CheckState.WARNING: Severity.WARNING,
        CheckState.UNKNOWN: Severity.WARNING,
        CheckState.CRITICAL: Severity.CRITICAL,
    }
    runtime.monitor.listeners.append(console)
    runtime.monitor.problem_listeners.append(
        lambda path, problem: console.line(
            Severity.WARNING,
            f"cannot read {path}: {problem}" if problem else f"reading {path} again",
        )
    )
    runtime.health.listeners.append(
        lambda flip: console.line(
            flip_severity[flip.new],
            f"check {flip.check}: {flip.old or 'start'} -> {flip.new}: {flip.result.summary}",
        )
    )
    runtime.remedies.listeners.append(
        lambda incident, outcome, actor: console.line(
            Severity.INFO if outcome.ok else Severity.ERROR,
            f"{incident.rule} #{incident.id} {outcome.summary} ({actor})",
        )
    )


def _stop_on_signals() -> asyncio.Event:
    import asyncio
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


def _start_demo(config: Config, stop: threading.Event) -> threading.Thread:
    from adminbot.simulate import simulate as append_lines

    thread = threading.Thread(
        target=append_lines,
        args=(config.demo_log,),
        kwargs={"rate": 3.0, "stop": stop},
        name="demo-simulator",
        daemon=True,
    )
    thread.start()
    return thread


def _banner(config: Config) -> None:
    if config.demo:
        print(
            "adminbot: no log files configured (ADMINBOT_WATCH or [watch] paths in "
            f"adminbot.toml), so it watches a simulated pipeline log: {config.demo_log}",
            flush=True,
        )
    else:
        print(f"adminbot: watching {', '.join(config.watch.patterns)}", flush=True)
    print(
        f"adminbot: console mode (no TELEGRAM_TOKEN); events in {config.event_log}; Ctrl-C stops",
        flush=True,
    )


def _print_summary(store: Store, monitor: Monitor, ended: ChildExit | None) -> None:
    from adminbot.clock import utcnow
    from adminbot.incidents.summary import build_summary

    stats = monitor.stats
    summary = build_summary(store, stats.started_at, utcnow(), lines=stats.lines)
    by_rule = ", ".join(f"{rule} {n}" for rule, (n, _) in sorted(summary.by_rule.items()))
    child = f" Pipeline stopped ({ended.reason})." if ended is not None else ""
    print(
        f"Session summary: {summary.lines} lines read, {summary.incidents} incidents"
        f" ({by_rule or 'none'}), {summary.actions_run} actions, "
        f"{summary.still_open} still open.{child}",
        flush=True,
    )
