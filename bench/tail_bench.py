"""Can the tailer keep up with a busy log? Run by hand: `python bench/tail_bench.py [--full]`.

A writer subprocess appends log records at a target rate of lines, one write()
per record as `logging.FileHandler` does, while the file is followed; a sampler
thread records the worst lag (lines written but not yet delivered) and the peak
RSS of this process (the follower; the writer is another process).

Default: a started `Tailer` with a counting sink follows fixed-size synthetic
lines. Printed: achieved lines/s, the worst lag, whether every line arrived
exactly once and in order, the tailer's CPU and its catch-up reading speed.

`--full`: the real pipeline follows the file instead, as `adminbot run` builds it
in console mode: `build_service` on a `load_config` config (no Telegram token, data
in the temporary folder; console output to /dev/null), started on an event loop, so
every batch goes through the Classifier, the kind miner and `Intake.submit` (the
IncidentBook, the SQLite store and the event log), and every committed event through
the router's sinks (metrics, console, remedies). The writer appends
`adminbot.simulate.sample_line` records from a seeded random.Random (2% of records
are errors by default, `--error-ratio 0.9` for a storm; a traceback is one record).
Printed as well: incidents and matches recorded, where the tailer thread's and the
event loop's time went (timers around those seams, which reach into built objects on
purpose), how far the router fell behind, CPU per thread, and the pipeline's speed
and findings on the same file as a backlog.

Targets: 50,000 lines/s, RSS under 80 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import psutil

from adminbot.cli import GC_THRESHOLDS
from adminbot.config import Config, load_config
from adminbot.models import Checkpoint, Line
from adminbot.notify.console import ConsoleAlerts
from adminbot.service.console_mode import ConsoleFront
from adminbot.service.lifecycle import Service, build_service
from adminbot.service.memory import glibc_mallopt, hold_memory_tightly
from adminbot.service.router import Router
from adminbot.service.runtime import Runtime, build_runtime, incident_counters, incident_sinks
from adminbot.simulate import sample_line
from adminbot.store.sqlite import Store
from adminbot.tail.tailer import Tailer

LINE_BYTES = 120
TARGET_RATE = 50_000
RSS_LIMIT_MB = 80
BACKLOG_LINES = 500_000
TEMPLATES = (
    "{ts} ERROR [downloader] worker-{w}: download failed file_id={n:012d} TimedOut (attempt 2/5)",
    "{ts} INFO [uploader] sent media chat_id=-100{n:010d} size=1.4MB in 0.8s",
    "{ts} WARNING [telegram.ext.Updater] network error, retrying in 5s: httpx.ReadTimeout",
    "{ts} DEBUG [queue] job={n} state=done queue_depth={w} elapsed_ms=153",
)


def make_line(n: int) -> bytes:
    """A log line padded to exactly LINE_BYTES, so the file size tells how many were written."""
    ts = time.strftime("%Y-%m-%d %H:%M:%S") + f",{n % 1000:03d}"
    text = TEMPLATES[n % len(TEMPLATES)].format(ts=ts, w=n % 8, n=n)
    return text[: LINE_BYTES - 1].ljust(LINE_BYTES - 1).encode() + b"\n"


def realistic_records(lines: int, seed: int, error_ratio: float = 0.02) -> list[bytes]:
    """Simulated pipeline records (sample_line: `error_ratio` errors, tracebacks kept whole)
    of >= lines."""
    rng = random.Random(seed)
    now = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    records: list[bytes] = []
    count = 0
    while count < lines:
        now += timedelta(milliseconds=rng.randrange(1, 40))
        text = sample_line(rng, now, error_ratio=error_ratio)
        records.append(text.encode() + b"\n")
        count += text.count("\n") + 1
    return records


def run_writer(path: str, args: argparse.Namespace) -> None:
    """Append `rate` lines per second for `seconds`, paced every 5 ms, one os.write per record.

    A record is one make_line line, or with --full a realistic_records record (several
    lines for a traceback, written at once as logging does). Prints the lines and records
    written and the seconds spent writing them (start-up and generating left out). With
    --progress, the lines written so far are stored there (8 bytes) after each burst,
    because records of varying length do not let the file size tell it.
    """
    total = int(args.rate * args.seconds)
    record: Callable[[int], bytes]
    if args.full:
        record = realistic_records(total, args.seed, args.error_ratio).__getitem__
    else:
        record = make_line
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    progress = os.open(args.progress, os.O_WRONLY) if args.progress else None
    start = time.monotonic()
    written = records = 0
    while written < total:
        due = min(total, int((time.monotonic() - start) * args.rate))
        while written < due:
            data = record(records)
            os.write(fd, data)
            records += 1
            written += data.count(b"\n")
        if progress is not None:
            os.pwrite(progress, written.to_bytes(8, "little"), 0)
        time.sleep(0.005)
    elapsed = time.monotonic() - start
    os.close(fd)
    if progress is not None:
        os.close(progress)
    print(f"{written} {records} {elapsed:.6f}")


class CountingSink:
    """Counts lines and checks they arrive once, in order (line numbers without gaps)."""

    def __init__(self) -> None:
        self.count = 0
        self.last_line_no = 0
        self.out_of_order = 0

    def __call__(self, path: str, lines: Sequence[Line], checkpoint: Checkpoint) -> None:
        if lines and lines[0].line_no != self.last_line_no + 1:
            self.out_of_order += 1
        if lines:
            self.last_line_no = lines[-1].line_no
        self.count += len(lines)


class Sampler(threading.Thread):
    """Every 20 ms: the worst lag (written minus delivered lines) and this process's RSS."""

    def __init__(self, written: Callable[[], int], delivered: Callable[[], int]) -> None:
        super().__init__(name="bench-sampler", daemon=True)
        self.written = written
        self.delivered = delivered
        self.process = psutil.Process()
        self.peak_rss = self.process.memory_info().rss
        self.worker_rss = 0  # the classifier worker's (adminbot.rules.ahead), when started
        self.max_lag = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.max_lag = max(self.max_lag, self.written() - self.delivered())
            self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)
            self.worker_rss = max(self.worker_rss, worker_rss(self.process))
            time.sleep(0.02)

    def finish(self) -> None:
        self._done.set()
        self.join()


def worker_rss(process: psutil.Process) -> int:
    """The RSS of the process's classifier worker, 0 if it has none."""
    for child in process.children():
        try:
            if "adminbot.rules.worker" in child.cmdline():
                return int(child.memory_info().rss)
        except psutil.Error:
            continue
    return 0


@dataclass
class Live:
    """What one live run measured (the writer running, then the follower draining)."""

    written: int
    records: int
    write_seconds: float
    writer_exit: int
    delivered: int
    drain_seconds: float
    max_lag: int
    peak_rss: int
    worker_rss: int
    cpu_seconds: float  # from launching the writer to the last line delivered
    live_seconds: float  # writing + draining (the writer's start-up is left out)
    thread_cpu: dict[str, float] = field(default_factory=dict)

    @property
    def write_rate(self) -> float:
        return self.written / self.write_seconds

    @property
    def lag_seconds(self) -> float:
        return self.max_lag / self.write_rate

    @property
    def kept_up(self) -> bool:
        return (
            self.write_rate >= 0.95 * TARGET_RATE
            and self.lag_seconds < 2
            and self.drain_seconds < 2
            and self.delivered >= self.written
        )


def thread_cpu() -> dict[str, float]:
    """CPU seconds so far of each thread of this process, by thread name and class."""
    names = {t.native_id: f"{t.name} ({type(t).__name__})" for t in threading.enumerate()}
    times: dict[str, float] = {}
    for t in psutil.Process().threads():
        name = names.get(t.id, "other (C-level)")
        times[name] = times.get(name, 0.0) + t.user_time + t.system_time
    return times


def follow_live(
    log: Path,
    args: argparse.Namespace,
    delivered: Callable[[], int],
    writer_args: Sequence[str] = (),
    written: Callable[[], int] | None = None,
    drain_limit: float = 5.0,
) -> Live:
    """Run the writer subprocess against an already started follower and measure it.

    `written` tells how many lines are in the file (default: its size / LINE_BYTES).
    """
    count_written = written or (lambda: log.stat().st_size // LINE_BYTES)
    me = psutil.Process()
    sampler = Sampler(count_written, delivered)
    sampler.start()
    time.sleep(0.3)  # let the worker's first pass save the starting position
    cpu_before = sum(me.cpu_times()[:2])
    threads_before = thread_cpu()
    started = time.monotonic()
    command = [sys.executable, __file__, "--writer", str(log)]
    command += ["--rate", str(args.rate), "--seconds", str(args.seconds), *writer_args]
    writer = subprocess.run(command, check=False, stdout=subprocess.PIPE, text=True)
    written_at = time.monotonic()
    total = count_written()
    reported = writer.stdout.split()  # lines, records, seconds spent writing
    records = int(reported[1]) if len(reported) == 3 else total
    write_seconds = float(reported[2]) if len(reported) == 3 else written_at - started
    deadline = written_at + drain_limit
    while delivered() < total and time.monotonic() < deadline:
        time.sleep(0.005)
    caught_up = time.monotonic()
    cpu = sum(me.cpu_times()[:2]) - cpu_before
    threads_after = thread_cpu()
    sampler.finish()
    return Live(
        written=total,
        records=records,
        write_seconds=write_seconds,
        writer_exit=writer.returncode,
        delivered=delivered(),
        drain_seconds=caught_up - written_at,
        max_lag=sampler.max_lag,
        peak_rss=sampler.peak_rss,
        worker_rss=sampler.worker_rss,
        cpu_seconds=cpu,
        live_seconds=write_seconds + caught_up - written_at,
        thread_cpu={
            name: seconds - threads_before.get(name, 0.0) for name, seconds in threads_after.items()
        },
    )


def print_live(live: Live, observer: str) -> None:
    """The lines both modes print about the live run."""
    records = f" ({live.records:,} records)" if live.records != live.written else ""
    print(f"observer                {observer}")
    print(
        f"writer                  {live.written:,} lines{records} in {live.write_seconds:.2f}s "
        f"= {live.write_rate:,.0f} lines/s (exit code {live.writer_exit})"
    )
    print(f"max lag                 {live.max_lag:,} lines (~{live.lag_seconds * 1000:.0f} ms)")
    last = "after the writer ended" if live.delivered >= live.written else "NOT delivered by then"
    print(f"last line delivered     {live.drain_seconds * 1000:.0f} ms {last}")
    print(f"CPU while live          {live.cpu_seconds / live.live_seconds * 100:.0f}% of one core")


def print_targets(live: Live, peak_rss: int) -> bool:
    rss_mb = peak_rss / 2**20
    print(f"peak RSS                {rss_mb:.1f} MB")
    if live.worker_rss:
        print(f"  classifier worker     {live.worker_rss / 2**20:.1f} MB more (its own process)")
    print(f"keeps up with {TARGET_RATE:,}/s  {'met' if live.kept_up else 'NOT met'}")
    print(f"RSS < {RSS_LIMIT_MB} MB            {'met' if rss_mb < RSS_LIMIT_MB else 'NOT met'}")
    return live.kept_up and rss_mb < RSS_LIMIT_MB


# -- default: the tailer alone ----------------------------------------------------------


def catch_up_rate(folder: Path, lines: int) -> float:
    """Pure reading speed: a file already on disk, read from 0 by one poll()."""
    log = folder / "backlog.log"
    with log.open("wb") as f:
        f.writelines(make_line(n) for n in range(lines))
    sink = CountingSink()
    tailer = Tailer([str(log)], sink, {}, from_beginning=True)
    started = time.monotonic()
    tailer.poll()
    elapsed = time.monotonic() - started
    tailer.stop()
    if sink.count != lines:
        raise SystemExit(f"catch-up delivered {sink.count} of {lines} lines")
    return lines / elapsed


def tailer_only(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="tail-bench-") as tmp:
        log = Path(tmp) / "pipeline.log"
        log.touch()
        sink = CountingSink()
        tailer = Tailer([str(log)], sink, {}, polling=args.polling)
        tailer.start()
        live = follow_live(log, args, lambda: sink.count)
        tailer.stop()
        backlog_rate = catch_up_rate(Path(tmp), BACKLOG_LINES)
        peak_rss = max(live.peak_rss, psutil.Process().memory_info().rss)

    exact = sink.count == live.written and sink.out_of_order == 0
    print_live(live, "PollingObserver" if args.polling else "native (inotify)")
    print(
        f"delivered               {sink.count:,} lines, out-of-order batches: {sink.out_of_order}"
    )
    print(
        f"catch-up reading speed  {backlog_rate:,.0f} lines/s "
        f"({BACKLOG_LINES:,}-line backlog, one poll)"
    )
    met = print_targets(live, peak_rss)
    print(f"delivered == written    {'yes' if exact else 'NO'}")
    return 0 if met and exact else 1


# -- --full: the real pipeline ----------------------------------------------------------


def pipeline_config(
    folder: Path, watch: Path, *, polling: bool, from_beginning: bool, inline: bool = False
) -> Config:
    """Shipped defaults but for the watched file (no Telegram token; data in folder/data)."""
    folder.mkdir(parents=True, exist_ok=True)
    if polling or from_beginning or inline:
        toml = f"[watch]\npolling = {polling}\nfrom_beginning = {from_beginning}\n"
        toml += f"classify_process = {not inline}\n"
        (folder / "adminbot.toml").write_text(toml.lower(), encoding="utf-8")
    env = {"ADMINBOT_WATCH": str(watch), "ADMINBOT_DATA_DIR": str(folder / "data")}
    return load_config(env, cwd=folder)


def quiet_console(config: Config, out: TextIO) -> ConsoleAlerts:
    """Console alerts as production builds them, printed to `out` (the bench's output stays
    readable; the formatting is still paid for)."""
    return ConsoleAlerts(out, zone=config.zone, repeat_every=config.alerts.edit_throttle_seconds)


@dataclass
class Stage:
    seconds: float = 0.0
    calls: int = 0
    items: int = 0  # what the calls returned, for the stages that return a list


SINK_NAMES = ("console", "remedies", "channels")
"""The router's sinks, in `incident_sinks` order."""


def time_stages(service: Service) -> dict[str, Stage]:
    """Wrap the pipeline's seams with wall-clock timers, before the service starts.

    A profiler's reach into built objects, on purpose (instance attributes shadow
    methods; the router reads its sinks for each event). On the tailer thread,
    Monitor.handle_batch = classify (the classifier's own, or the worker's answer taken
    in: `adminbot.rules.ahead`) + Intake.submit; submit = redaction + one
    transaction (kinds.mine of the errors no rule knows, book.record_batch,
    checkpoint, line count, COMMIT) + event log + queueing the events. After the
    commit, on the event loop, the router hands each event to its sinks. These are
    wall times: a thread waits for the GIL while the other runs.
    """
    runtime = service.runtime
    monitor, intake = runtime.monitor, runtime.intake
    stages: dict[str, Stage] = {}
    targets: list[tuple[Any, str, str]] = [
        (monitor, "_classify", "classify"),
        (monitor.kinds, "mine", "kinds"),
        (monitor.kinds._kinds if monitor.kinds is not None else None, "record", "kinds store"),
        (intake, "submit", "intake"),
        (intake.book, "record_batch", "book.record"),
        (intake.events, "matches", "event log"),
    ]
    for owner, attribute, name in targets:
        stages[name] = Stage()
        if owner is not None:
            setattr(owner, attribute, _timed(getattr(owner, attribute), stages[name]))
    router = service.router
    names = SINK_NAMES if len(router.sinks) == len(SINK_NAMES) else _sink_names(router.sinks)
    wrapped = []
    for name, sink in zip(names, router.sinks, strict=True):
        stages[f"sink {name}"] = Stage()
        wrapped.append(_timed(sink, stages[f"sink {name}"]))
    router.sinks = tuple(wrapped)
    return stages


def _sink_names(sinks: Sequence[object]) -> tuple[str, ...]:
    return tuple(getattr(sink, "__qualname__", type(sink).__name__) for sink in sinks)


def _timed(function: Callable[..., Any], stage: Stage) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = None
        try:
            result = function(*args, **kwargs)
            return result
        finally:
            stage.seconds += time.perf_counter() - started
            stage.calls += 1
            if isinstance(result, list):
                stage.items += len(result)

    return timed


@dataclass
class Recorded:
    """What the pipeline kept: from the session stats, the store and the event log."""

    lines: int
    matches: Counter[str]
    incidents: dict[str, tuple[int, int]]  # rule -> (incidents, occurrences) in SQLite
    event_lines: int


def recorded(runtime: Runtime) -> Recorded:
    """Read what the runtime recorded, once it has stopped (its store is opened again)."""
    config = runtime.config
    event_files = config.data_dir.glob(config.event_log.name + "*")
    event_lines = sum(path.read_bytes().count(b"\n") for path in event_files)
    store = Store(config.store_path)
    try:
        incidents = store.incident_counts()
    finally:
        store.close()
    return Recorded(
        lines=runtime.monitor.stats.lines,
        matches=Counter(runtime.monitor.stats.matches),
        incidents=incidents,
        event_lines=event_lines,
    )


async def pipeline_catch_up(
    folder: Path, source: Path, out: TextIO, *, inline: bool = False
) -> tuple[float, Recorded, float, float]:
    """The real pipeline on the source log as a backlog: one poll() from offset 0, then
    the router's sinks for every committed event.

    Returns lines/s, what was recorded, matches committed per second, and the share of
    the time the poll took (tailer, rules, store, event log: the router's sinks after)."""
    config = pipeline_config(folder, source, polling=False, from_beginning=True, inline=inline)
    runtime, queue = build_runtime(config, console=quiet_console(config, out))
    router = Router(queue, incident_sinks(runtime), incident_counters(runtime))
    started = time.monotonic()
    runtime.monitor.tailer.poll()
    polled = time.monotonic() - started
    router.route_pending()
    elapsed = time.monotonic() - started
    runtime.monitor.stop()
    router.route_pending()
    await runtime.remedies.wait_idle()
    runtime.intake.events.close()
    runtime.store.close()
    if runtime.lock is not None:
        runtime.lock.release()
    result = recorded(runtime)
    return result.lines / elapsed, result, sum(result.matches.values()) / elapsed, polled / elapsed


@dataclass
class Routing:
    """How the router kept up with the commits while live."""

    events: int  # committed by the intake while live
    max_behind: int  # most events committed but not yet routed
    last_routed: float  # seconds after the last line was read until all were routed


async def follow_routed(
    service: Service,
    stages: dict[str, Stage],
    log: Path,
    progress: Path,
    args: argparse.Namespace,
) -> tuple[Live, Routing, dict[str, Stage]]:
    """The live run (on a thread, so the event loop routes meanwhile), the router's lag,
    and the stages' timers as they stood when the last line was read."""
    monitor, router = service.runtime.monitor, service.router
    intake = stages["intake"]
    behind = Sampler(lambda: intake.items, lambda: router.routed)
    behind.start()
    live = await asyncio.to_thread(
        follow_live,
        log,
        args,
        lambda: monitor.stats.lines,
        writer_args=[
            "--full",
            "--seed",
            str(args.seed),
            "--error-ratio",
            str(args.error_ratio),
            "--progress",
            str(progress),
        ],
        written=lambda: int.from_bytes(progress.read_bytes(), "little"),
        drain_limit=args.drain,
    )
    read_at = time.monotonic()
    snapshot = {name: Stage(s.seconds, s.calls, s.items) for name, s in stages.items()}
    deadline = read_at + args.drain
    while router.routed < intake.items and time.monotonic() < deadline:  # noqa: ASYNC110 - counters, no event to wait on
        await asyncio.sleep(0.005)
    last_routed = time.monotonic() - read_at
    behind.finish()
    return live, Routing(intake.items, behind.max_lag, last_routed), snapshot


def full_pipeline(args: argparse.Namespace) -> int:
    """The pipeline's console output goes to /dev/null, so the figures stay readable."""
    with open(os.devnull, "w", encoding="utf-8") as quiet:
        return asyncio.run(_full_pipeline(args, quiet))


async def _full_pipeline(args: argparse.Namespace, quiet: TextIO) -> int:
    with tempfile.TemporaryDirectory(prefix="tail-bench-full-") as tmp:
        folder = Path(tmp)
        log = folder / "pipeline" / "pipeline.log"
        log.parent.mkdir()
        log.touch()
        progress = folder / "progress"
        progress.write_bytes(bytes(8))
        config = pipeline_config(
            folder / "live", log, polling=args.polling, from_beginning=False, inline=args.inline
        )
        service = build_service(
            config,
            lambda runtime: ConsoleFront(runtime, out=quiet),
            console=quiet_console(config, quiet),
        )
        runtime = service.runtime
        stages = time_stages(service)
        await service.start()
        try:
            live, routing, snapshot = await follow_routed(service, stages, log, progress, args)
        finally:
            await service.stop()
        runtime.intake.events.close()
        live_recorded = recorded(runtime)
        peak_rss = max(live.peak_rss, psutil.Process().memory_info().rss)
        backlog_rate, backlog, backlog_matches, polled = await pipeline_catch_up(
            folder / "backlog", log, quiet, inline=args.inline
        )
        backlog_rss = psutil.Process().memory_info().rss

    print_live(live, "PollingObserver" if args.polling else "native (inotify)")
    print(
        f"delivered               {live.delivered:,} lines through Monitor.handle_batch "
        f"({snapshot['classify'].calls:,} batches)"
    )
    print_stages(live, snapshot, routing)
    print(
        f"pipeline catch-up       {backlog_rate:,.0f} lines/s "
        f"(the same {live.written:,} lines as a backlog, one poll and the router's sinks, "
        f"no writer running; RSS after it {backlog_rss / 2**20:.1f} MB)"
    )
    matched = sum(live_recorded.matches.values())
    print(
        f"matches committed       {matched / live.live_seconds:,.0f}/s "
        f"live, {backlog_matches:,.0f}/s as a backlog (target on a storm: 25,000/s)"
    )
    print(
        f"  the writer's pace     {matched / live.write_seconds:,.0f} matches/s written: "
        "the most the live figure can show (--rate raises it)"
    )
    print(
        f"  backlog, by stage     {backlog_matches / polled:,.0f}/s through the tailer, rules, "
        f"store and event log ({polled:.0%} of the backlog's time), the router's sinks after"
    )
    print_recorded(live_recorded, backlog)
    met = print_targets(live, peak_rss)
    same = (
        live_recorded.lines == live.written
        and live_recorded.matches == backlog.matches
        and live_recorded.incidents == backlog.incidents
    )
    print(f"same as backlog's run   {'yes' if same else 'NO'} (matches and incidents by rule)")
    routed = routing.last_routed < args.drain
    print(f"every event routed      {'yes' if routed else 'NO'}")
    return 0 if met and same and routed else 1


def print_stages(live: Live, stages: dict[str, Stage], routing: Routing) -> None:
    """Where the tailer thread's and the event loop's time went while live, CPU per thread."""
    seconds = live.live_seconds
    classify, kinds = stages["classify"].seconds, stages["kinds"].seconds
    intake, events = stages["intake"].seconds, stages["event log"].seconds
    record = stages["book.record"]
    batch = classify + intake  # the new kinds are mined inside the intake's transaction
    print(f"handle_batch wall time  {batch:.2f}s of {seconds:.2f}s live ({batch / seconds:.0%})")
    rows = [
        ("classify (here, or worker's answer)", classify),
        ("new kinds (KindMiner.mine)", kinds),
        ("  of which KindStore", stages["kinds store"].seconds),
        (f"SQLite: {record.calls:,} book.record_batch", record.seconds),
        ("SQLite: rest, COMMIT", intake - kinds - record.seconds - events),
        ("event log", events),
    ]
    for name, value in rows:
        share = value / batch if batch else 0.0
        print(f"  {name:<34} {value:6.2f}s {share:4.0%}")
    sinks = {name[5:]: s.seconds for name, s in stages.items() if name.startswith("sink ")}
    routed = sum(sinks.values())
    print(
        f"router (event loop)     {routing.events:,} events, {routed:.2f}s in the sinks; "
        f"at most {routing.max_behind:,} waiting, all routed "
        f"{routing.last_routed * 1000:.0f} ms after the last line was read"
    )
    for name, value in sinks.items():
        share = value / routed if routed else 0.0
        print(f"  sink {name:<29} {value:6.2f}s {share:4.0%}")
    print("CPU seconds by thread")
    for name, cpu in sorted(live.thread_cpu.items(), key=lambda item: -item[1]):
        if cpu >= 0.05:
            print(f"  {name:<40} {cpu:6.2f}s")


def print_recorded(live: Recorded, backlog: Recorded) -> None:
    incidents = sum(n for n, _ in live.incidents.values())
    occurrences = sum(hits for _, hits in live.incidents.values())
    print(
        f"recorded                {sum(live.matches.values()):,} matches, {incidents} incidents "
        f"({occurrences:,} occurrences in SQLite, {live.event_lines:,} event-log lines)"
    )
    by_rule = ", ".join(f"{rule} {n:,}" for rule, n in sorted(live.matches.items()))
    print(f"  by rule               {by_rule}")
    backlog_incidents = sum(n for n, _ in backlog.incidents.values())
    print(
        f"backlog run recorded    {sum(backlog.matches.values()):,} matches, "
        f"{backlog_incidents} incidents"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=int, default=TARGET_RATE, help="lines per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--polling", action="store_true", help="use watchdog's PollingObserver")
    parser.add_argument("--full", action="store_true", help="follow with the real pipeline")
    parser.add_argument("--seed", type=int, default=1, help="the writer's random seed (--full)")
    parser.add_argument(
        "--error-ratio", type=float, default=0.02, help="share of error records (--full; storm 0.9)"
    )
    parser.add_argument(
        "--drain", type=float, default=20.0, help="seconds to wait for the last line (--full)"
    )
    parser.add_argument(
        "--inline",
        action="store_true",
        help="classify in the pipeline's own process ([watch] classify_process = false; --full)",
    )
    parser.add_argument("--writer", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--progress", help=argparse.SUPPRESS)
    args = parser.parse_args()
    gc.set_threshold(*GC_THRESHOLDS)  # as `adminbot run` sets it
    hold_memory_tightly(os.environ, glibc_mallopt())  # and asks the allocator for this
    if args.writer:
        run_writer(args.writer, args)
        return 0
    return full_pipeline(args) if args.full else tailer_only(args)


if __name__ == "__main__":
    sys.exit(main())
