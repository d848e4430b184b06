"""Classification throughput: adminbot's Classifier vs grep vs a naive regex loop.

Run by hand (`make bench` or `.venv/bin/python bench/classify_bench.py [N]`); not
collected by pytest. Generates one N-line log (default 1,000,000, ~2% error
lines) in a temporary directory and prints, side by side:

- adminbot end to end: binary chunks split into Lines (as the tailer reads),
  then `Classifier.feed` per chunk;
- adminbot classify only: the same, with the Lines already built;
- `grep -E -c -i` with the six seed patterns (one process, reads the file);
- a naive Python loop that tries the six seed regexes on every line;

and the ratios (target: adminbot / naive >= 10) and the process's memory.
"""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil

from adminbot.rules.offline import read_line_batches
from adminbot.rules.ruleset import Classifier, build_ruleset
from adminbot.simulate import generate_log

SEEDS = {
    "timeout": r"timeout|timed out|connection.*timeout",
    "permisos": r"permission denied|chmod|chown",
    "corrupto": r"corrupt|invalid.*file|broken.*video",
    "ruta_inexistente": r"no such file|directory.*not found",
    "disco_lleno": r"no space left|disk.*full",
    "servidor_caido": r"connection refused|bot api.*down",
}


def adminbot_end_to_end(path: Path) -> tuple[float, int, Counter[str]]:
    """Read like the tailer and classify; returns seconds, lines, matches per rule."""
    classifier = Classifier(build_ruleset())
    counts: Counter[str] = Counter()
    lines = 0
    started = time.perf_counter()
    for batch in read_line_batches(path):
        lines += len(batch)
        counts.update(m.rule for m in classifier.feed(str(path), batch).matches)
    counts.update(m.rule for m in classifier.flush().matches)
    return time.perf_counter() - started, lines, counts


def adminbot_classify_only(path: Path) -> tuple[float, int]:
    """Classify batches whose Lines were built beforehand (the stage the monitor calls)."""
    batches = list(read_line_batches(path))
    classifier = Classifier(build_ruleset())
    started = time.perf_counter()
    for batch in batches:
        classifier.feed(str(path), batch)
    classifier.flush()
    return time.perf_counter() - started, sum(map(len, batches))


def naive_loop(path: Path) -> tuple[float, float, int, Counter[str]]:
    """The six seed regexes on every line: seconds end to end, seconds classifying."""
    compiled = [(name, re.compile(pattern, re.IGNORECASE)) for name, pattern in SEEDS.items()]
    counts: Counter[str] = Counter()
    started = time.perf_counter()
    with path.open(encoding="utf-8", errors="replace") as handle:
        texts = handle.read().split("\n")
    read = time.perf_counter()
    for text in texts:
        for name, regex in compiled:
            if regex.search(text):
                counts[name] += 1
                break
    done = time.perf_counter()
    return done - started, done - read, len(texts), counts


def grep_count(path: Path) -> tuple[float, int] | None:
    grep = shutil.which("grep")
    if grep is None:
        return None
    pattern = "|".join(SEEDS.values())
    started = time.perf_counter()
    result = subprocess.run(
        [grep, "-E", "-c", "-i", pattern, str(path)], capture_output=True, text=True, check=False
    )
    return time.perf_counter() - started, int(result.stdout.strip() or 0)


def _rss_mb() -> tuple[float, float]:
    current = psutil.Process().memory_info().rss / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return current, peak


def main() -> int:
    n_lines = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory(prefix="adminbot-bench-") as folder:
        log = Path(folder) / "pipeline.log"
        started = time.perf_counter()
        generate_log(log, n_lines, error_ratio=0.02, seed=1)
        size = log.stat().st_size / 2**20
        took = time.perf_counter() - started
        print(f"log: {n_lines:,} lines, {size:.1f} MiB, generated in {took:.1f} s")

        e2e_s, lines, counts = adminbot_end_to_end(log)
        rss_stream = _rss_mb()
        grep = grep_count(log)
        naive_total, naive_s, naive_lines, naive_counts = naive_loop(log)
        only_s, _ = adminbot_classify_only(log)
        rss_all = _rss_mb()

    rows = [
        ("adminbot classify only (Lines prebuilt)", lines / only_s, only_s),
        ("adminbot end to end (read + split + classify)", lines / e2e_s, e2e_s),
        ("naive loop, 6 seed regexes per line", naive_lines / naive_s, naive_s),
        ("naive loop end to end (read + regexes)", naive_lines / naive_total, naive_total),
    ]
    if grep is not None:
        rows.append(("grep -E -c -i, 6 seed patterns", lines / grep[0], grep[0]))
    print(f"\n{'':48} {'lines/s':>12} {'seconds':>9}")
    for name, speed, seconds in rows:
        print(f"{name:48} {speed:>12,.0f} {seconds:>9.2f}")
    print(f"\nadminbot classify / naive loop:         {naive_s / only_s:6.1f}x  (target >= 10x)")
    print(f"adminbot end to end / naive end to end: {naive_total / e2e_s:6.1f}x")
    if grep is not None:
        print(f"adminbot end to end / grep:             {grep[0] / e2e_s:6.2f}x")
    print(f"\nmatches, adminbot: {dict(sorted(counts.items()))}")
    print(f"matches, naive:    {dict(sorted(naive_counts.items()))}")
    if grep is not None:
        print(f"lines,   grep:     {grep[1]:,}")
    current, peak = rss_stream
    print(f"\nRSS after streaming classification: {current:.0f} MiB (peak {peak:.0f} MiB)")
    print(
        f"RSS with all {lines:,} Lines in memory: {rss_all[0]:.0f} MiB (peak {rss_all[1]:.0f} MiB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
