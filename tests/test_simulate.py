"""Simulated pipeline traffic: parseable, realistic, and every error kind shows up."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adminbot.models import Line
from adminbot.rules.classifier import Classifier
from adminbot.rules.headers import parse_header
from adminbot.rules.records import assemble
from adminbot.rules.ruleset import build_ruleset
from adminbot.simulate import ERROR_KINDS, error_record, generate_log, sample_line, simulate

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def _classify_file(path: Path) -> tuple[Counter[str], int, int]:
    texts = path.read_text(encoding="utf-8").splitlines()
    lines = [Line(str(path), i + 1, t, 0, 0) for i, t in enumerate(texts)]
    classifier = Classifier(build_ruleset())
    result = classifier.feed(str(path), lines)
    rest = classifier.flush()
    rules = Counter(m.rule for m in result.matches + rest.matches)
    return rules, len(result.unmatched_errors) + len(rest.unmatched_errors), result.records


def test_each_sample_line_is_exactly_one_parseable_record() -> None:
    rng = random.Random(3)
    headerless = 0
    for _ in range(3000):
        text = sample_line(rng, NOW, error_ratio=0.2)
        records = assemble([Line("s", i + 1, t, 0, 0) for i, t in enumerate(text.split("\n"))])
        assert len(records) == 1, text
        if parse_header(text.split("\n", 1)[0]) is None:
            headerless += 1
            assert text.startswith(("/srv/descargas/", "[mp4 @ 0x")), text
    assert 0 < headerless < 100


def test_error_records_of_each_kind_are_classified_as_that_kind() -> None:
    ruleset = build_ruleset()
    rng = random.Random(5)
    for kind in ERROR_KINDS:
        for _ in range(30):
            text = error_record(rng, NOW, kind)
            (record,) = assemble(
                [Line("s", i + 1, t, 0, 0) for i, t in enumerate(text.split("\n"))]
            )
            match = ruleset.classify(record)
            assert match is not None and match.rule == kind, text


def test_unrelated_errors_match_no_rule_but_count_as_errors() -> None:
    ruleset = build_ruleset()
    rng = random.Random(6)
    for _ in range(40):
        text = error_record(rng, NOW, None)
        (record,) = assemble([Line("s", i + 1, t, 0, 0) for i, t in enumerate(text.split("\n"))])
        assert ruleset.classify(record) is None, text
        assert ruleset.is_error(record)


def test_generate_log_writes_exact_lines_with_every_kind_over_a_seeded_run(tmp_path: Path) -> None:
    log = tmp_path / "deep" / "gen.log"
    generate_log(log, 20_000, error_ratio=0.02, seed=42)
    assert len(log.read_text(encoding="utf-8").splitlines()) == 20_000
    rules, unmatched, _ = _classify_file(log)
    assert set(rules) == set(ERROR_KINDS)
    assert unmatched > 0
    again = tmp_path / "again.log"
    generate_log(again, 20_000, error_ratio=0.02, seed=42)
    assert again.read_bytes() == log.read_bytes()


def test_generate_log_keeps_error_lines_near_the_ratio(tmp_path: Path) -> None:
    log = tmp_path / "gen.log"
    generate_log(log, 50_000, error_ratio=0.02, seed=1)
    texts = log.read_text(encoding="utf-8").splitlines()
    lines = [Line("g", i + 1, t, 0, 0) for i, t in enumerate(texts)]
    ruleset = build_ruleset()
    error_lines = sum(
        record.text.count("\n") + 1 for record in assemble(lines) if ruleset.is_error(record)
    )
    assert 0.015 < error_lines / len(texts) < 0.025
    benign = sum(
        1 for t in texts if " INFO " in t or " DEBUG " in t or "[INFO]" in t or "[DEBUG]" in t
    )
    assert benign / len(texts) > 0.9


def test_simulate_appends_records_cycling_through_every_kind(tmp_path: Path) -> None:
    log = tmp_path / "new" / "dir" / "pipeline.log"
    log.parent.mkdir(parents=True)
    log.write_text("2026-11-29 09:00:00,000 INFO x: línea previa\n", encoding="utf-8")
    written = simulate(log, rate=400.0, duration=0.6, seed=9, error_every=0.02)
    texts = log.read_text(encoding="utf-8").splitlines()
    assert texts[0].endswith("línea previa")
    assert written > 50
    rules, _, records = _classify_file(log)
    assert records == written + 1
    assert set(rules) == set(ERROR_KINDS)


def test_simulate_shows_the_first_error_within_a_couple_of_seconds(tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    written = simulate(log, rate=5.0, duration=1.6, seed=1)
    assert written >= 6
    rules, _, _ = _classify_file(log)
    assert sum(rules.values()) == 1


def test_simulate_stops_when_the_event_is_set(tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(simulate(log, rate=50.0, stop=stop)))
    thread.start()
    time.sleep(0.3)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert 5 <= result[0] <= 40
    assert _classify_file(log)[2] == result[0]


def test_simulate_rejects_a_rate_that_is_not_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        simulate(tmp_path / "x.log", rate=0)
