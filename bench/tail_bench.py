"""Can the tailer keep up with a busy log? Run by hand: `python bench/tail_bench.py`.

A writer subprocess appends fixed-size, realistic log lines at a target rate
with one write() per line (as `logging.FileHandler` does), while a started
`Tailer` follows the file with a counting sink. Printed: achieved lines/s,
the worst lag (lines written but not yet delivered), whether every line
arrived exactly once and in order, and the tailer process's peak RSS.
Targets: 50,000 lines/s, RSS under 80 MB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from adminbot.models import Checkpoint, Line
from adminbot.sources import Tailer

LINE_BYTES = 120
TARGET_RATE = 50_000
RSS_LIMIT_MB = 80
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


def run_writer(path: str, rate: int, seconds: float) -> None:
    """Append `rate` lines per second for `seconds`, one os.write per line, paced every 5 ms."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    start = time.monotonic()
    written = 0
    total = int(rate * seconds)
    while written < total:
        due = min(total, int((time.monotonic() - start) * rate))
        while written < due:
            os.write(fd, make_line(written))
            written += 1
        time.sleep(0.005)
    os.close(fd)


class CountingSink:
    """Counts lines and checks they arrive once, in order (line numbers without gaps)."""

    def __init__(self) -> None:
        self.count = 0
        self.last_line_no = 0
        self.out_of_order = 0

    def __call__(self, path: str, lines: list[Line], checkpoint: Checkpoint) -> None:
        if lines and lines[0].line_no != self.last_line_no + 1:
            self.out_of_order += 1
        if lines:
            self.last_line_no = lines[-1].line_no
        self.count += len(lines)


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=TARGET_RATE, help="lines per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--polling", action="store_true", help="use watchdog's PollingObserver")
    parser.add_argument("--writer", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer:
        run_writer(args.writer, args.rate, args.seconds)
        return 0

    me = psutil.Process()
    with tempfile.TemporaryDirectory(prefix="tail-bench-") as tmp:
        log = Path(tmp) / "pipeline.log"
        log.touch()
        sink = CountingSink()
        tailer = Tailer([str(log)], sink, {}, polling=args.polling)
        tailer.start()
        peak_rss = me.memory_info().rss
        max_lag = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak_rss, max_lag
            while not done.is_set():
                written = log.stat().st_size // LINE_BYTES
                max_lag = max(max_lag, written - sink.count)
                peak_rss = max(peak_rss, me.memory_info().rss)
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        time.sleep(0.3)  # let the worker's first pass save the starting position
        cpu_before = sum(me.cpu_times()[:2])
        started = time.monotonic()
        command = [sys.executable, __file__, "--writer", str(log)]
        command += ["--rate", str(args.rate), "--seconds", str(args.seconds)]
        writer = subprocess.run(command, check=False)
        written_at = time.monotonic()
        total = log.stat().st_size // LINE_BYTES
        deadline = written_at + 5
        while sink.count < total and time.monotonic() < deadline:
            time.sleep(0.005)
        caught_up = time.monotonic()
        cpu = sum(me.cpu_times()[:2]) - cpu_before
        tailer.stop()
        done.set()
        sampler.join()
        backlog_rate = catch_up_rate(Path(tmp), 500_000)
        peak_rss = max(peak_rss, me.memory_info().rss)

    write_rate = total / (written_at - started)
    rss_mb = peak_rss / 2**20
    lag_seconds = max_lag / write_rate
    exact = sink.count == total and sink.out_of_order == 0
    kept_up = write_rate >= 0.95 * TARGET_RATE and lag_seconds < 2 and caught_up - written_at < 2
    print(f"observer                {'PollingObserver' if args.polling else 'native (inotify)'}")
    print(
        f"writer                  {total:,} lines in {written_at - started:.2f}s "
        f"= {write_rate:,.0f} lines/s (exit code {writer.returncode})"
    )
    print(
        f"delivered               {sink.count:,} lines, out-of-order batches: {sink.out_of_order}"
    )
    print(f"max lag                 {max_lag:,} lines (~{lag_seconds * 1000:.0f} ms)")
    print(
        f"last line delivered     {(caught_up - written_at) * 1000:.0f} ms after the writer ended"
    )
    print(f"tailer CPU while live   {cpu / (caught_up - started) * 100:.0f}% of one core")
    print(f"catch-up reading speed  {backlog_rate:,.0f} lines/s (500,000-line backlog, one poll)")
    print(f"peak RSS                {rss_mb:.1f} MB")
    print(f"keeps up with {TARGET_RATE:,}/s  {'met' if kept_up else 'NOT met'}")
    print(f"RSS < {RSS_LIMIT_MB} MB            {'met' if rss_mb < RSS_LIMIT_MB else 'NOT met'}")
    print(f"delivered == written    {'yes' if exact else 'NO'}")
    return 0 if kept_up and exact and rss_mb < RSS_LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
