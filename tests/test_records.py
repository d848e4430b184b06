"""Records: lines grouped into records (a header and its traceback), their parts."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adminbot.models import Line, Record
from adminbot.rules.headers import (
    HeaderFilter,
    header_level_and_message,
    normalise_level,
    parse_header,
)
from adminbot.rules.records import MAX_RECORD_LINES, RecordAssembler, assemble, split_record
from tests.clocks import FakeMonotonic

SAMPLES = Path(__file__).parent / "samples"


def _lines(*texts: str, source: str = "app.log", first: int = 1) -> list[Line]:
    return [Line(source, first + i, text, 0, 0) for i, text in enumerate(texts)]


TRACEBACK = (
    "2026-11-29 10:00:00,000 ERROR x: fallo al guardar",
    "Traceback (most recent call last):",
    '  File "/opt/x.py", line 3, in guardar',
    "    os.chown(ruta, 1000, 1000)",
    "    ^^^^^^^^^^^^^^^^^^^^^^^^^^",
    "PermissionError: [Errno 13] Permission denied: '/srv/a'",
)


def test_a_traceback_belongs_to_the_header_line_before_it() -> None:
    records = assemble(_lines(*TRACEBACK, "2026-11-29 10:00:01,000 INFO x: siguiente"))
    assert [r.line_no for r in records] == [1, 7]
    assert records[0].text == "\n".join(TRACEBACK)
    assert records[0].level == "ERROR"
    assert records[0].logged_at == datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    assert records[0].last_line.startswith("PermissionError")


def test_chained_exceptions_stay_in_one_record() -> None:
    texts = (
        "2026-11-29 10:00:00,000 ERROR x: fallo",
        "Traceback (most recent call last):",
        '  File "/opt/x.py", line 3, in f',
        "    open(p)",
        "FileNotFoundError: [Errno 2] No such file or directory: '/a'",
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        "Traceback (most recent call last):",
        '  File "/opt/x.py", line 5, in f',
        "    raise RuntimeError('x') from None",
        "RuntimeError: x",
        "",
        "The above exception was the direct cause of the following exception:",
        "",
        "Traceback (most recent call last):",
        '  File "/opt/x.py", line 9, in g',
        "    f()",
        "ValueError: y",
        "",
    )
    records = assemble(_lines(*texts))
    assert len(records) == 1
    assert records[0].text == "\n".join(texts[:-1])  # trailing blank line dropped


def test_a_headerless_traceback_is_a_record_without_level() -> None:
    records = assemble(
        _lines(
            "2026-11-29 10:00:00,000 INFO x: antes",
            "/srv/a.mp4: Invalid data found when processing input",
            "Traceback (most recent call last):",
            '  File "/opt/x.py", line 1, in <module>',
            "KeyError: 'video'",
            "Traceback (most recent call last):",
            '  File "/opt/y.py", line 1, in <module>',
            "ValueError: otro",
        )
    )
    assert [(r.line_no, r.level) for r in records] == [(1, "INFO"), (2, None), (3, None), (6, None)]
    assert records[2].last_line == "KeyError: 'video'"


def test_a_traceback_joins_a_stderr_line_that_announces_it() -> None:
    records = assemble(
        _lines(
            "Exception in thread Thread-3:",
            "Traceback (most recent call last):",
            '  File "/opt/x.py", line 1, in run',
            "OSError: [Errno 28] No space left on device",
        )
    )
    assert len(records) == 1


def test_indented_lines_and_postgres_details_continue_a_record() -> None:
    records = assemble(
        _lines(
            '2026-11-29 10:00:00,000 ERROR db: connection to server at "127.0.0.1" failed',
            "\tIs the server running on that host and accepting TCP/IP connections?",
            '2026-11-29 10:00:01,000 ERROR db: duplicate key value violates unique constraint "k"',
            "DETAIL:  Key (id)=(5) already exists.",
            "ffmpeg stderr line",
            "  indented under the stderr line",
        )
    )
    assert [r.line_no for r in records] == [1, 3, 5]
    assert records[2].level is None and records[2].text.count("\n") == 1


def test_blank_lines_alone_make_no_record() -> None:
    assert assemble(_lines("", "   ", "")) == []


def test_end_of_batch_keeps_a_visibly_unfinished_traceback() -> None:
    for cut in range(2, len(TRACEBACK)):  # after Traceback, a frame, a code line, the ^^^
        assembler = RecordAssembler("app.log")
        done = [r for line in _lines(*TRACEBACK[:cut]) for r in assembler.feed(line)]
        assert done == [] and assembler.end_of_batch() == [], f"cut after line {cut}"
        for line in _lines(*TRACEBACK[cut:], first=cut + 1):
            assembler.feed(line)
        (record,) = assembler.end_of_batch()
        assert record.text == "\n".join(TRACEBACK)


def test_end_of_batch_emits_a_complete_record() -> None:
    assembler = RecordAssembler("app.log")
    for line in _lines(*TRACEBACK):
        assembler.feed(line)
    assert len(assembler.end_of_batch()) == 1
    assert not assembler.has_pending


def test_a_held_record_goes_stale_after_the_given_time() -> None:
    assembler = RecordAssembler("app.log", monotonic=FakeMonotonic(10.0))
    for line in _lines(*TRACEBACK[:3]):
        assembler.feed(line)
    assert assembler.end_of_batch() == []
    assert assembler.flush_stale(1.0, now=10.5) == []
    (record,) = assembler.flush_stale(1.0, now=11.0)
    assert record.line_no == 1 and record.text.endswith("line 3, in guardar")


def test_a_huge_record_keeps_its_head_and_its_final_line() -> None:
    frames = [f'  File "/x.py", line {i}, in f' for i in range(MAX_RECORD_LINES * 2)]
    texts = [
        TRACEBACK[0],
        TRACEBACK[1],
        *frames,
        "RecursionError: maximum recursion depth exceeded",
    ]
    (record,) = assemble(_lines(*texts))
    lines = record.text.split("\n")
    assert len(lines) <= MAX_RECORD_LINES + 1
    assert lines[0] == TRACEBACK[0]
    assert lines[-1].startswith("RecursionError")
    assert any("lines omitted" in line for line in lines)


def test_split_record_finds_the_final_exception_and_skips_frames() -> None:
    text = "\n".join(
        [
            "2026-11-29 10:00:00,000 ERROR x: fallo",
            "Traceback (most recent call last):",
            '  File "/opt/x.py", line 3, in f',
            "    os.chown(p)",
            "FileNotFoundError: [Errno 2] No such file or directory: '/a'",
            "",
            "During handling of the above exception, another exception occurred:",
            "",
            "Traceback (most recent call last):",
            '  File "/opt/x.py", line 5, in f',
            "    raise X",
            "PermissionError: [Errno 13] Permission denied: '/b'",
        ]
    )
    parts = split_record(text)
    assert parts.exception == "PermissionError: [Errno 13] Permission denied: '/b'"
    assert parts.message == "fallo"
    assert parts.others == ("FileNotFoundError: [Errno 2] No such file or directory: '/a'",)
    assert parts.has_traceback


# --- the fast path's scan ----------------------------------------------------------------


def _sample_texts() -> list[str]:
    return [
        line
        for path in sorted(SAMPLES.glob("*.log"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if not line.startswith("# ")
    ]


def _mutations(text: str, rng: random.Random) -> list[str]:
    alphabet = "[] -:|,.0123456789TZ+\tINFODEBUGWARNERROR"
    out = [text]
    for _ in range(6):
        at = rng.randrange(len(text) + 1)
        out.append(text[:at] + rng.choice(alphabet) + text[at:])
        out.append(text[:at] + text[at + 1 :])
        out.append(text[:at])
    return out


def test_every_line_the_block_scan_skips_is_an_info_or_debug_header() -> None:
    """The fast path's safety: a skipped line must parse as a low-level header, a line
    found as a header must parse as the same header, any other as no header at all."""
    needs = HeaderFilter.of({"DEBUG", "INFO"}, (), lambda _: True)
    rng = random.Random(11)
    texts = [m for text in _sample_texts() for m in _mutations(text, rng) if "\n" not in m]
    block = "\n" + "\n".join(texts)
    starts = {position: n for n, position in enumerate(_newlines(block))}
    found = {starts[m.start()]: m for m in needs.scan.finditer(block)}
    skipped = [text for i, text in enumerate(texts) if i not in found]
    assert len(skipped) > 200
    for text in skipped:
        header = parse_header(text)
        assert header is not None and header.level in ("DEBUG", "INFO"), text
    for i, match in found.items():
        said = header_level_and_message(texts[i])
        if match.lastgroup == "other":
            assert said is None, texts[i]
        else:
            level_group, _ = needs.groups[match.lastgroup or ""]
            message = texts[i][match.end() - match.start() - 1 :].strip()
            assert said == (normalise_level(match[level_group]), message), texts[i]


def _fed_both_ways(
    texts: list[str], *, flush: bool
) -> tuple[list[Record], list[Record], int, list[Record]]:
    """`texts` fed line by line and as one block, each ended by `flush` or
    `end_of_batch`: every record, the block's records, how many headers the block
    skipped, and the one-line DEBUG/INFO records it may skip."""
    slow = RecordAssembler("app.log")
    every = [r for line in _lines(*texts) for r in slow.feed(line)]
    every += slow.flush() if flush else slow.end_of_batch()
    fast = RecordAssembler("app.log")
    needs = HeaderFilter.of({"DEBUG", "INFO"}, (), lambda _: True)
    sparse, skipped = fast.feed_block("\n" + "\n".join(texts), texts, 1, needs)
    sparse += fast.flush() if flush else fast.end_of_batch()
    low = [r for r in every if r.level in ("DEBUG", "INFO") and "\n" not in r.text]
    return every, sparse, skipped, low


def test_feed_block_equals_feeding_every_line() -> None:
    every, sparse, skipped, low = _fed_both_ways(_sample_texts(), flush=False)
    assert len(sparse) + skipped == len(every)
    assert [r for r in every if r not in low] == [r for r in sparse if r not in low]


def _traceback(*frames: str, exception: str = "OSError: [Errno 5] boom") -> list[str]:
    return ["Traceback (most recent call last):", *frames, exception]


_FRAME = ['  File "/opt/bot/x.py", line 3, in f', "    os.chown(path)"]
_HEADER = "2026-11-29 10:00:01,123 ERROR descargas.worker: fallo"
_TRACEBACK_EDGES = [
    [_HEADER, *_traceback(*_FRAME), _HEADER],
    [_HEADER, *_traceback(*_FRAME, "", *_FRAME), _HEADER],
    [_HEADER, *_traceback(*_FRAME, "   ", "\t", *_FRAME)],
    [_HEADER, *_traceback("    not a frame", *_FRAME), _HEADER],
    [_HEADER, *_traceback(*_FRAME, exception=_HEADER), "after"],
    [_HEADER, *_traceback(*_FRAME, exception="2026-11-29 10:00:01 DEBUG x: y"), "z"],
    [
        _HEADER,
        *_traceback(
            *_FRAME, exception="During handling of the above exception, another exception occurred:"
        ),
        *_traceback(*_FRAME),
    ],
    [
        _HEADER,
        *_traceback(*_FRAME),
        "",
        "The above exception was the direct cause of the following exception:",
        "",
        *_traceback(*_FRAME),
        "  extra",
        "DETAIL:  Key (id)=(1)",
    ],
    [_HEADER, *_traceback(*_FRAME), *_traceback(*_FRAME)],
    [_HEADER, *_traceback(*_FRAME, exception="Traceback (most recent call last):"), *_FRAME],
    [_HEADER, *_traceback(*_FRAME * 150), _HEADER],
    [_HEADER, *_FRAME, *_traceback(*_FRAME * 60)],
    [_HEADER, *_traceback(*[_FRAME[0]] * 197), _HEADER],
    [_HEADER, *_traceback(*[_FRAME[0]] * 198), _HEADER],
    [_HEADER, *_traceback(*_FRAME, exception="\x0cError: odd start")],
    [_HEADER, *_traceback(*_FRAME, exception="  IndentedError: no")],
    [_HEADER, *_traceback(*_FRAME, exception="OSError: trailing blanks \r"), _HEADER],
    [_HEADER, *_traceback('\tFile "/x.py", line 1, in <module>', "\tpass")],
    [_HEADER, *_traceback(*_FRAME)[:-1]],
    ["Exception in thread worker:", *_traceback(*_FRAME), _HEADER],
    ["a stderr line", *_traceback(*_FRAME), _HEADER],
    [*_traceback(*_FRAME), _HEADER],
    ["2026-11-29 10:00:01,123 INFO x: info", *_traceback(*_FRAME), _HEADER],
    ["2026-11-29 10:00:01,123 WARNING x: w", *_traceback(*_FRAME), "  tail"],
]


@pytest.mark.parametrize("texts", _TRACEBACK_EDGES)
def test_feed_block_takes_a_traceback_whole_as_feeding_every_line_would(texts: list[str]) -> None:
    every, sparse, _, low = _fed_both_ways(texts, flush=True)
    assert [(r, r.parts) for r in every if r not in low] == [
        (r, r.parts) for r in sparse if r not in low
    ]
    for record in sparse:
        assert record.parts is None or record.parts == split_record(record.text)


@pytest.mark.parametrize("batch_size", [1, 7, 5_000])
def test_the_parts_an_assembler_gathers_are_what_split_record_finds(batch_size: int) -> None:
    """The classifier uses the parts gathered while lines arrive instead of cutting the
    record again; on a randomized corpus and every sample log they must be the same."""
    from adminbot.rules.classifier import Classifier
    from adminbot.rules.reference import corpus
    from adminbot.rules.ruleset import build_ruleset

    logs = [corpus(12_000, seed=batch_size)]
    logs += [p.read_text(encoding="utf-8").split("\n") for p in sorted(SAMPLES.glob("*.log"))]
    compared = 0
    for texts in logs:
        lines = [Line("a.log", n, text, 0, 0) for n, text in enumerate(texts, start=1)]
        assembler = RecordAssembler("a.log")
        records = [r for line in lines for r in assembler.feed(line)] + assembler.flush()
        # the classifier's fast path makes one-line records itself
        classifier = Classifier(build_ruleset(), fast=True)
        for start in range(0, len(lines), batch_size):
            found = classifier.feed("a.log", lines[start : start + batch_size])
            records += [m.record for m in found.matches] + found.unmatched_errors
        flushed = classifier.flush()
        records += [m.record for m in flushed.matches] + flushed.unmatched_errors
        for record in records:
            if record.parts is not None:
                assert record.parts == split_record(record.text), record.text
                compared += 1
    assert compared > 10_000


def test_a_block_finds_the_headers_each_line_would_say_it_has() -> None:
    """BLOCK_HEADERS (one pass over a batch) and _header_match (one line) must agree on
    which lines are headers, their level and their message: the fast path trusts it."""
    from adminbot.rules.reference import corpus

    edge = [
        "2026-11-29 10:00:01,123 ERROR descargas:",
        "2026-11-29 10:00:01,123 ERROR descargas: ",
        "2026-11-29 10:00:01 ERROR",
        "[2026-11-29 10:00:01,123] [ERROR] [worker",
        "[2026-11-29 10:00:01,123] [ERROR]",
        "2026-11-29 10:00:01,123 | ERROR | x - msg",
        "2026-11-29 10:00:01,123 - telegram.ext - ERROR -",
        "ERROR:root:",
        "ERRORS:root:no",
        "2026-11-29 10:00:01,123\tWARN\tname:\tmsg",
        "  2026-11-29 10:00:01,123 ERROR indented",
    ]
    texts = edge + corpus(20_000, seed=11)
    for path in sorted(SAMPLES.glob("*.log")):
        texts += path.read_text(encoding="utf-8").split("\n")
    block = "\n" + "\n".join(texts)
    assert block.count("\n") == len(texts)
    needs = HeaderFilter.of((), (), lambda _: True)
    found = {}
    starts = {position: n for n, position in enumerate(_newlines(block))}
    for match in needs.scan.finditer(block):
        if match.lastgroup == "other":
            continue
        index = starts[match.start()]
        level_group, _ = needs.groups[match.lastgroup or ""]
        message = texts[index][match.end() - match.start() - 1 :].strip()
        found[index] = (normalise_level(match[level_group]), message)
    said = {i: header_level_and_message(text) for i, text in enumerate(texts)}
    assert found == {i: pair for i, pair in said.items() if pair is not None}
    assert len(found) > 5_000


def _newlines(block: str) -> list[int]:
    return [n for n, char in enumerate(block) if char == "\n"]
