"""Classification throughput: adminbot's Classifier vs grep vs a naive regex loop.

Run by hand (`make bench` or `.venv/bin/python bench/classify_bench.py [N] [--log KIND]`);
not collected by pytest. Generates one N-line log (default 1,000,000) in a temporary
directory: KIND `plain` (~2% error lines, the default), `quiet` (2% errors and 15%
WARNING lines) or `storm` (90% error lines). Prints, side by side:

- `adminbot check-rules --json` as a whole process (start-up included), as run by
  default (a big file cut into spans, one process per core) and with `--jobs 1`,
  and `check-rules` on an empty file (start-up alone, best of 5);
- adminbot end to end: binary chunks decoded into line batches (as the tailer reads),
  then `Classifier.feed` per chunk;
- adminbot classify only: the same, with the batches already read;
- `grep -E -c -i` with the six seed patterns (one process, reads the file);
- a naive Python loop that tries the six seed regexes on every line;

and the ratios (targets: check-rules >= 0.1x grep on `quiet`, >= 3x the naive loop
end to end on `storm`, <= 150 ms on an empty file) and the process's memory.
check-rules, the naive loop and grep run `--repeat` times (default 3) in turn, each
keeping its best: the machines are shared, and one busy second would decide a ratio.
With `--reference`, the fast classifier is compared record by record with
`adminbot.rules.reference` on the same file (rule, line, key, fields).
"""

from __future__ import annotations

import argparse
import random
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

from adminbot.rules.classifier import Classifier
from adminbot.rules.reading import read_line_batches
from adminbot.rules.reference import ReferenceClassifier
from adminbot.rules.ruleset import build_ruleset
from adminbot.rules.spans import default_jobs
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
    """Classify batches read beforehand (the stage the monitor calls)."""
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


def make_log(path: Path, n_lines: int, kind: str) -> None:
    """The benchmark's log: `plain`, `quiet` (15% WARNING lines) or `storm`."""
    generate_log(path, n_lines, error_ratio=0.9 if kind == "storm" else 0.02, seed=1)
    if kind != "quiet":
        return
    rng = random.Random(7)
    lines = path.read_text(encoding="utf-8").split("\n")
    have = sum(1 for line in lines if "WARNING" in line[:60])
    share = (0.15 * len(lines) - have) / max(1, sum(" INFO " in line[:60] for line in lines))
    for index, line in enumerate(lines):
        if " INFO " in line[:60] and rng.random() < share:
            lines[index] = line.replace(" INFO ", " WARNING ", 1)
    path.write_text("\n".join(lines), encoding="utf-8")


def check_rules_process(path: Path, jobs: int | None = None) -> float:
    """Wall seconds of `adminbot check-rules --json path`, as a user runs it (its
    default: a big file in one process per core, at most 4), or with `--jobs`."""
    extra = [] if jobs is None else ["--jobs", str(jobs)]
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "adminbot", "check-rules", "--json", *extra, str(path)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def compare_with_reference(path: Path) -> str:
    """Fast and reference classifiers on the same batches: 'same' or the first difference."""
    batches = list(read_line_batches(path))
    ruleset = build_ruleset()
    classifier = Classifier(ruleset)
    fast = []
    for batch in batches:
        fast += classifier.feed(str(path), batch).matches
    fast += classifier.flush().matches
    reference = ReferenceClassifier(ruleset).run(batches)[0]
    facts = [(m.record.line_no, m.rule, m.key, dict(m.fields)) for m in fast]
    expected = [(m.record.line_no, m.rule, m.key, dict(m.fields)) for m in reference]
    if facts == expected:
        return f"same ({len(facts):,} matches)"
    first = next(i for i, (a, b) in enumerate(zip(facts, expected, strict=False)) if a != b)
    return f"DIFFERENT at match {first}: {facts[first]} != {expected[first]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("lines", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--log", choices=("plain", "quiet", "storm"), default="plain")
    parser.add_argument("--reference", action="store_true", help="compare with the reference")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of check-rules, the naive loop and grep, taken in turn; each keeps its best",
    )
    args = parser.parse_args()
    n_lines = args.lines
    with tempfile.TemporaryDirectory(prefix="adminbot-bench-") as folder:
        log = Path(folder) / "pipeline.log"
        started = time.perf_counter()
        make_log(log, n_lines, args.log)
        size = log.stat().st_size / 2**20
        took = time.perf_counter() - started
        warnings = sum(1 for line in log.open(encoding="utf-8") if "WARNING" in line[:60])
        print(
            f"log ({args.log}): {n_lines:,} lines, {size:.1f} MiB, "
            f"{warnings / n_lines:.0%} WARNING lines, generated in {took:.1f} s"
        )
        empty = Path(folder) / "empty.log"
        empty.touch()
        startup = min(check_rules_process(empty) for _ in range(5))
        # In turn, so that a busy moment of the shared machine weighs on each alike.
        turns = [
            (check_rules_process(log), naive_loop(log), grep_count(log))
            for _ in range(max(1, args.repeat))
        ]
        process_s = min(turn[0] for turn in turns)
        naive_total, naive_s, naive_lines, naive_counts = min(
            (turn[1] for turn in turns), key=lambda naive: naive[0]
        )
        greps = [turn[2] for turn in turns if turn[2] is not None]
        grep = min(greps, key=lambda found: found[0]) if greps else None
        single_s = min(check_rules_process(log, jobs=1) for _ in range(max(1, args.repeat)))

        e2e_s, lines, counts = adminbot_end_to_end(log)
        rss_stream = _rss_mb()
        only_s, _ = adminbot_classify_only(log)
        rss_all = _rss_mb()
        same = compare_with_reference(log) if args.reference else None

    rows = [
        (
            f"adminbot check-rules, whole process ({default_jobs()} jobs)",
            lines / process_s,
            process_s,
        ),
        ("adminbot check-rules --jobs 1", lines / single_s, single_s),
        ("adminbot classify only (batches read before)", lines / only_s, only_s),
        ("adminbot end to end (read + split + classify)", lines / e2e_s, e2e_s),
        ("naive loop, 6 seed regexes per line", naive_lines / naive_s, naive_s),
        ("naive loop end to end (read + regexes)", naive_lines / naive_total, naive_total),
    ]
    if grep is not None:
        rows.append(("grep -E -c -i, 6 seed patterns", lines / grep[0], grep[0]))
    print(f"\nbest of {max(1, args.repeat)} runs each for check-rules, the naive loop and grep")
    print(f"{'':48} {'lines/s':>12} {'seconds':>9}")
    for name, speed, seconds in rows:
        print(f"{name:48} {speed:>12,.0f} {seconds:>9.2f}")
    print(f"\ncheck-rules on an empty file:           {startup * 1000:6.0f} ms  (target <= 150 ms)")
    print(f"check-rules process / naive end to end: {naive_total / process_s:6.2f}x (storm: >= 3x)")
    print(f"  the same with --jobs 1:                {naive_total / single_s:6.2f}x")
    if grep is not None:
        ratio = grep[0] / process_s
        print(f"check-rules process / grep:             {ratio:6.3f}x (quiet: >= 0.1x)")
        print(f"  the same with --jobs 1:                {grep[0] / single_s:6.3f}x")
    print(f"adminbot classify / naive loop:         {naive_s / only_s:6.2f}x")
    print(f"adminbot end to end / naive end to end: {naive_total / e2e_s:6.2f}x")
    if same is not None:
        print(f"fast vs reference classifier:           {same}")
    print(f"\nmatches, adminbot: {dict(sorted(counts.items()))}")
    print(f"matches, naive:    {dict(sorted(naive_counts.items()))}")
    if grep is not None:
        print(f"lines,   grep:     {grep[1]:,}")
    current, peak = rss_stream
    print(f"\nRSS after streaming classification: {current:.0f} MiB (peak {peak:.0f} MiB)")
    print(
        f"RSS with all {lines:,} lines in memory: {rss_all[0]:.0f} MiB (peak {rss_all[1]:.0f} MiB)"
    )
    return 0 if same is None or same.startswith("same") else 1


if __name__ == "__main__":
    raise SystemExit(main())
