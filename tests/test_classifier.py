"""The fast classifier gives what the straightforward one gives, record by record."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from adminbot.models import Line, Match, Record
from adminbot.rules.classifier import Classifier
from adminbot.rules.headers import header_level_and_message, header_tail
from adminbot.rules.literals import required_literals, required_sets
from adminbot.rules.matcher import lowered
from adminbot.rules.reading import read_line_batches
from adminbot.rules.records import RecordAssembler
from adminbot.rules.reference import ReferenceClassifier, corpus
from adminbot.rules.ruleset import Rule, RuleSet, build_ruleset

SAMPLES = Path(__file__).parent / "samples"


def _batches(texts: list[str], size: int, source: str = "app.log") -> list[list[Line]]:
    lines = [Line(source, n, text, 0, 0) for n, text in enumerate(texts, start=1)]
    return [lines[i : i + size] for i in range(0, len(lines), size)]


def _fast(
    ruleset: RuleSet, batches: Sequence[Sequence[Line]]
) -> tuple[list[Match], list[Record], int]:
    classifier = Classifier(ruleset)
    matches: list[Match] = []
    unmatched: list[Record] = []
    records = 0
    for batch in batches:
        found = classifier.feed(batch[0].source, batch)
        matches += found.matches
        unmatched += found.unmatched_errors
        records += found.records
    found = classifier.flush()
    return matches + found.matches, unmatched + found.unmatched_errors, records + found.records


def _facts(matches: list[Match]) -> list[tuple[int, str, str, dict[str, str], str]]:
    return [(m.record.line_no, m.rule, m.key, dict(m.fields), m.record.text) for m in matches]


def _assert_same(ruleset: RuleSet, batches: list[list[Line]]) -> int:
    fast = _fast(ruleset, batches)
    reference = ReferenceClassifier(ruleset).run(batches)
    assert _facts(fast[0]) == _facts(reference[0])
    assert [(r.line_no, r.text) for r in fast[1]] == [(r.line_no, r.text) for r in reference[1]]
    assert fast[2] == reference[2]
    return len(fast[0])


@pytest.mark.parametrize("batch_size", [1, 7, 500, 20_000])
def test_fast_path_equals_reference_on_a_randomized_corpus(batch_size: int) -> None:
    texts = corpus(20_000, seed=batch_size)
    matched = _assert_same(build_ruleset(), _batches(texts, batch_size))
    assert matched > 1000


def test_fast_path_equals_reference_on_every_sample_log() -> None:
    for path in sorted(SAMPLES.glob("*.log")):
        texts = path.read_text(encoding="utf-8").removesuffix("\n").split("\n")
        _assert_same(build_ruleset(), _batches(texts, 50, path.name))


def test_fast_path_equals_reference_with_custom_rules_of_every_kind() -> None:
    custom = [
        # upper-case letters, a flag and an escape make the lower-cased path unusable
        Rule("upper", r"Quota EXCEEDED", min_level="INFO"),
        Rule("flagged", r"(?-i:Disk) trouble"),
        Rule("escaped", r"\x41ccess denied"),
        Rule("grouped", r"user (?P<user_id>\d+) (?:blocked|banned)", key_fields=("user_id",)),
        Rule("backref", r"(\w+) again and \1", min_level="DEBUG"),
    ]
    ruleset = build_ruleset(custom)
    texts = corpus(5_000, seed=3)
    texts += [
        "2026-11-29 10:00:00,000 INFO x: quota exceeded on /srv",
        "2026-11-29 10:00:00,000 WARNING x: DISK trouble",
        "2026-11-29 10:00:00,000 ERROR x: Disk trouble",
        "2026-11-29 10:00:00,000 ERROR x: access denied",
        "2026-11-29 10:00:00,000 ERROR x: User 12345 BANNED",
        "2026-11-29 10:00:00,000 DEBUG x: retry again and RETRY",
    ]
    _assert_same(ruleset, _batches(texts, 64))


def test_reading_the_file_in_chunks_gives_the_reference_result(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("\n".join(corpus(20_000, seed=9)) + "\n", encoding="utf-8")
    batches = list(read_line_batches(log, chunk_bytes=4096))
    whole = [[line for batch in batches for line in batch]]
    fast = _fast(build_ruleset(), batches)
    reference = ReferenceClassifier(build_ruleset()).run(whole)
    assert _facts(fast[0]) == _facts(reference[0])


def test_lower_casing_is_used_only_where_it_folds_like_ignorecase() -> None:
    assert lowered("Permission DENIED") == "permission denied"
    assert lowered("vídeo DAÑADO") == "vídeo dañado"
    for odd in ("İstanbul", "ſpace", "\u212aelvin", "ΣΑΣ"):
        assert lowered(odd) is None, odd


@pytest.mark.parametrize(
    ("pattern", "literals"),
    [
        (r"no\s+space\s+left", ("space",)),
        (r"(?<![\w-])timed?[ -]?out\b", ("time",)),
        (r"\[errno (?:28|122)\]", ("[errno ",)),
        (r"(?:a|b)[^\n]{0,160}?xyz", ("xyz",)),
        (r"[]abc]+def", ("def",)),
        (r"colou?r", ("colo",)),
        (r"ab+c", ("ab",)),
        (r"x{2}yz", ("yz",)),
        (r"(?:disk|disco)\s+full|no space", ("full", "no space")),
        (r"(?:disk|di)?full", ("full",)),
        (r"a|\w+", ()),
    ],
)
def test_required_literals_one_of_which_every_match_holds(
    pattern: str, literals: tuple[str, ...]
) -> None:
    assert required_literals(pattern) == literals


def test_keyless_matches_carry_rule_and_record_only() -> None:
    texts = ["2026-11-29 10:00:00,000 ERROR x: [Errno 13] Permission denied: '/srv/a.mp4'"]
    found = Classifier(build_ruleset(), keys=False).feed("app.log", _batches(texts, 1)[0])
    assert [(m.rule, m.record.line_no, m.key, dict(m.fields)) for m in found.matches] == [
        ("permisos", 1, "", {})
    ]


def _fed(texts: list[str]) -> tuple[list[int], int]:
    """Line numbers of the records a block makes, and how many lines it skipped."""
    assembler = RecordAssembler("app.log")
    needs = build_ruleset().header_filter
    records, skipped = assembler.feed_block("\n" + "\n".join(texts), texts, 1, needs)
    records += assembler.flush()
    return [r.line_no for r in records], skipped


def test_warning_lines_without_any_keyword_are_never_assembled() -> None:
    texts = [f"2026-11-29 10:00:0{n},000 WARNING x: flood control, waiting" for n in range(5)]
    texts.append("2026-11-29 10:00:06,000 WARNING x: disk full")
    assert _fed(texts) == ([6], 5)


def test_warning_lines_holding_keywords_but_matching_no_rule_are_never_assembled() -> None:
    request = 'x: HTTP Request: POST http://127.0.0.1:8081/bot<token>/getFile "HTTP/1.1 200 OK"'
    texts = [f"2026-11-29 10:00:0{n},000 WARNING {request}" for n in range(5)]
    texts.append("2026-11-29 10:00:06,000 WARNING x: Bot API at :8081 is down")
    texts.append("[2026-11-29 10:00:07,000] [WARNING] x: video_id=4 saved")
    assert _fed(texts) == ([6], 6)


def test_a_gated_header_with_a_traceback_is_assembled_with_it() -> None:
    texts = [
        "2026-11-29 10:00:00,000 WARNING x: retrying the upload",
        "Traceback (most recent call last):",
        '  File "/opt/bot/up.py", line 3, in up',
        "PermissionError: [Errno 13] Permission denied: '/srv/a.mp4'",
    ]
    found = Classifier(build_ruleset()).feed("app.log", _batches(texts, 10)[0])
    assert [(m.rule, m.record.line_no) for m in found.matches] == [("permisos", 1)]


def test_header_lines_differing_only_in_their_time_say_the_same() -> None:
    seen: dict[tuple[int, str], tuple[str, str] | None] = {}
    for text in corpus(20_000, seed=5):
        said = header_level_and_message(text)
        assert seen.setdefault(header_tail(text), said) == said, text


@pytest.mark.parametrize(
    ("pattern", "sets"),
    [
        (r"disk\s+(?:is\s+)?full", (("disk",), ("full",))),
        (r"(?:bot|:8081)[^\n]{0,160}?(?:refused|down)", (("down", "refused"), (":8081", "bot"))),
        (r"timed?[ -]?out\b", (("time",), ("out",))),
        (r"a|b", (("a", "b"),)),
        (r"\w+", ()),
    ],
)
def test_required_sets_each_hold_one_string_of_every_match(
    pattern: str, sets: tuple[tuple[str, ...], ...]
) -> None:
    assert required_sets(pattern) == sets


def test_without_times_records_carry_none_and_decide_alike() -> None:
    """check-rules shows no times, so its classifier parses none; nothing else changes."""
    texts = corpus(2_000, seed=8)
    timed, untimed = Classifier(build_ruleset()), Classifier(build_ruleset(), times=False)
    with_times = timed.feed_texts("a.log", texts, 1).matches
    without = untimed.feed_texts("a.log", texts, 1).matches
    assert [(m.record.line_no, m.rule, m.key) for m in with_times] == [
        (m.record.line_no, m.rule, m.key) for m in without
    ]
    assert all(m.record.logged_at is None for m in without)
    assert sum(m.record.logged_at is not None for m in with_times) > 100
