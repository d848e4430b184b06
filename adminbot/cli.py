"""The `adminbot` command: run, simulate, check-rules, learn."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dotenv import load_dotenv

from adminbot import __version__
from adminbot.config import Config, load_config
from adminbot.errors import ConfigError

if TYPE_CHECKING:
    import asyncio

    from adminbot.service.runtime import Edges

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
    learn_ = commands.add_parser(
        "learn", help="record the kinds of error a log file holds, without alerting"
    )
    learn_.add_argument("logfile", type=Path)
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
        if args.command == "learn":
            return learn(config, args)
        return check_rules(config, args)
    except ConfigError as exc:
        print(f"adminbot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def check_rules(config: Config, args: argparse.Namespace) -> int:
    from adminbot.rules.offline import check_file
    from adminbot.rules.ruleset import ruleset_of

    return check_file(args.logfile, ruleset_of(config.rules), as_json=args.json, out=sys.stdout)


def learn(config: Config, args: argparse.Namespace) -> int:
    """Record the kinds of error already in a log, so that only later ones are new."""
    from adminbot.kinds.learn import learn_file
    from adminbot.kinds.miner import KindMiner
    from adminbot.rules.builtin import NUEVO_TIPO
    from adminbot.rules.ruleset import ruleset_of
    from adminbot.store.kinds import KindStore
    from adminbot.store.sqlite import Store

    store = Store(config.store_path)
    try:
        rule = config.rules[NUEVO_TIPO.name]
        miner = KindMiner(KindStore(store), rule, warmup=config.kinds.warmup)
        learnt = learn_file(args.logfile, ruleset_of(config.rules), miner)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"adminbot learn: cannot read {args.logfile}: {reason}", file=sys.stderr)
        return EXIT_CONFIG
    finally:
        store.close()
    print(
        f"{args.logfile}: {learnt.lines:,} lines, {learnt.errors:,} errors no rule matched, "
        f"{learnt.new_kinds:,} new kind(s) learnt ({learnt.kinds:,} known)"
    )
    return 0


def simulate(config: Config, args: argparse.Namespace) -> int:
    from adminbot.simulate import simulate as append_lines

    target = args.file or config.demo_log
    print(f"Appending simulated pipeline lines to {target} (Ctrl-C stops)", file=sys.stderr)
    written = append_lines(target, rate=args.rate, duration=args.duration, seed=args.seed)
    print(f"{written} records written", file=sys.stderr)
    return 0


def run(config: Config, log_level: str, child_argv: Sequence[str] = ()) -> int:
    from adminbot.notify.eventlog import setup_logging

    setup_logging(config.monitor_log, log_level)
    _stderr_warnings()
    import asyncio  # the runtime's imports are paid only by the commands that run it

    return asyncio.run(serve(config, child_argv))


def _stderr_warnings() -> None:
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)


async def serve(
    config: Config,
    child_argv: Sequence[str] = (),
    stop: asyncio.Event | None = None,
    edges: Edges | None = None,
) -> int:
    """Run until SIGINT/SIGTERM (or `stop`): Telegram if a token is set, else the console."""
    from adminbot.service.console_mode import ConsoleFront
    from adminbot.service.lifecycle import FrontFactory, build_service
    from adminbot.service.runtime import Edges

    front: FrontFactory = ConsoleFront
    if config.telegram_enabled:
        from handlers.app import TelegramFront  # the one place the core meets Telegram

        front = TelegramFront
    service = build_service(config, front, edges or Edges(), child_argv=child_argv)
    await service.run(stop or _stop_on_signals())
    return 0


def _stop_on_signals() -> asyncio.Event:
    import asyncio

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop
