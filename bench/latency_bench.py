"""How long from an error line in a log to the admin's Telegram alert? Run by hand.

    .venv/bin/python bench/latency_bench.py                  # 60 incidents, one per second
    .venv/bin/python bench/latency_bench.py --unpaced --count 200 --interval 0.05
                                                             # adminbot's own path, faster
    .venv/bin/python bench/latency_bench.py --burst          # all lines in one write()
    .venv/bin/python bench/latency_bench.py --polling        # watchdog's PollingObserver
    .venv/bin/python bench/latency_bench.py --trace          # where the time goes, per stage
    .venv/bin/python bench/latency_bench.py --postgres       # through a shared PostgreSQL

The real path, end to end: the service built as `tests.harness.running_bot` builds
it (`build_service` with the `TelegramFront`: PTB Application, handlers,
AIORateLimiter; the router; test-speed `Periods`), the watchdog tailer on its default
settings, the SQLite store in a temporary folder and the outbox
delivery, talking to `tests.fake_telegram` on 127.0.0.1. A writer thread appends
one permission error per incident, each on its own path so each opens a NEW
incident; t0 is `time.monotonic()` right after the line is written and flushed,
t1 is the fake's `Call.time` of the sendMessage whose text shows that path.
The delivery keeps Telegram's pace deliberately (`handlers/pacing.py`: about one
message a second to a private chat, bursts of 5), so the default spacing is one
second: faster appends measure a queue at that pace, not the path. `--unpaced` lifts
the pace (a wider bucket swapped into the running delivery, as --trace reaches in) to
time adminbot's own path with closer spacing; the fake Bot API has no limits.
Storms are off (`[alerts] storm_threshold = 0`, `--storm-threshold` sets it): 200 new
incidents in a minute would otherwise fold into one storm message, which
`bench/storm_delivery_bench.py` measures. Console alerts go to /dev/null.
Target: p99 under 250 ms with spaced appends. `--burst` reports the time to
deliver them all instead (at the per-chat pace; with --unpaced, PTB's
rate limiter allows 30 messages/s).

`--trace` wraps the seams between stages (`Intake.submit` on the tailer thread, the
router's sinks on the event loop after the commit, the delivery's send and the rate
limiter's callback) to time each stage, and samples the event loop's lag; it is for
profiling and reaches into built objects and private attributes on purpose.

The fake sets TCP_NODELAY on its sockets (`disable_nagle_algorithm`): it writes an
answer's headers and body separately, and with Nagle on each back-to-back request
would wait ~40 ms for the client's delayed ACK, a cost of the fake, not of adminbot.

`--postgres` measures the same path through the database, as real processes: each
host is `python -m adminbot run` with its own host name, data dir, log folder and
default periods, started as `tests/test_e2e_hosts.py` starts them, against a
throw-away PostgreSQL (`tests.pg.pg_cluster`, a fresh migrated database per shape)
and a fresh fake Bot API. The server is put back to PostgreSQL's durable defaults
(`fsync`, `synchronous_commit`, `full_page_writes` on, which the tests turn off): each
commit waits for the disk, as a real deployment's does. Separate processes, because
hosts are: an in-process pair would share one event loop and one GIL. Three shapes,
one after the other (`--shape` picks some):
`sqlite`, one process with the token on its own SQLite (the control: the default
mode's path, but as a process of its own); `single`, one process with the token on
PostgreSQL; `fleet`, lines appended to the log of headless agent b (no token) and
the alert sent by front a (the token, the lease) after the agent's outbox row
wakes it through NOTIFY. Before timing, a warm-up line per shape waits for its
own alert, so the front holds the lease and the tailer holds the log's end.
Target: p99 under 50 ms through the database for incidents 1 s apart (the SQLite
control keeps the default mode's 250 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `tests` is not an installed package

import psycopg  # noqa: E402
from telegram.ext import AIORateLimiter  # noqa: E402

from adminbot.config import Config, load_config  # noqa: E402
from adminbot.incidents.events import IncidentEvent  # noqa: E402
from adminbot.models import Checkpoint, Match  # noqa: E402
from adminbot.notify.console import ConsoleAlerts  # noqa: E402
from adminbot.service.lifecycle import Service, build_service  # noqa: E402
from adminbot.service.runtime import Edges  # noqa: E402
from adminbot.store.rows import OutboxItem  # noqa: E402
from handlers.app import TelegramFront  # noqa: E402
from handlers.pacing import Pace, Pacer  # noqa: E402
from tests.fake_telegram import Call, FakeTelegram  # noqa: E402
from tests.fake_telegram import _Handler as _FakeHandler  # noqa: E402 - read, to print its Nagle
from tests.harness import ADMIN, FAST, eventually  # noqa: E402
from tests.pg import pg_cluster  # noqa: E402

TARGET_P99_MS = 250.0
TARGET_DATABASE_P99_MS = 50.0
SHAPES = {
    "sqlite": "one host, SQLite, as a process",
    "single": "one host, PostgreSQL",
    "fleet": "agent b -> front a, PostgreSQL",
}
LINE = (
    "2026-11-29 10:00:01,123 ERROR descargas: PermissionError: [Errno 13] "
    "Permission denied: '/srv/descargas/v{n:05d}.mp4'"
)
PATH_NUMBER = re.compile(r"/srv/descargas/v(\d{5})\.mp4")


@dataclass
class Trace:
    """Monotonic stage times per incident number, filled in by the `--trace` wrappers."""

    submitted: dict[int, float] = field(default_factory=dict)  # classified, handed to the intake
    committed: dict[int, float] = field(default_factory=dict)  # committed, event queued
    routed: dict[int, float] = field(default_factory=dict)  # the router reached its sinks
    picked: dict[int, float] = field(default_factory=dict)  # the delivery loop started the send
    granted: dict[int, float] = field(default_factory=dict)  # the rate limiter let it through
    answered: dict[int, float] = field(default_factory=dict)  # PTB got the HTTP answer
    loop_lag: list[float] = field(default_factory=list)  # how late a 5 ms sleep woke up
    by_incident: dict[int, int] = field(default_factory=dict)  # incident id -> number


def number_in(text: str) -> int | None:
    """The incident number in a line, key or alert text (its unique path), if any."""
    found = PATH_NUMBER.search(text)
    return int(found[1]) if found else None


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p% of values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def bench_config(
    folder: Path,
    fake: FakeTelegram,
    *,
    polling: bool,
    poll_interval: float = 1.0,
    storm_threshold: int = 0,
) -> Config:
    """Default settings but for storms (off unless asked: every incident gets its own alert,
    whose latency is measured) and --polling, watching folder/pipeline/*.log."""
    (folder / "pipeline").mkdir()
    toml = f"[alerts]\nstorm_threshold = {storm_threshold}\n"
    if polling:
        toml += f"[watch]\npolling = true\npoll_interval = {poll_interval}\n"
    (folder / "adminbot.toml").write_text(toml, encoding="utf-8")
    env = {
        "TELEGRAM_TOKEN": fake.token,
        "ADMIN_ID": str(ADMIN),
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "ADMINBOT_WATCH": str(folder / "pipeline" / "*.log"),
        "ADMINBOT_DATA_DIR": str(folder / "data"),
    }
    return load_config(env, cwd=folder)


def write_lines(log: Path, lines: Sequence[str], interval: float, burst: bool) -> list[float]:
    """Append like logging.FileHandler (one open file, flush per record); return each t0."""
    appended: list[float] = []
    with log.open("a", encoding="utf-8") as handle:
        if burst:
            handle.write("".join(line + "\n" for line in lines))
            handle.flush()
            return [time.monotonic()] * len(lines)
        start = time.monotonic()
        for index, line in enumerate(lines):
            pause = start + index * interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            handle.write(line + "\n")
            handle.flush()
            appended.append(time.monotonic())
    return appended


def delivered(fake: FakeTelegram) -> dict[int, float]:
    """Incident number -> time the fake answered the first sendMessage showing its path."""
    seen: dict[int, float] = {}
    for call in fake.calls("sendMessage"):
        n = number_in(str(call.params.get("text", "")))
        if n is not None and call.ok and n not in seen:
            seen[n] = call.time
    return seen


# -- --trace: wrappers around the pipeline's seams -----------------------------------------


class _TracingLimiter(AIORateLimiter):
    """AIORateLimiter that timestamps when a request is let through and answered."""

    __slots__ = ()  # same layout, so an existing limiter's __class__ can be swapped
    trace: Trace | None = None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        trace = _TracingLimiter.trace
        n = number_in(str(data.get("text", ""))) if endpoint == "sendMessage" else None
        if trace is None or n is None:
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )

        async def timed(*a: Any, **kw: Any) -> Any:
            trace.granted[n] = time.monotonic()
            try:
                return await callback(*a, **kw)
            finally:
                trace.answered[n] = time.monotonic()

        return await super().process_request(timed, args, kwargs, endpoint, data, rate_limit_args)


def instrument(service: Service, trace: Trace) -> None:
    """Wrap the seams between stages so each records when an incident passed it."""
    intake = service.runtime.intake
    submit = intake.submit

    def submitted(
        matches: Sequence[Match], checkpoint: Checkpoint | None = None, lines: int = 0
    ) -> list[IncidentEvent]:
        numbers = [number_in(match.key or match.record.text) for match in matches]
        now = time.monotonic()
        for n in numbers:
            if n is not None:
                trace.submitted.setdefault(n, now)
        events = submit(matches, checkpoint, lines)
        now = time.monotonic()
        for event in events:
            n = number_in(event.incident.key)
            if n is not None:
                trace.committed.setdefault(n, now)
                trace.by_incident[event.incident.id] = n
        return events

    def routed(event: IncidentEvent) -> None:
        n = number_in(event.incident.key)  # the router may run before `submit` returns
        if n is not None:
            trace.routed.setdefault(n, time.monotonic())
            trace.by_incident[event.incident.id] = n

    router = service.router
    router.sinks = (routed, *router.sinks)  # the router reads them for each event
    _replace(intake, "submit", submitted)  # the monitor calls it through the instance
    front = service.front
    assert isinstance(front, TelegramFront)
    delivery = front.delivery
    send = delivery._send

    async def picked(item: OutboxItem) -> None:
        n = trace.by_incident.get(item.incident_id or -1)
        if n is not None:
            trace.picked.setdefault(n, time.monotonic())
        await send(item)

    _replace(delivery, "_send", picked)  # the loop looks it up on each row
    limiter = front.application.bot.rate_limiter
    if isinstance(limiter, AIORateLimiter):
        _TracingLimiter.trace = trace
        limiter.__class__ = _TracingLimiter


def unpace(service: Service) -> None:
    """Lift the per-chat pace of the running delivery: the path alone is timed."""
    front = service.front
    assert isinstance(front, TelegramFront)
    wide = Pace(rate=1e6, burst=1e6)
    _replace(front.delivery, "pacer", Pacer(private=wide, group=wide))


def _replace(owner: object, attribute: str, wrapper: object) -> None:
    """Shadow a method of one built object with a wrapper (an instance attribute)."""
    setattr(owner, attribute, wrapper)


async def sample_loop_lag(trace: Trace, stop: asyncio.Event) -> None:
    """How late the event loop runs a 5 ms timer: time the loop was busy or starved."""
    while not stop.is_set():
        before = time.monotonic()
        await asyncio.sleep(0.005)
        trace.loop_lag.append(time.monotonic() - before - 0.005)


# -- the run --------------------------------------------------------------------------------


@dataclass
class Result:
    """What one run measured: each line's t0 and each alert's answer time, by number."""

    appended: list[float]
    answered: dict[int, float]
    trace: Trace | None
    wall: float

    def latencies_ms(self) -> list[float]:
        return stage_ms(dict(enumerate(self.appended)), self.answered)


@asynccontextmanager
async def running_service(config: Config, console: TextIO) -> AsyncIterator[Service]:
    """Start adminbot as `tests.harness.running_bot` does, but yield the whole service
    (--trace wraps its router and its front's delivery); console alerts go to `console`."""
    service = build_service(
        config,
        lambda runtime: TelegramFront(runtime, poll_timeout=1),
        Edges(periods=FAST),
        console=ConsoleAlerts(console, zone=config.zone),
    )
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


async def run(args: argparse.Namespace, console: TextIO) -> Result:
    lines = [LINE.format(n=n) for n in range(args.count)]
    trace = Trace() if args.trace else None
    with FakeTelegram() as fake, tempfile.TemporaryDirectory(prefix="latency-bench-") as tmp:
        folder = Path(tmp)
        config = bench_config(
            folder,
            fake,
            polling=args.polling,
            poll_interval=args.poll_interval,
            storm_threshold=args.storm_threshold,
        )
        log = folder / "pipeline" / "pipeline.log"
        log.touch()
        async with running_service(config, console) as service:
            monitor = service.runtime.monitor
            # 1. Wait until the bot said hello and the tailer holds the file's end.
            await fake.await_call("sendMessage", timeout=10)
            await eventually(lambda: any(f.path == str(log) for f in monitor.watched()))
            await asyncio.sleep(0.3)
            stop = asyncio.Event()
            lag_task = None
            if args.unpaced:
                unpace(service)
            if trace is not None:
                instrument(service, trace)
                lag_task = asyncio.create_task(sample_loop_lag(trace, stop))
            # 2. Append from a thread, as the pipeline would from its own process.
            started = time.monotonic()
            appended = await asyncio.to_thread(write_lines, log, lines, args.interval, args.burst)
            # 3. Wait for every alert (or the deadline), then stop timing.
            deadline = time.monotonic() + args.timeout
            answered = delivered(fake)
            while len(answered) < args.count and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                answered = delivered(fake)
            wall = time.monotonic() - started
            stop.set()
            if lag_task is not None:
                await lag_task
    return Result(appended, answered, trace, wall)


# -- --postgres: hosts as processes, through the database -----------------------------------


class Host:
    """`python -m adminbot run` as host `name` in a folder of its own, watching its log."""

    def __init__(
        self,
        root: Path,
        name: str,
        fake: FakeTelegram,
        *,
        url: str | None,
        front: bool,
        storm_threshold: int,
    ) -> None:
        self.folder = root / name
        (self.folder / "pipeline").mkdir(parents=True)
        self.log = self.folder / "pipeline" / "bot.log"
        self.log.touch()
        config = self.folder / "adminbot.toml"
        config.write_text(f"[alerts]\nstorm_threshold = {storm_threshold}\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ADMINBOT_", "TELEGRAM"))}
        env |= {
            "ADMIN_ID": str(ADMIN),
            "ADMINBOT_HOST": name,
            "ADMINBOT_WATCH": str(self.log),
            "ADMINBOT_DATA_DIR": str(self.folder / "data"),
            "ADMINBOT_CONFIG": str(config),
            "PYTHONPATH": str(ROOT),
        }
        if url is not None:
            env["ADMINBOT_DATABASE_URL"] = url
        if front:
            env |= {"TELEGRAM_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.base_url}
        self.output_path = self.folder / "adminbot.out"
        self.output = self.output_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "adminbot", "run"],
            cwd=self.folder,
            env=env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.output.close()

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.output_path.read_text(errors="replace").splitlines()[-lines:])


def _mentions(text: str) -> Callable[[Call], bool]:
    return lambda call: text in str(call.params.get("text", ""))


def warm_up(log: Path, fake: FakeTelegram, timeout: float = 90.0) -> None:
    """Append a line of its own until its alert arrives: the front is on duty and the
    tailer holds the log's end (a first start skips what a log held before its first pass)."""
    deadline = time.monotonic() + timeout
    attempt = 0
    while time.monotonic() < deadline:
        path = f"/srv/descargas/warm-up-{attempt}.mp4"
        with log.open("a", encoding="utf-8") as handle:
            handle.write(LINE.replace("v{n:05d}.mp4", f"warm-up-{attempt}.mp4") + "\n")
        try:
            fake.wait_for("sendMessage", _mentions(path), 3.0)
        except AssertionError:
            attempt += 1
            continue
        time.sleep(2.0)  # the pace's bucket refills: the timed alerts do not queue behind
        return
    raise SystemExit(f"no alert for a warm-up line within {timeout:g}s")


def measure_shape(shape: str, root: Path, url: str | None, args: argparse.Namespace) -> Result:
    """Start the shape's hosts, warm up, append one line per incident, collect the alerts."""
    lines = [LINE.format(n=n) for n in range(args.count)]
    with FakeTelegram() as fake:
        front = Host(root, "a", fake, url=url, front=True, storm_threshold=args.storm_threshold)
        hosts = [front]
        try:
            if shape == "fleet":
                hosts.append(
                    Host(
                        root, "b", fake, url=url, front=False, storm_threshold=args.storm_threshold
                    )
                )
            log = hosts[-1].log
            warm_up(log, fake)
            started = time.monotonic()
            appended = write_lines(log, lines, args.interval, args.burst)
            deadline = time.monotonic() + args.timeout
            answered = delivered(fake)
            while len(answered) < args.count and time.monotonic() < deadline:
                time.sleep(0.05)
                answered = delivered(fake)
            wall = time.monotonic() - started
            if shape == "fleet":
                texts = [str(c.params.get("text", "")) for c in fake.calls("sendMessage")]
                timed = [t for t in texts if number_in(t) is not None]
                named = sum("Host: <b>b</b>" in t for t in timed)
                print(f"fleet: {named} of {len(timed)} timed alerts name host b")
        except BaseException:
            for host in hosts:
                print(
                    f"-- {host.output_path.parent.name}'s output:\n{host.tail()}", file=sys.stderr
                )
            raise
        finally:
            for host in reversed(hosts):
                host.stop()
    return Result(appended, answered, None, wall)


def durable(admin_url: str) -> None:
    """Undo the tests' shortcut: commits wait for the disk again, as in production."""
    settings = ("fsync", "synchronous_commit", "full_page_writes")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for setting in settings:
            conn.execute(f"ALTER SYSTEM SET {setting} = on".encode())
        conn.execute("SELECT pg_reload_conf()")
    deadline = time.monotonic() + 10
    while True:  # the server applies a reload a moment later; new sessions see it then
        with psycopg.connect(admin_url, autocommit=True) as conn:
            rows = {s: conn.execute(f"SHOW {s}".encode()).fetchone() for s in settings}
        shown = {s: row[0] if row else None for s, row in rows.items()}
        if all(value == "on" for value in shown.values()):
            print("PostgreSQL durable: " + ", ".join(f"{s} on" for s in settings))
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"PostgreSQL kept {shown}")
        time.sleep(0.1)


def run_shapes(args: argparse.Namespace) -> list[tuple[str, Result]]:
    """Each asked shape in turn, against one throw-away PostgreSQL (a fresh database each)."""
    results: list[tuple[str, Result]] = []
    with pg_cluster() as cluster:
        durable(cluster.admin_url)
        for shape in args.shape:
            with tempfile.TemporaryDirectory(prefix=f"latency-{shape}-") as tmp:
                url = None if shape == "sqlite" else cluster.fresh()
                results.append((shape, measure_shape(shape, Path(tmp), url, args)))
    return results


def stage_ms(start: dict[int, float], end: dict[int, float]) -> list[float]:
    """Milliseconds from `start` to `end` for every incident that passed both."""
    return [(end[n] - start[n]) * 1000 for n in end if n in start]


def row(name: str, values: Sequence[float]) -> str:
    """One table line: median, p90, p99, max and the number of samples."""
    if not values:
        return f"  {name:<32} (no samples)"
    cells = " ".join(f"{percentile(values, p):>8.1f}" for p in (50, 90, 99, 100))
    return f"  {name:<32} {cells} {len(values):>6}"


def report(args: argparse.Namespace, result: Result) -> None:
    mode = "burst (one write)" if args.burst else f"one line every {args.interval * 1000:g} ms"
    observer = "PollingObserver" if args.polling else "native (inotify)"
    nagle = "TCP_NODELAY" if _FakeHandler.disable_nagle_algorithm else "Nagle on"
    pace = "pace lifted" if args.unpaced else "Telegram's per-chat pace"
    print(
        f"observer {observer}; fake server with {nagle}; {pace}; {args.count} new incidents, {mode}"
    )
    print(f"delivered {len(result.answered)}/{args.count} alerts in {result.wall:.2f}s")
    print(f"  {'ms':<32} {'median':>8} {'p90':>8} {'p99':>8} {'max':>8} {'n':>6}")
    latencies = result.latencies_ms()
    print(row("append -> sendMessage answered", latencies))
    trace = result.trace
    if trace is not None:
        appended = dict(enumerate(result.appended))
        print(row("  append -> classified", stage_ms(appended, trace.submitted)))
        print(row("  classified -> committed", stage_ms(trace.submitted, trace.committed)))
        print(row("  committed -> routed", stage_ms(trace.committed, trace.routed)))
        print(row("  routed -> delivery send", stage_ms(trace.routed, trace.picked)))
        print(row("  send -> rate limiter grant", stage_ms(trace.picked, trace.granted)))
        print(row("  grant -> HTTP answer", stage_ms(trace.granted, trace.answered)))
        print(row("event-loop lag (5 ms timer)", [lag * 1000 for lag in trace.loop_lag]))
    if args.burst:
        if latencies:
            last = max(result.answered.values()) - result.appended[0]
            rate = len(result.answered) / last if last > 0 else float("inf")
            print(f"all delivered {last * 1000:.0f} ms after the write ({rate:.1f} alerts/s)")
        print(f"p99 < {TARGET_P99_MS:g} ms target: judged on spaced appends, not --burst")
        return
    missing = args.count - len(result.answered)
    met = not missing and bool(latencies) and percentile(latencies, 99) < TARGET_P99_MS
    verdict = "MET" if met else "NOT met"
    extra = f" ({missing} alerts never arrived)" if missing else ""
    print(f"p99 < {TARGET_P99_MS:g} ms target: {verdict}{extra}")


def report_shapes(args: argparse.Namespace, results: Sequence[tuple[str, Result]]) -> None:
    mode = "burst (one write)" if args.burst else f"one line every {args.interval * 1000:g} ms"
    print(
        f"hosts as processes, fake server with TCP_NODELAY, Telegram's per-chat pace; "
        f"{args.count} new incidents, {mode}"
    )
    print(f"  {'ms':<32} {'median':>8} {'p90':>8} {'p99':>8} {'max':>8} {'n':>6}")
    for shape, result in results:
        print(row(SHAPES[shape], result.latencies_ms()))
    for shape, result in results:
        latencies = result.latencies_ms()
        missing = args.count - len(result.answered)
        target = TARGET_P99_MS if shape == "sqlite" else TARGET_DATABASE_P99_MS
        met = not missing and bool(latencies) and percentile(latencies, 99) < target
        extra = f" ({missing} alerts never arrived)" if missing else ""
        verdict = "MET" if met else "NOT met"
        print(f"{SHAPES[shape]}: p99 < {target:g} ms target: {verdict}{extra}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=60, help="new incidents (default 60)")
    parser.add_argument(
        "--interval", type=float, default=1.0, help="seconds between appends (default 1.0)"
    )
    parser.add_argument("--unpaced", action="store_true", help="lift the delivery's per-chat pace")
    parser.add_argument("--burst", action="store_true", help="append every line in one write")
    parser.add_argument("--polling", action="store_true", help="watchdog's PollingObserver")
    parser.add_argument(
        "--poll-interval", type=float, default=1.0, help="with --polling: [watch] poll_interval"
    )
    parser.add_argument("--trace", action="store_true", help="time each stage of the path")
    parser.add_argument(
        "--storm-threshold",
        type=int,
        default=0,
        help="[alerts] storm_threshold (default 0: storms off, one alert per incident)",
    )
    parser.add_argument(
        "--timeout", type=float, default=20.0, help="seconds to wait for the last alert"
    )
    parser.add_argument(
        "--postgres", action="store_true", help="hosts as processes, through PostgreSQL"
    )
    parser.add_argument(
        "--shape",
        action="append",
        choices=sorted(SHAPES),
        help="with --postgres, repeatable: sqlite, single, fleet (default: all three)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.count <= 99_999 or args.interval < 0:
        parser.error("--count must be 1..99999 and --interval >= 0")
    if args.postgres and (args.unpaced or args.trace or args.polling):
        parser.error("--postgres times the processes as they run: no --unpaced, --trace, --polling")
    if args.shape and not args.postgres:
        parser.error("--shape goes with --postgres")
    args.shape = args.shape or list(SHAPES)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.postgres:
        report_shapes(args, run_shapes(args))
        return 0
    with open(os.devnull, "w", encoding="utf-8") as console:  # one console line per incident
        result = asyncio.run(run(args, console))
    report(args, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
