"""Offline rule tester (like fail2ban-regex): run the rules over a whole log file.

Reads the file from the start (`adminbot.rules.reading`) with the same `Classifier`
as production, so what it reports is what the bot would have alerted on. Text mode
is for people (counts, samples per rule, errors no rule matched, speed); `--json`
prints one object for scripts and tests.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from adminbot.models import Record
from adminbot.rules import spans
from adminbot.rules.classifier import Classified, Classifier, Decided
from adminbot.rules.reading import read_blocks
from adminbot.rules.ruleset import RuleSet, build_ruleset
from adminbot.rules.spans import Span

if TYPE_CHECKING:
    from adminbot.kinds.tally import KindCount

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_UNREADABLE = 2
TOP_KINDS = 10
UNMATCHED_SHOWN = 10  # errors no rule matched, shown whole (at least)


ANNOTATION = "# expect:"
"""How the annotated sample logs in tests/samples state what a record must match."""
_ANNOTATION_BYTES = ANNOTATION.encode()


def _without_annotations(texts: list[str], found: Scanned) -> list[str]:
    """Blank out `# expect:` lines (keeping line numbers): they describe a log, they are
    not part of it, and would otherwise be counted as matches of the rule they name."""
    if not any(text.startswith(ANNOTATION) for text in texts):
        return texts
    kept = []
    for text in texts:
        if text.startswith(ANNOTATION):
            found.annotations += 1
            kept.append("")
        else:
            kept.append(text)
    return kept


@dataclass
class Scanned:
    """What classifying a file (or a span of it) found, as the reports need it: the
    matches per rule and, for JSON, listed in line order; the first `samples` matches
    of each rule whole; of the errors no rule matched, the first few whole and each
    one's line and masked words (its kinds are mined from them). A storm's span hands
    back a few MB less, and its part of the JSON already written."""

    samples: int
    lines: int = 0
    records: int = 0
    annotations: int = 0
    hits: list[tuple[int, str]] = field(default_factory=list)  # (line, rule) until `finish`
    counts: Counter[str] = field(default_factory=Counter)
    listing: list[str] = field(default_factory=list)  # the JSON of each span's matches
    firsts: dict[str, list[Record]] = field(default_factory=dict)  # records pickle, matches not
    unmatched: list[Record] = field(default_factory=list)  # the first `shown`, once finished
    unmatched_count: int = 0
    unmatched_lines: list[int] = field(default_factory=list)
    words: list[tuple[str, ...]] = field(default_factory=list)  # each unmatched one's masked

    @property
    def shown(self) -> int:
        """How many errors no rule matched the reports show whole."""
        return max(self.samples, UNMATCHED_SHOWN)

    def add(self, found: Classified | Decided) -> None:
        """Keep what a report shows of what the classifier found in a batch."""
        if isinstance(found, Classified):
            matched = [(match.record, match.rule) for match in found.matches]
        else:
            matched = found.matched
        self.hits += [(record.line_no, rule) for record, rule in matched]
        firsts = self.firsts
        for record, rule in matched:
            kept = firsts.get(rule)
            if kept is None:
                kept = firsts[rule] = []
            if len(kept) < self.samples:
                kept.append(record)
        self.unmatched += found.unmatched_errors
        self.unmatched_count += len(found.unmatched_errors)
        self.records += found.records

    def finish(self, listing: bool = False) -> None:
        """Matches counted and, with `listing`, written out as JSON in line order (a
        record held for its traceback comes out late), and the unmatched errors masked
        for mining: in each span's own process."""
        hits, self.hits = self.hits, []
        self.counts = Counter(rule for _, rule in hits)
        if listing and hits:
            hits.sort(key=lambda hit: hit[0])
            self.listing = [_listed(hits)]
        for kept in self.firsts.values():
            kept.sort(key=lambda record: record.line_no)
        if self.unmatched:
            from adminbot.kinds.mask import record_tokens  # only paid for when needed

            self.words = [record_tokens(record) for record in self.unmatched]
            self.unmatched_lines = [record.line_no for record in self.unmatched]
            del self.unmatched[self.shown :]

    def by_rule(self) -> list[tuple[str, list[Record]]]:
        """Each rule's first matched records, the rules in the order they first matched."""
        return sorted(self.firsts.items(), key=lambda item: item[1][0].line_no)

    def join(self, later: Scanned) -> None:
        """Add what a later span of the same file found."""
        self.lines += later.lines
        self.records += later.records
        self.annotations += later.annotations
        self.counts += later.counts
        self.listing += later.listing
        for rule, kept in later.firsts.items():
            mine = self.firsts.setdefault(rule, [])
            mine += kept[: self.samples - len(mine)]
        self.unmatched += later.unmatched[: self.shown - len(self.unmatched)]
        self.unmatched_count += later.unmatched_count
        self.unmatched_lines += later.unmatched_lines
        self.words += later.words


def scan(
    path: Path,
    ruleset: RuleSet,
    span: Span | None = None,
    samples: int = 3,
    listing: bool = False,
) -> Scanned:
    """Classify the file (or one span of it) as production would; `listing`: write
    the matches out for the JSON report."""
    # Keys are only shown for the samples of the text report, so none are made here,
    # and no times: the reports show none.
    classifier = Classifier(ruleset, keys=False, times=False)
    found = Scanned(samples)
    name = str(path)
    with _no_collection():
        for block in read_blocks(path, span=span):
            found.lines += len(block.texts)
            texts, joined = block.texts, block.joined
            if block.data is None or _ANNOTATION_BYTES in block.data:
                texts, joined = _without_annotations(texts, found), None
            found.add(classifier.decide_texts(name, texts, block.line_no + 1, joined))
        found.add(classifier.flush())
        found.finish(listing)
    return found


@contextmanager
def _no_collection() -> Iterator[None]:
    """No cyclic garbage collection for a while. A scan makes a storm's hundreds of
    thousands of records, matches and tuples and no reference cycles: each collection
    only walked them (6% of a storm span's time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def check_file(
    path: Path,
    ruleset: RuleSet,
    *,
    as_json: bool,
    out: TextIO,
    samples: int = 3,
    err: TextIO | None = None,
    jobs: int | None = None,
) -> int:
    """Classify the whole file and report; 0 when read, 2 (and why, on `err`) if not.

    A big file is cut into `jobs` spans (default: the cores, at most 4) classified at
    the same time (`spans`); the report is the same as from one pass."""
    started = time.perf_counter()
    try:
        parts = spans.split(path, spans.default_jobs() if jobs is None else jobs)
        work = partial(scan, path, ruleset, samples=samples, listing=as_json)
        found, *later = spans.run(parts, work)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"adminbot check-rules: cannot read {path}: {reason}", file=err or sys.stderr)
        return EXIT_UNREADABLE
    for part in later:
        found.join(part)
    seconds = time.perf_counter() - started
    kinds = _kinds(found)
    if as_json:
        _print_json(found, ruleset, seconds, out, kinds)
    else:
        _print_text(path, found, ruleset, seconds, out)
        _print_kinds(kinds, out)
    return EXIT_OK


def _kinds(found: Scanned) -> list[KindCount]:
    """The most frequent templates of the errors no rule matched."""
    if not found.unmatched_count:
        return []
    from adminbot.kinds.tally import tally_words  # only paid for when there is something to mine

    return tally_words(found.unmatched_lines, found.words, TOP_KINDS)


def _print_kinds(kinds: Sequence[KindCount], out: TextIO) -> None:
    if not kinds:
        return
    out.write(f"\nTop kinds of unmatched errors ({len(kinds)}):\n")
    for kind in kinds:
        out.write(f"  {kind.count:>8,}  {kind.template}  (first at line {kind.first_line})\n")


def _counts(found: Scanned, ruleset: RuleSet) -> dict[str, int]:
    counts = dict.fromkeys(ruleset.enabled_names, 0)
    counts.update(found.counts)
    return counts


def _print_json(
    found: Scanned,
    ruleset: RuleSet,
    seconds: float,
    out: TextIO,
    kinds: Sequence[KindCount] = (),
) -> None:
    """Everything the text report says, as one object a script can read.

    A storm's file has a hundred thousand matches: each span wrote its part of their
    list (`Scanned.finish`, `_listed`)."""
    head = {
        "lines": found.lines,
        "records": found.records,
        "annotations_skipped": found.annotations,
        "seconds": round(seconds, 6),
        "counts": _counts(found, ruleset),
    }
    matches = ", ".join(found.listing)
    tail = {
        "samples": {
            name: [_json_sample(ruleset, record) for record in kept]
            for name, kept in found.by_rule()
        },
        "unmatched_errors": found.unmatched_count,
        "unmatched_samples": [
            {"line": record.line_no, "text": record.text}
            for record in found.unmatched[: found.shown]
        ],
        "kinds": [
            {"template": k.template, "count": k.count, "first_line": k.first_line} for k in kinds
        ],
    }
    out.write(json.dumps(head, ensure_ascii=False)[:-1])
    out.write(f', "matches": [{matches}], ')
    out.write(json.dumps(tail, ensure_ascii=False)[1:] + "\n")


def _listed(hits: Sequence[tuple[int, str]]) -> str:
    """The JSON report's match list (without its brackets) for (line, rule) pairs: from
    one JSON text per rule name rather than a dict per match (a third of the time)."""
    names = {name: json.dumps(name, ensure_ascii=False) for name in {rule for _, rule in hits}}
    return ", ".join(f'{{"line": {line}, "rule": {names[rule]}}}' for line, rule in hits)


def _json_sample(ruleset: RuleSet, record: Record) -> dict[str, object]:
    keyed = ruleset.classify(record)
    return {
        "line": record.line_no,
        "text": record.text,
        "key": keyed.key if keyed is not None else "",
    }


def _print_text(
    path: Path,
    found: Scanned,
    ruleset: RuleSet,
    seconds: float,
    out: TextIO,
) -> None:
    speed = found.lines / seconds if seconds > 0 else float("inf")
    write = out.write
    write(f"{path}: {found.lines:,} lines, {found.records:,} records in {seconds:.3f} s ")
    write(f"({speed:,.0f} lines/s)\n")
    if found.annotations:
        write(f"{found.annotations:,} annotation lines ({ANNOTATION}) skipped\n")
    write("\nMatches per rule:\n")
    counts = _counts(found, ruleset)
    for name, count in counts.items():
        rule = ruleset.get(name)
        kind = f"{rule.severity.value}, {rule.policy.value}" if rule else ""
        write(f"  {name:<18} {count:>8,}  ({kind})\n")
    for name, kept in found.by_rule():
        write(f"\n[{name}] first {len(kept)} of {counts[name]:,}:\n")
        for record in kept:
            write(_sample(record.line_no, record.text))
            keyed = ruleset.classify(record)
            key = keyed.key if keyed is not None else ""
            key = key if len(key) <= 80 else key[:77] + "..."
            write(f"      key: {key}\n")
    write(f"\nErrors no rule matched: {found.unmatched_count:,}\n")
    for record in found.unmatched[: found.shown]:
        write(_sample(record.line_no, record.text))


def _sample(line_no: int, text: str, width: int = 160) -> str:
    """First line of a record plus its last (the exception), cut to fit a terminal."""
    lines = text.split("\n")
    shown = [lines[0]] if len(lines) == 1 else [lines[0], "  ... " + lines[-1].strip()]
    cut = [line if len(line) <= width else line[: width - 3] + "..." for line in shown]
    return "".join(
        f"  {line_no:>7}: {line}\n" if i == 0 else f"           {line}\n"
        for i, line in enumerate(cut)
    )


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m adminbot.checkrules.report FILE [--json]` with the built-in rules only."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("logfile", type=Path)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--samples", type=int, default=3, help="sample lines per rule")
    args = parser.parse_args(argv)
    return check_file(
        args.logfile, build_ruleset(), as_json=args.json, out=sys.stdout, samples=args.samples
    )


if __name__ == "__main__":
    raise SystemExit(main())
