"""The `adminbot` command: run, simulate, check-rules, learn, db, channels test."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import shutil
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from dotenv import load_dotenv

from adminbot import __version__
from adminbot.config import Config, load_config
from adminbot.errors import ConfigError, StartupError

if TYPE_CHECKING:
    import asyncio

    from adminbot.service.runtime import Edges

logger = logging.getLogger(__name__)

EXIT_CONFIG = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a command a pipe ended
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are one line and exit 2, like every other refusal to start."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CONFIG, f"adminbot: {message} (see {self.prog} --help)\n")


def _global_options(parser: argparse.ArgumentParser, default: object) -> None:
    """--config and --log-level, accepted before and after the command alike."""
    parser.add_argument(
        "--config", type=Path, default=default, help="TOML file (default: adminbot.toml)"
    )
    parser.add_argument(
        "--log-level",
        default=default,
        metavar="LEVEL",
        help=f"adminbot's own log level: {', '.join(LEVELS)} (env ADMINBOT_LOG_LEVEL)",
    )


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected records per second, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text}")
    return value


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of processes, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="adminbot", description="Watch a media pipeline's logs and help its admin."
    )
    parser.add_argument("--version", action="version", version=f"adminbot {__version__}")
    _global_options(parser, None)
    common = _Parser(add_help=False)
    # SUPPRESS: an option given before the command is not reset by the command's default.
    _global_options(common, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)
    run_ = commands.add_parser(
        "run",
        parents=[common],
        help="watch the logs; Telegram if TELEGRAM_TOKEN is set",
        description="Watch the logs. `adminbot run -- python main.py` also starts and "
        "supervises the pipeline, whose output is watched like any log.",
    )
    run_.add_argument("child", nargs=argparse.REMAINDER, help="-- CMD [ARGS...] to supervise")
    simulate = commands.add_parser(
        "simulate", parents=[common], help="append realistic pipeline log lines"
    )
    simulate.add_argument("file", nargs="?", type=Path, help="log file (default: demo log)")
    simulate.add_argument("--rate", type=_rate, default=2.0, help="records per second")
    simulate.add_argument("--duration", type=float, help="stop after this many seconds")
    simulate.add_argument("--seed", type=int)
    check = commands.add_parser(
        "check-rules", parents=[common], help="test the rules on a log file, offline"
    )
    check.add_argument("logfile", type=Path)
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument("--samples", type=int, default=3)
    check.add_argument(
        "--jobs", type=_jobs, metavar="N", help="processes for a big file (default: cores, <= 4)"
    )
    channels = commands.add_parser(
        "channels", help="the [[channels]]: `channels test` sends each a test message"
    )
    channels.add_argument("action", choices=["test"])
    learn_ = commands.add_parser(
        "learn", help="record the kinds of error a log file holds, without alerting"
    )
    learn_.add_argument("logfile", type=Path)
    rules = commands.add_parser("rules", parents=[common], help="the rules: export")
    rules_actions = rules.add_subparsers(dest="rules_command", required=True)
    rules_actions.add_parser(
        "export",
        parents=[common],
        help="print the rules of the TOML and those made in the chat as [[rules]] TOML",
    )
    _db_parser(commands, common)
    return parser


def _db_parser(commands: argparse._SubParsersAction[_Parser], common: _Parser) -> None:
    """`adminbot db migrate` and `adminbot db import-sqlite PATH`."""
    db = commands.add_parser("db", parents=[common], help="the store: migrate, import-sqlite")
    actions = db.add_subparsers(dest="db_command", required=True)
    actions.add_parser("migrate", parents=[common], help="bring the store's schema up to date")
    copy = actions.add_parser(
        "import-sqlite",
        parents=[common],
        help="copy one host's SQLite store into the PostgreSQL in database_url",
    )
    copy.add_argument("path", type=Path, help="the host's adminbot.sqlite3")


def log_level(option: str | None, env: Mapping[str, str]) -> str:
    """--log-level, else ADMINBOT_LOG_LEVEL, else INFO; a wrong value names where it came from."""
    source, value = ("--log-level", option) if option is not None else ("ADMINBOT_LOG_LEVEL", None)
    if value is None:
        value = env.get("ADMINBOT_LOG_LEVEL") or "INFO"
    level = value.strip().upper()
    if level not in LEVELS:
        raise ConfigError(source, f"must be one of {', '.join(LEVELS)}, got {value!r}")
    return level


GC_THRESHOLDS = (50_000, 20, 10)
"""A storm allocates records, matches and incidents by the hundred thousand. At Python's
default (700 allocations) the collector runs so often that its full passes, each walking
every cached rule decision, took 17% of a storm (1.2 s of 6.8 s for 200,000 lines). Young
collections every 50,000 allocations find most of a batch's objects already freed: in
the storm benchmark the collector took 0.65 s instead of 1.7 s at (10,000, 10, 10), with
one full pass instead of four, for the same peak RSS; a young pass takes about 2 ms.
Nothing of ours relies on prompt collection of cycles."""


def main(argv: Sequence[str] | None = None) -> int:
    """The command, given its arguments (default: the process's); the exit status."""
    return _command(_parser().parse_args(argv))


def console() -> NoReturn:
    """The console script (and `python -m adminbot`): the command, then exit.

    After `check-rules`, a batch command whose report is written, the interpreter's
    teardown is skipped: freeing a storm file's hundred thousand records, matches and
    cached decisions one by one took 30-80 ms of a 0.8 s run. A reader that went away
    (`adminbot check-rules big.log | head`) ends it quietly, as SIGPIPE would."""
    args = _parser().parse_args()
    try:
        status = _command(args)
        if args.command == "check-rules":
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
    except BrokenPipeError:
        os._exit(EXIT_BROKEN_PIPE)  # nothing left to flush to a pipe nobody reads
    sys.exit(status)


def _command(args: argparse.Namespace) -> int:
    gc.set_threshold(*GC_THRESHOLDS)
    load_dotenv(Path.cwd() / ".env", override=False)
    try:
        level = log_level(args.log_level, os.environ)
        config = load_config(path=args.config)
        if args.command == "run":
            child = args.child[1:] if args.child[:1] == ["--"] else args.child
            return run(config, level, child)
        if args.command == "simulate":
            return simulate(config, args)
        if args.command == "learn":
            return learn(config, args)
        if args.command == "db":
            return db(config, args)
        if args.command == "rules":
            return rules_export(config)
        if args.command == "channels":
            return channels_test(config)
        return check_rules(config, args)
    except ConfigError as exc:
        return _refuse(f"configuration error: {exc}")
    except StartupError as exc:
        return _refuse(f"cannot start: {exc}")
    except KeyboardInterrupt:
        return 130


def _refuse(text: str) -> int:
    """One line on stderr, never the token, and the configuration error's exit status."""
    from adminbot.notify.eventlog import redact

    line = " ".join(redact(text, [os.environ.get("TELEGRAM_TOKEN", "")]).split())
    print(f"adminbot: {line}", file=sys.stderr)
    return EXIT_CONFIG


def check_rules(config: Config, args: argparse.Namespace) -> int:
    from adminbot.checkrules.report import check_file
    from adminbot.rules.ruleset import ruleset_of

    return check_file(
        args.logfile,
        ruleset_of(config.rules),
        as_json=args.json,
        out=sys.stdout,
        samples=args.samples,
        jobs=args.jobs,
    )


def learn(config: Config, args: argparse.Namespace) -> int:
    """Record the kinds of error already in a log, so that only later ones are new."""
    from adminbot.kinds.learn import learn_file
    from adminbot.kinds.miner import KindMiner
    from adminbot.rules.builtin import NUEVO_TIPO
    from adminbot.rules.ruleset import ruleset_of
    from adminbot.store.backend import open_store
    from adminbot.store.kinds import KindStore

    store = open_store(config.store_path, config.database_url, config.host_name)
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


def rules_export(config: Config) -> int:
    """Print the configuration's rules and those made in the chat as `[[rules]]` TOML."""
    from adminbot.kinds.makerule import stored_specs
    from adminbot.rules.export import Exported, export_toml, user_rules
    from adminbot.store.backend import open_store
    from adminbot.store.userrules import UserRuleStore

    store = open_store(config.store_path, config.database_url, config.host_name)
    try:
        stored = UserRuleStore(store)
        made = {rule.name: rule for rule in stored.all()}
        chat = [
            Exported(
                spec,
                f"made in the chat by {made[spec.name].created_by}, "
                f"{made[spec.name].created_at:%Y-%m-%d %H:%M} UTC",
            )
            for spec in stored_specs(stored)
        ]
    finally:
        store.close()
    sys.stdout.write(export_toml(user_rules(config.rules, chat)))
    return 0


def db(config: Config, args: argparse.Namespace) -> int:
    """Migrate the configured store, or copy a SQLite store into PostgreSQL."""
    from adminbot.store.backend import open_store
    from adminbot.store.sqlite import Store

    if args.db_command == "migrate":
        store = open_store(config.store_path, config.database_url, config.host_name)
        print(f"{store.path}: schema version {store.schema_version}")
        store.close()
        return 0
    if config.database_url is None:
        raise ConfigError("database_url", "import-sqlite needs a PostgreSQL to copy into")
    if not args.path.is_file():
        raise StartupError(f"no SQLite store at {args.path}")
    from adminbot.store.pgimport import import_sqlite

    Store(args.path, host=config.host_name).close()  # its schema up to date, its rows this host's
    print(f"{args.path}: copied {import_sqlite(args.path, config.database_url)}")
    return 0


def channels_test(config: Config) -> int:
    """Send a test message to every configured channel; print one result line per channel."""
    import asyncio

    from adminbot.notify.channel_urls import shown
    from adminbot.notify.channels import Verdict, apprise_send
    from handlers.channel_views import renderer

    if not config.channels:
        print("no [[channels]] configured", file=sys.stderr)
        return 1
    text = renderer(config.language)(None)
    failed = 0
    for channel in config.channels:
        verdict, detail = asyncio.run(
            asyncio.wait_for(asyncio.to_thread(apprise_send, channel.url, text, 15.0), 20.0)
        )
        failed += verdict is not Verdict.SENT
        outcome = "ok" if verdict is Verdict.SENT else f"{verdict.value}: {detail}"
        print(f"channels[{channel.index}] {shown(channel.url)}: {outcome}")
    return 1 if failed else 0


def simulate(config: Config, args: argparse.Namespace) -> int:
    from adminbot.simulate import ROOT
    from adminbot.simulate import simulate as append_lines

    target = args.file or config.demo_log
    # Lines for the demo log name the demo's own folder, where the demo's fixes may act.
    root = config.demo_folder if args.file is None else ROOT
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise StartupError(f"cannot write to {target}: {exc.strerror or exc}") from None
    print(f"Appending simulated pipeline lines to {target} (Ctrl-C stops)", file=sys.stderr)
    try:
        written = append_lines(
            target, rate=args.rate, duration=args.duration, seed=args.seed, root=root
        )
    except OSError as exc:
        raise StartupError(f"cannot write to {target}: {exc.strerror or exc}") from None
    print(f"{written} records written", file=sys.stderr)
    return 0


def run(config: Config, level: str, child_argv: Sequence[str] = ()) -> int:
    from adminbot.config import prepare_data_dir
    from adminbot.notify.eventlog import setup_logging
    from adminbot.service.memory import glibc_mallopt, hold_memory_tightly

    hold_memory_tightly(os.environ, glibc_mallopt())  # before any thread starts
    prepare_data_dir(config)
    if child_argv:
        _check_command(child_argv[0], config.supervise.workdir)
    try:
        setup_logging(
            config.monitor_log, level, stderr_level="WARNING", secrets=[config.token or ""]
        )
        if child_argv:
            config.child_log.touch()  # followed from the tailer's first pass, not "missing"
    except OSError as exc:
        raise StartupError(f"cannot write in {config.data_dir}: {exc.strerror or exc}") from None
    import asyncio  # the runtime's imports are paid only by the commands that run it

    return asyncio.run(serve(config, child_argv))


def _check_command(program: str, workdir: Path | None) -> None:
    """Refuse a pipeline command that cannot run before anything starts."""
    if "/" in program:
        path = Path(program) if Path(program).is_absolute() else (workdir or Path.cwd()) / program
        found = path.is_file() and os.access(path, os.X_OK)
    else:
        found = shutil.which(program) is not None
    if not found:
        raise StartupError(
            f"cannot run the pipeline command {program!r}: not found or not executable"
        )


async def serve(
    config: Config,
    child_argv: Sequence[str] = (),
    stop: asyncio.Event | None = None,
    edges: Edges | None = None,
) -> int:
    """Run until SIGINT/SIGTERM (or `stop`): Telegram if a token is set, else a headless
    agent when hosts share a database, else the console."""
    from adminbot.service.console_mode import ConsoleFront
    from adminbot.service.lifecycle import FrontFactory, build_service
    from adminbot.service.runtime import Edges

    front: FrontFactory = ConsoleFront
    if config.telegram_enabled:
        from handlers.app import TelegramFront  # the one place the core meets Telegram

        front = TelegramFront
    elif config.database_url is not None:
        from adminbot.service.agent_mode import AgentFront

        front = AgentFront
    render = None
    if config.channels:
        from handlers.channel_views import renderer  # words only: no Telegram in it

        render = renderer(config.language)
    pages = None
    if config.web.enabled:
        from adminbot.web.build import dashboard  # a front over the runtime, like the bot

        pages = dashboard
    service = build_service(
        config, front, edges or Edges(), child_argv=child_argv, render=render, pages=pages
    )
    await service.run(stop or _stop_on_signals())
    return 0


def _stop_on_signals() -> asyncio.Event:
    import asyncio

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop
