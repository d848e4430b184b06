"""check-rules: the offline tester reads a whole file like the tailer and reports."""

from __future__ import annotations

import io
import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from unittest.mock import ANY

import pytest

from adminbot.checkrules.report import check_file, main
from adminbot.models import Line
from adminbot.rules import reading
from adminbot.rules.classifier import Classifier
from adminbot.rules.headers import is_header
from adminbot.rules.reading import MAX_LINE_BYTES, read_blocks, read_line_batches
from adminbot.rules.reference import corpus
from adminbot.rules.ruleset import build_ruleset
from tests.tailing import ODD_PIECES, tailer_lines

SAMPLES = Path(__file__).parent / "samples"

LOG = "\n".join(
    [
        "2026-11-29 10:00:00,000 INFO descargas.bot: Bot de descargas iniciado",
        "2026-11-29 10:00:01,000 ERROR descargas.guardar: No se pudo guardar el vídeo",
        "Traceback (most recent call last):",
        '  File "/opt/bot/guardar.py", line 57, in guardar',
        "    shutil.move(temporal, destino)",
        "PermissionError: [Errno 13] Permission denied: '/srv/descargas/1/v.mp4'",
        "2026-11-29 10:00:02,000 INFO descargas.verificar: 0 archivos corruptos",
        "2026-11-29 10:00:03,000 ERROR descargas.carpetas: la carpeta no existe: /srv/descargas/2",
        "2026-11-29 10:00:04,000 ERROR db: duplicate key value violates unique constraint",
        "/srv/descargas/1/v.mp4: Invalid data found when processing input",
    ]
)


def _stripped_samples(tmp_path: Path) -> Path:
    """All sample logs without their `# ` annotation lines, as one file."""
    text = "".join(
        "".join(
            line + "\n"
            for line in path.read_text(encoding="utf-8").splitlines()
            if not line.startswith("# ")
        )
        for path in sorted(SAMPLES.glob("*.log"))
    )
    target = tmp_path / "samples.log"
    target.write_text(text, encoding="utf-8")
    return target


def _check_json(path: Path) -> dict:
    out = io.StringIO()
    assert check_file(path, build_ruleset(), as_json=True, out=out) == 0
    return json.loads(out.getvalue())


def test_json_output_is_one_object_of_the_documented_shape(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(LOG + "\n", encoding="utf-8")
    document = _check_json(log)
    assert set(document) == {
        "lines",
        "records",
        "annotations_skipped",
        "seconds",
        "counts",
        "matches",
        "samples",
        "unmatched_errors",
        "unmatched_samples",
        "kinds",
    }
    assert document["lines"] == 10
    assert isinstance(document["seconds"], float) and document["seconds"] >= 0
    assert document["counts"] == {
        "disco_lleno": 0,
        "servidor_caido": 0,
        "permisos": 1,
        "ruta_inexistente": 1,
        "corrupto": 1,
        "timeout": 0,
    }
    assert document["matches"] == [
        {"line": 2, "rule": "permisos"},  # the traceback's first line
        {"line": 8, "rule": "ruta_inexistente"},
        {"line": 10, "rule": "corrupto"},
    ]


def test_json_counts_agree_with_the_production_classifier(tmp_path: Path) -> None:
    log = _stripped_samples(tmp_path)
    document = _check_json(log)
    lines = [
        Line(str(log), i + 1, text, 0, 0)
        for i, text in enumerate(log.read_text(encoding="utf-8").splitlines())
    ]
    classifier = Classifier(build_ruleset())
    matches = classifier.feed(str(log), lines).matches + classifier.flush().matches
    assert document["lines"] == len(lines)
    assert sum(document["counts"].values()) == len(matches)
    assert [m["line"] for m in document["matches"]] == sorted(m.record.line_no for m in matches)
    assert all(isinstance(m["line"], int) and m["line"] >= 1 for m in document["matches"])
    assert all(count > 0 for count in document["counts"].values())


def test_every_match_and_unmatched_error_is_the_production_classifiers(tmp_path: Path) -> None:
    """check-rules classifies records itself (no Match, no times): on the randomized
    corpus every (line, rule), every unmatched error and the record count are what the
    production classifier gives."""
    log = tmp_path / "corpus.log"
    log.write_text("\n".join(corpus(20_000, seed=21)) + "\n", encoding="utf-8")
    document = _check_json(log)
    texts = log.read_text(encoding="utf-8").splitlines()
    classifier = Classifier(build_ruleset())
    found = [classifier.feed_texts(str(log), texts, 1), classifier.flush()]
    matches = sorted((m.record.line_no, m.rule) for f in found for m in f.matches)
    assert [(m["line"], m["rule"]) for m in document["matches"]] == matches
    assert document["unmatched_errors"] == sum(len(f.unmatched_errors) for f in found)
    assert document["records"] == sum(f.records for f in found)
    assert len(matches) > 1000


def test_a_disabled_rule_is_absent_from_the_counts(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(LOG, encoding="utf-8")
    out = io.StringIO()
    check_file(log, build_ruleset(disabled={"timeout"}), as_json=True, out=out)
    assert "timeout" not in json.loads(out.getvalue())["counts"]


def test_text_output_shows_counts_samples_unmatched_errors_and_speed(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(LOG, encoding="utf-8")
    out = io.StringIO()
    assert check_file(log, build_ruleset(), as_json=False, out=out, samples=1) == 0
    text = out.getvalue()
    assert "lines/s" in text
    assert "permisos" in text and "(error, ask)" in text
    assert re.search(r"^  disco_lleno +0  \(critical, alert\)$", text, re.M)
    assert "[permisos] first 1 of 1" in text
    assert "PermissionError: [Errno 13]" in text
    assert "key: path=/srv/descargas/1/v.mp4" in text
    assert "Errors no rule matched: 1" in text
    assert "duplicate key value" in text


@pytest.mark.parametrize("make", [lambda p: p / "missing.log", lambda p: p])
def test_an_unreadable_file_exits_2_with_a_clear_message(tmp_path: Path, make) -> None:
    target = make(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    assert check_file(target, build_ruleset(), as_json=True, out=out, err=err) == 2
    assert out.getvalue() == ""
    assert f"cannot read {target}" in err.getvalue()


def test_the_file_is_read_like_the_tailer_reads_it(tmp_path: Path) -> None:
    log = tmp_path / "odd.log"
    long_line = b"x" * (MAX_LINE_BYTES + 100)
    nuls = b"\x00\x002026-11-29 10:00:00,000 ERROR x: \x00disk full\r\r\n"
    log.write_bytes(
        b"caf\xc3\xa9 ok\r\n" + b"bad \xff byte\n" + long_line + b"\n" + nuls + b"no newline"
    )
    lines = [line for batch in read_line_batches(log) for line in batch]
    texts = [line.text for line in lines]
    assert texts == [
        "café ok",
        "bad \ufffd byte",
        "x" * MAX_LINE_BYTES + " …[cut 100 bytes]",
        "2026-11-29 10:00:00,000 ERROR x: disk full\r",
        "no newline",
    ]
    assert [line.line_no for line in lines] == [1, 2, 3, 4, 5]
    assert lines[1].offset == lines[0].end_offset == 10
    assert lines[4].end_offset == log.stat().st_size
    assert lines[:4] == tailer_lines(log, MAX_LINE_BYTES)


@pytest.mark.parametrize("seed", range(8))
def test_check_rules_reads_any_bytes_as_the_tailer_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """NULs, CRs, bad UTF-8 and lines over the cap, read in chunks of any size: every
    line's number, offsets and text are the tailer's (it waits for the last newline)."""
    rng = random.Random(seed)
    monkeypatch.setattr(reading, "MAX_LINE_BYTES", 64)
    lines = [b"".join(rng.choices(ODD_PIECES, k=rng.randrange(6))) for _ in range(300)]
    log = tmp_path / "f.log"
    log.write_bytes(b"\n".join(lines) + b"\n" + b"last \x00line\r")
    chunk = rng.choice([7, 48, 97, 256, 4096])
    read = [line for batch in read_line_batches(log, chunk_bytes=chunk) for line in batch]
    assert read[:-1] == tailer_lines(log, 64)
    assert read[-1].text == "last line"
    assert read[-1].end_offset == log.stat().st_size


def test_small_chunks_give_the_same_lines_as_one_big_read(tmp_path: Path) -> None:
    log = _stripped_samples(tmp_path)
    whole = [line for batch in read_line_batches(log) for line in batch]
    chunked = [line for batch in read_line_batches(log, chunk_bytes=7) for line in batch]
    assert chunked == whole
    data = log.read_bytes()
    assert all(
        data[line.offset : line.end_offset].rstrip(b"\n").decode() == line.text for line in whole
    )


@pytest.mark.parametrize("chunk_bytes", [64, 4096])
def test_a_block_decoded_whole_keeps_its_text_joined_as_its_lines(
    tmp_path: Path, chunk_bytes: int
) -> None:
    log = _stripped_samples(tmp_path)
    with log.open("ab") as handle:
        handle.write("línea con acentos, ſ y \u212a\n".encode() + b"bad \xff byte\n")
    blocks = list(read_blocks(log, chunk_bytes=chunk_bytes))
    assert any(block.joined is not None for block in blocks)
    for block in blocks:
        assert block.joined is None or block.joined == "\n".join(block.texts)


def test_the_module_runs_as_a_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "app.log"
    log.write_text(LOG, encoding="utf-8")
    assert main([str(log), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lines"] == 10


def test_the_console_command_writes_its_whole_report_before_its_quick_exit(
    tmp_path: Path,
) -> None:
    """`adminbot check-rules` leaves without the interpreter's teardown: a report far
    bigger than a pipe's buffer still arrives whole, with the right exit status."""
    log = tmp_path / "corpus.log"
    log.write_text("\n".join(corpus(20_000, seed=2)) + "\n", encoding="utf-8")
    command = [sys.executable, "-m", "adminbot", "check-rules"]
    # Buffered as a user's shell pipe is (not as this machine's environment may say).
    env = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    result = subprocess.run(
        [*command, "--json", str(log)], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout) > 100_000  # pipes hold 64 KiB
    assert json.loads(result.stdout) == _check_json(log) | {"seconds": ANY}
    text = subprocess.run(
        [*command, str(log)], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    out = io.StringIO()
    assert check_file(log, build_ruleset(), as_json=False, out=out) == 0
    assert text.stdout.splitlines()[1:] == out.getvalue().splitlines()[1:]  # but the speed
    missing = subprocess.run(
        [*command, str(tmp_path / "nothing.log")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr


def test_a_reader_that_goes_away_ends_check_rules_quietly(tmp_path: Path) -> None:
    """`adminbot check-rules --json big.log | head -c 100`: no traceback, the status a
    shell gives a command its pipe ended (141)."""
    log = tmp_path / "corpus.log"
    log.write_text("\n".join(corpus(20_000, seed=2)) + "\n", encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    command = [sys.executable, "-m", "adminbot", "check-rules", "--json", str(log)]
    reader = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=env
    )
    assert reader.stdout is not None and reader.stderr is not None
    assert reader.stdout.read(100).startswith(b'{"lines": 20000')
    reader.stdout.close()  # the report is far bigger than the pipe holds
    assert reader.wait(timeout=60) == 141
    assert reader.stderr.read() == b""


def test_a_scan_collects_no_garbage_and_leaves_the_collector_as_it_found_it(
    tmp_path: Path,
) -> None:
    import gc

    from adminbot.checkrules.report import scan

    log = tmp_path / "app.log"
    log.write_text(LOG, encoding="utf-8")
    collections: list[str] = []
    gc.callbacks.append(lambda phase, info: collections.append(phase))
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            collections.clear()
            found = scan(log, build_ruleset(), listing=True)
            assert gc.isenabled() is enabled
            assert found.lines == 10 and not collections
    finally:
        gc.callbacks.pop()
        gc.enable()


def test_check_rules_command_does_not_import_the_runtime(tmp_path: Path) -> None:
    """check-rules only reads a file: the service's heavy imports would only slow it down."""
    log = tmp_path / "empty.log"
    log.touch()
    script = (
        "import sys, io, contextlib\n"
        "from adminbot.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main(['check-rules', {str(log)!r}, '--json'])\n"
        "heavy = ('asyncio', 'httpx', 'watchdog', 'psutil', 'sqlite3', 'prometheus_client')\n"
        "print(code, sorted(name for name in heavy if name in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert result.stdout.split("\n")[0] == "0 []"


@pytest.mark.parametrize(
    "sample", sorted((Path(__file__).parent / "samples").glob("*.log")), ids=lambda p: p.name
)
def test_check_rules_on_an_annotated_sample_counts_what_the_annotations_expect(
    sample: Path,
) -> None:
    """The `# expect:` lines describe the log; they are skipped, not counted as matches."""
    annotations = [
        line.removeprefix("# expect:").split()[0]
        for line in sample.read_text(encoding="utf-8").splitlines()
        if line.startswith("# expect:")
    ]
    expected = Counter(rule for rule in annotations if rule not in ("none", "unmatched"))
    out = io.StringIO()
    assert check_file(sample, build_ruleset(), as_json=True, out=out) == 0
    document = json.loads(out.getvalue())
    assert {rule: n for rule, n in document["counts"].items() if n} == dict(expected)
    assert document["annotations_skipped"] == len(annotations)


def test_check_rules_json_says_what_the_text_report_says(tmp_path: Path) -> None:
    log = tmp_path / "bot.log"
    log.write_text(
        "2026-11-29 10:00:00,000 ERROR main: OSError: [Errno 28] No space left on device\n"
        "2026-11-29 10:00:01,000 ERROR main: the moon is made of cheese\n",
        encoding="utf-8",
    )
    out = io.StringIO()
    check_file(log, build_ruleset(), as_json=True, out=out)
    document = json.loads(out.getvalue())
    assert document["unmatched_errors"] == 1
    assert document["unmatched_samples"][0]["line"] == 2
    assert "cheese" in document["unmatched_samples"][0]["text"]
    [sample] = document["samples"]["disco_lleno"]
    assert sample["line"] == 1 and "No space left" in sample["text"]


def test_json_lists_the_kinds_of_unmatched_errors_with_counts(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    extra = [
        f"2026-11-29 10:00:0{n},000 ERROR descargas.bot: Forbidden: bot was blocked by the user {n}"
        for n in range(3)
    ]
    log.write_text("\n".join([LOG, *extra]) + "\n", encoding="utf-8")
    assert _check_json(log)["kinds"] == [
        {"template": "Forbidden: bot was blocked by the user <NUM>", "count": 3, "first_line": 11},
        {"template": "duplicate key value violates unique constraint", "count": 1, "first_line": 9},
    ]


def test_text_report_ends_with_the_top_kinds_of_unmatched_errors(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(LOG + "\n", encoding="utf-8")
    out = io.StringIO()
    assert check_file(log, build_ruleset(), as_json=False, out=out) == 0
    report = out.getvalue()
    assert "Top kinds of unmatched errors (1):" in report
    assert "1  duplicate key value violates unique constraint  (first at line 9)" in report


def test_the_miner_is_imported_only_when_there_are_unmatched_errors(tmp_path: Path) -> None:
    quiet, noisy = tmp_path / "quiet.log", tmp_path / "noisy.log"
    quiet.write_text("2026-11-29 10:00:00,000 INFO x: ok\n", encoding="utf-8")
    noisy.write_text(LOG + "\n", encoding="utf-8")
    script = (
        "import sys, io, contextlib\n"
        "from adminbot.checkrules.report import check_file\n"
        "from adminbot.rules.ruleset import build_ruleset\n"
        "from pathlib import Path\n"
        "for name in sys.argv[1:]:\n"
        "    check_file(Path(name), build_ruleset(), as_json=True, out=io.StringIO())\n"
        "    print('adminbot.kinds.tally' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(quiet), str(noisy)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.stdout.split() == ["False", "True"]


def _report(path: Path, jobs: int) -> dict:
    out = io.StringIO()
    assert check_file(path, build_ruleset(), as_json=True, out=out, jobs=jobs) == 0
    document = json.loads(out.getvalue())
    document.pop("seconds")
    return document


@pytest.mark.parametrize("jobs", [2, 3, 4])
def test_a_file_cut_into_spans_reports_what_one_pass_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """Spans start at header lines, so a record is never cut in two: the matches, the
    samples, the unmatched errors and their kinds are those of one pass."""
    from adminbot.rules import spans
    from adminbot.simulate import generate_log

    log = tmp_path / "storm.log"
    generate_log(log, 6_000, error_ratio=0.9, seed=3)
    with log.open("a", encoding="utf-8") as handle:  # and every sample log after it
        handle.write("\n" + _stripped_samples(tmp_path).read_text(encoding="utf-8"))
    one = _report(log, jobs=1)
    monkeypatch.setattr(spans, "PARALLEL_MIN_BYTES", 0)
    parts = spans.split(log, jobs)
    assert len(parts) == jobs
    lines = log.read_text(encoding="utf-8").split("\n")
    for part in parts[1:]:
        assert is_header(lines[part.line_no]), lines[part.line_no]
        assert log.read_bytes()[: part.start].count(b"\n") == part.line_no
    assert _report(log, jobs=jobs) == one
    assert one["unmatched_errors"] > 100 and len(one["matches"]) > 2_000


def test_a_span_hands_back_only_the_unmatched_errors_a_report_shows_whole(
    tmp_path: Path,
) -> None:
    """A worker's result is pickled to the parent: of the errors no rule matched it
    keeps the first few whole, and of every one only its line and masked words."""
    from adminbot.checkrules.report import scan
    from adminbot.simulate import generate_log

    log = tmp_path / "storm.log"
    generate_log(log, 3_000, error_ratio=0.9, seed=5)
    found = scan(log, build_ruleset(), samples=12)
    assert found.shown == 12 == len(found.unmatched)
    assert found.unmatched_count == len(found.unmatched_lines) == len(found.words) > 100
    assert [r.line_no for r in found.unmatched] == found.unmatched_lines[:12]


def test_a_small_file_is_read_in_one_pass(tmp_path: Path) -> None:
    from adminbot.rules import spans

    log = tmp_path / "small.log"
    log.write_text(LOG, encoding="utf-8")
    assert spans.split(log, 4) == [spans.Span(0, None, 0)]


def test_a_span_whose_worker_dies_is_read_in_this_process_instead(tmp_path: Path) -> None:
    """A worker killed (the OOM killer) must not hang check-rules: its pipe ends with no
    result, and its span is worked in the parent; the results stay in order."""
    import os

    from adminbot.rules import spans

    parent = os.getpid()
    parts = [spans.Span(n * 10, n * 10 + 10, n) for n in range(3)]

    def work(span: spans.Span) -> int:
        if os.getpid() != parent and span.start == 10:
            os._exit(9)  # as a kill would end it
        return span.start

    assert spans.run(parts, work) == [0, 10, 20]
