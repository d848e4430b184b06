"""Offline rule tester (like fail2ban-regex): run the rules over a whole log file.

Reads the file from the start with the same `Classifier` as production, so
what it reports is what the bot would have alerted on. Text mode is for people
(counts, samples per rule, errors no rule matched, speed); `--json` prints one
object for scripts and tests.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from adminbot.models import Line, Match, Record
from adminbot.rules.records import is_header
from adminbot.rules.ruleset import (
    Classified,
    Classifier,
    RuleSet,
    build_ruleset,
)

if TYPE_CHECKING:
    from adminbot.kinds.tally import KindCount

logger = logging.getLogger(__name__)

MAX_LINE_BYTES = 64 * 1024
CHUNK_BYTES = 1 << 20
EXIT_OK = 0
EXIT_UNREADABLE = 2
TOP_KINDS = 10


@dataclass(frozen=True, slots=True)
class TextBlock:
    """Consecutive complete lines of a file, as bytes and as decoded texts."""

    line_no: int  # number of the line before the first
    offset: int  # byte offset of the first line
    data: bytes  # the lines, newlines between them but not after the last
    texts: list[str]
    ends_file: bool = False  # the last line has no newline (the end of the file)
    joined: str | None = None  # "\n".join(texts), when decoding gave it for free


def read_blocks(path: Path, *, chunk_bytes: int = CHUNK_BYTES) -> Iterator[TextBlock]:
    """The file's lines as the tailer reads them: binary chunks, split on newlines,
    decoded with replacement, lines over 64 KiB cut; one block per chunk.

    While more of the file follows, a block ends before the last header line of
    its chunk: that record (a header whose traceback starts in the next chunk)
    goes whole into the next block, as the tailer does.
    """
    line_no = 0
    offset = 0  # byte offset where `partial` starts
    partial = b""
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_bytes):
            data = partial + chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                partial = _cap_partial(data)
                offset += len(data) - len(partial)
                continue
            texts, joined = _texts(data[:cut])
            if len(chunk) == chunk_bytes:
                keep = last_record_start(texts)
                for _ in range(len(texts) - keep):
                    cut = data.rfind(b"\n", 0, cut)
                if joined is not None and keep < len(texts):
                    joined = joined[: len(joined) - sum(len(t) + 1 for t in texts[keep:])]
                del texts[keep:]
            partial = data[cut + 1 :]
            yield TextBlock(line_no, offset, data[:cut], texts, joined=joined)
            line_no += len(texts)
            offset += cut + 1
            if len(partial) > MAX_LINE_BYTES:
                capped = _cap_partial(partial)
                offset += len(partial) - len(capped)
                partial = capped
    cut = partial.rfind(b"\n")
    if cut >= 0:
        texts, joined = _texts(partial[:cut])
        yield TextBlock(line_no, offset, partial[:cut], texts, joined=joined)
        line_no += len(texts)
        offset += cut + 1
        partial = partial[cut + 1 :]
    if partial:
        yield TextBlock(line_no, offset, partial, [_decode(partial)], ends_file=True)


def read_line_batches(
    path: Path, *, chunk_bytes: int = CHUNK_BYTES, source: str | None = None
) -> Iterator[list[Line]]:
    """`read_blocks` as `Line`s, one batch per block (what the tailer hands over)."""
    name = source or str(path)
    for block in read_blocks(path, chunk_bytes=chunk_bytes):
        raws = block.data.split(b"\n")
        ends = list(accumulate((len(raw) + 1 for raw in raws), initial=block.offset))
        if block.ends_file:
            ends[-1] -= 1
        first = block.line_no + 1
        yield [
            Line(name, number, text, start, end)
            for number, text, start, end in zip(
                range(first, first + len(raws)), block.texts, ends[:-1], ends[1:], strict=True
            )
        ]


def last_record_start(texts: Sequence[str]) -> int:
    """Index of the last header line (it starts the record that may go on in the
    next chunk), or len(texts) when only the first line is one (nothing to hold)."""
    for index in range(len(texts) - 1, 0, -1):
        if is_header(texts[index]):
            return index
    return len(texts)


def _decode(raw: bytes) -> str:
    if len(raw) > MAX_LINE_BYTES:
        raw = raw[:MAX_LINE_BYTES]
    return raw.rstrip(b"\r").decode("utf-8", errors="replace")


def _cap_partial(data: bytes) -> bytes:
    """An endless line keeps only its first 64 KiB (the rest will be cut anyway)."""
    return data[:MAX_LINE_BYTES] if len(data) > MAX_LINE_BYTES else data


def _texts(block: bytes) -> tuple[list[str], str | None]:
    """The decoded lines of `block` (complete lines without the last newline), and
    their text joined by newlines when it was decoded whole."""
    if b"\r" not in block:
        # One decode for the whole block: a newline byte never sits inside a UTF-8
        # sequence, so this equals decoding line by line. No line of at most
        # MAX_LINE_BYTES // 4 characters can be over MAX_LINE_BYTES bytes.
        joined = block.decode("utf-8", errors="replace")
        texts = joined.split("\n")
        if max(map(len, texts)) <= MAX_LINE_BYTES // 4:
            return texts, joined
    return [_decode(raw) for raw in block.split(b"\n")], None


ANNOTATION = "# expect:"
"""How the annotated sample logs in tests/samples state what a record must match."""
_ANNOTATION_BYTES = ANNOTATION.encode()


def _without_annotations(texts: list[str], report: _Report) -> list[str]:
    """Blank out `# expect:` lines (keeping line numbers): they describe a log, they are
    not part of it, and would otherwise be counted as matches of the rule they name."""
    if not any(text.startswith(ANNOTATION) for text in texts):
        return texts
    kept = []
    for text in texts:
        if text.startswith(ANNOTATION):
            report.annotations += 1
            kept.append("")
        else:
            kept.append(text)
    return kept


class _Report:
    """What check_file gathers while the classifier runs."""

    def __init__(self) -> None:
        self.matches: list[Match] = []
        self.unmatched: list[Record] = []
        self.records = 0
        self.annotations = 0

    def add(self, classified: Classified) -> None:
        self.matches.extend(classified.matches)
        self.unmatched.extend(classified.unmatched_errors)
        self.records += classified.records


def check_file(
    path: Path,
    ruleset: RuleSet,
    *,
    as_json: bool,
    out: TextIO,
    samples: int = 3,
    err: TextIO | None = None,
) -> int:
    """Classify the whole file and report; 0 when read, 2 (and why, on `err`) if not."""
    # Keys are only shown for the samples of the text report, so none are made here.
    classifier = Classifier(ruleset, keys=False)
    report = _Report()
    lines = 0
    name = str(path)
    started = time.perf_counter()
    try:
        for block in read_blocks(path):
            lines += len(block.texts)
            texts, joined = block.texts, block.joined
            if _ANNOTATION_BYTES in block.data:
                texts, joined = _without_annotations(texts, report), None
            report.add(classifier.feed_texts(name, texts, block.line_no + 1, joined))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"adminbot check-rules: cannot read {path}: {reason}", file=err or sys.stderr)
        return EXIT_UNREADABLE
    report.add(classifier.flush())
    seconds = time.perf_counter() - started
    report.matches.sort(key=lambda match: match.record.line_no)
    kinds = _kinds(report.unmatched)
    if as_json:
        _print_json(report, ruleset, lines, seconds, out, samples, kinds)
    else:
        _print_text(path, report, ruleset, lines, seconds, out, samples)
        _print_kinds(kinds, out)
    return EXIT_OK


def _kinds(unmatched: Sequence[Record]) -> list[KindCount]:
    """The most frequent templates of the errors no rule matched."""
    if not unmatched:
        return []
    from adminbot.kinds.tally import tally  # only paid for when there is something to mine

    return tally(unmatched, TOP_KINDS)


def _print_kinds(kinds: Sequence[KindCount], out: TextIO) -> None:
    if not kinds:
        return
    out.write(f"\nTop kinds of unmatched errors ({len(kinds)}):\n")
    for kind in kinds:
        out.write(f"  {kind.count:>8,}  {kind.template}  (first at line {kind.first_line})\n")


def _counts(report: _Report, ruleset: RuleSet) -> dict[str, int]:
    counts = dict.fromkeys(ruleset.enabled_names, 0)
    for match in report.matches:
        counts[match.rule] = counts.get(match.rule, 0) + 1
    return counts


def _print_json(
    report: _Report,
    ruleset: RuleSet,
    lines: int,
    seconds: float,
    out: TextIO,
    samples: int,
    kinds: Sequence[KindCount] = (),
) -> None:
    """Everything the text report says, as one object a script can read."""
    by_rule: dict[str, list[Match]] = defaultdict(list)
    for match in report.matches:
        by_rule[match.rule].append(match)
    document = {
        "lines": lines,
        "records": report.records,
        "annotations_skipped": report.annotations,
        "seconds": round(seconds, 6),
        "counts": _counts(report, ruleset),
        "matches": [{"line": m.record.line_no, "rule": m.rule} for m in report.matches],
        "samples": {
            name: [_json_sample(ruleset, match) for match in found[:samples]]
            for name, found in by_rule.items()
        },
        "unmatched_errors": len(report.unmatched),
        "unmatched_samples": [
            {"line": record.line_no, "text": record.text}
            for record in report.unmatched[: max(samples, 10)]
        ],
        "kinds": [
            {"template": k.template, "count": k.count, "first_line": k.first_line} for k in kinds
        ],
    }
    out.write(json.dumps(document, ensure_ascii=False) + "\n")


def _json_sample(ruleset: RuleSet, match: Match) -> dict[str, object]:
    keyed = ruleset.classify(match.record)
    return {
        "line": match.record.line_no,
        "text": match.record.text,
        "key": keyed.key if keyed is not None else "",
    }


def _print_text(
    path: Path,
    report: _Report,
    ruleset: RuleSet,
    lines: int,
    seconds: float,
    out: TextIO,
    samples: int,
) -> None:
    speed = lines / seconds if seconds > 0 else float("inf")
    write = out.write
    write(f"{path}: {lines:,} lines, {report.records:,} records in {seconds:.3f} s ")
    write(f"({speed:,.0f} lines/s)\n")
    if report.annotations:
        write(f"{report.annotations:,} annotation lines ({ANNOTATION}) skipped\n")
    write("\nMatches per rule:\n")
    by_rule: dict[str, list[Match]] = defaultdict(list)
    for match in report.matches:
        by_rule[match.rule].append(match)
    for name, count in _counts(report, ruleset).items():
        rule = ruleset.get(name)
        kind = f"{rule.severity.value}, {rule.policy.value}" if rule else ""
        write(f"  {name:<18} {count:>8,}  ({kind})\n")
    for name, found in by_rule.items():
        write(f"\n[{name}] first {min(samples, len(found))} of {len(found):,}:\n")
        for match in found[:samples]:
            write(_sample(match.record.line_no, match.record.text))
            keyed = ruleset.classify(match.record)
            key = keyed.key if keyed is not None else ""
            key = key if len(key) <= 80 else key[:77] + "..."
            write(f"      key: {key}\n")
    write(f"\nErrors no rule matched: {len(report.unmatched):,}\n")
    for record in report.unmatched[: max(samples, 10)]:
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
    """`python -m adminbot.rules.offline FILE [--json]` with the built-in rules only."""
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
