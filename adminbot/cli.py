"""The `adminbot` command: run, simulate, check-rules."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from dotenv import load_dotenv

from adminbot import __version__
from adminbot.clock import utcnow
from adminbot.config import Config, load_config
from adminbot.console import ConsoleAlerts
from adminbot.errors import ConfigError
from adminbot.eventlog import setup_logging
from adminbot.models import Severity
from adminbot.monitor import Monitor, load_ruleset
from adminbot.store import Store
from adminbot.summary import build_summary

logger = logging.getLogger(__name__)

EXIT_CONFIG = 2
TICK_SECONDS = 0.5
HEARTBEAT_EVERY = 20


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
    commands.add_parser("run", help="watch the logs; Telegram if TELEGRAM_TOKEN is set")
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
            return run(config, args.log_level)
        if args.command == "simulate":
            return simulate(config, args)
        return check_rules(config, args)
    except ConfigError as exc:
        print(f"adminbot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def check_rules(config: Config, args: argparse.Namespace) -> int:
    from adminbot.checkrules import check_file

    return check_file(args.logfile, load_ruleset(config), as_json=args.json, out=sys.stdout)


def simulate(config: Config, args: argparse.Namespace) -> int:
    from adminbot.simulate import simulate as append_lines

    target = args.file or config.demo_log
    print(f"Appending simulated pipeline lines to {target} (Ctrl-C stops)", file=sys.stderr)
    written = append_lines(target, rate=args.rate, duration=args.duration, seed=args.seed)
    print(f"{written} records written", file=sys.stderr)
    return 0


def run(config: Config, log_level: str) -> int:
    setup_logging(config.monitor_log, log_level)
    _stderr_warnings()
    if config.telegram_enabled:
        from adminbot.app import run_telegram

        return run_telegram(config)
    return run_console(config)


def _stderr_warnings() -> None:
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)


def run_console(config: Config, stop: threading.Event | None = None) -> int:
    """Console mode: alerts on stdout until SIGINT/SIGTERM, then a session summary."""
    stop = stop or _stop_on_signals()
    store = Store(config.store_path)
    monitor = Monitor(config, store)
    console = ConsoleAlerts(zone=config.zone, repeat_every=config.alerts.edit_throttle_seconds)
    monitor.listeners.append(console)
    monitor.problem_listeners.append(
        lambda path, problem: console.line(
            Severity.WARNING,
            f"cannot read {path}: {problem}" if problem else f"reading {path} again",
        )
    )
    demo = _start_demo(config, stop) if config.demo else None
    monitor.start()
    _banner(config)
    ticks = 0
    try:
        while not stop.wait(TICK_SECONDS):
            monitor.flush_stale()
            ticks += 1
            if ticks % HEARTBEAT_EVERY == 0:
                monitor.heartbeat()
    finally:
        stop.set()
        monitor.stop()
        if demo is not None:
            demo.join(timeout=5)
        _print_summary(store, monitor)
        store.close()
    return 0


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
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


def _print_summary(store: Store, monitor: Monitor) -> None:
    stats = monitor.stats
    summary = build_summary(store, stats.started_at, utcnow(), lines=stats.lines)
    by_rule = ", ".join(f"{rule} {n}" for rule, (n, _) in sorted(summary.by_rule.items()))
    print(
        f"Session summary: {summary.lines} lines read, {summary.incidents} incidents"
        f" ({by_rule or 'none'}), {summary.still_open} still open.",
        flush=True,
    )
