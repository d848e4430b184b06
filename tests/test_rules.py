"""Rules: generated tests from the annotated sample logs, fields, keys, config, fast path."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from adminbot.errors import ConfigError
from adminbot.models import Line, Match, Policy, Record, Severity
from adminbot.rules.classifier import Classifier
from adminbot.rules.fields import derive_keywords, incident_key, normalise_message
from adminbot.rules.records import assemble
from adminbot.rules.ruleset import (
    Rule,
    RuleSet,
    build_ruleset,
    builtin_rules,
    rule_from_table,
)
from adminbot.simulate import generate_log
from tests.clocks import FakeMonotonic

SAMPLES = Path(__file__).parent / "samples"
BUILTIN_NAMES = [
    "disco_lleno",
    "servidor_caido",
    "permisos",
    "ruta_inexistente",
    "corrupto",
    "timeout",
]


# --- the sample loader (format: tests/samples/README.md) ----------------------------


@dataclass(frozen=True)
class Expect:
    rule: str  # a rule name, "none" or "unmatched"
    fields: dict[str, str]
    annotation_line: int  # in the annotated file, for messages


@dataclass(frozen=True)
class Sample:
    name: str
    lines: list[Line]
    expectations: dict[int, Expect]  # by line number in the stripped file


def load_sample(path: Path) -> Sample:
    lines: list[Line] = []
    expectations: dict[int, Expect] = {}
    pending: Expect | None = None
    content = path.read_text(encoding="utf-8").removesuffix("\n")
    for number, text in enumerate(content.split("\n"), start=1):
        if text.startswith("# expect:"):
            rule, *pairs = text.removeprefix("# expect:").split()
            fields = dict(pair.split("=", 1) for pair in pairs)
            pending = Expect(rule, fields, number)
            continue
        if text.startswith("# "):
            continue
        line_no = len(lines) + 1
        lines.append(Line(path.name, line_no, text, 0, 0))
        if pending is not None:
            expectations[line_no] = pending
            pending = None
    return Sample(path.name, lines, expectations)


def all_samples() -> list[Sample]:
    return [load_sample(path) for path in sorted(SAMPLES.glob("*.log"))]


def _cases() -> list[pytest.ParameterSet]:
    cases = []
    for sample in all_samples():
        for line_no, expect in sample.expectations.items():
            case_id = f"{sample.name}:{expect.annotation_line}-{expect.rule}"
            cases.append(pytest.param(sample.name, line_no, expect, id=case_id))
    return cases


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return build_ruleset()


@pytest.fixture(scope="module")
def classified_samples(ruleset: RuleSet) -> dict[str, dict[int, tuple[Record, Match | None]]]:
    """Per sample file: line_no of each record's first line -> (record, match)."""
    result = {}
    for sample in all_samples():
        records = assemble(sample.lines)
        result[sample.name] = {r.line_no: (r, ruleset.classify(r)) for r in records}
    return result


# --- generated from the samples -----------------------------------------------------


@pytest.mark.parametrize(("sample_name", "line_no", "expect"), _cases())
def test_sample_record_is_classified_as_annotated(
    sample_name: str, line_no: int, expect: Expect, ruleset: RuleSet, classified_samples: dict
) -> None:
    records = classified_samples[sample_name]
    assert line_no in records, f"annotation at line {expect.annotation_line} is not above a record"
    record, match = records[line_no]
    if expect.rule == "none":
        assert match is None, f"look-alike matched {match and match.rule}: {record.text!r}"
        assert not ruleset.is_error(record)
    elif expect.rule == "unmatched":
        assert match is None, f"matched {match and match.rule}: {record.text!r}"
        assert ruleset.is_error(record), "annotated unmatched but not an error"
    else:
        assert match is not None, f"no rule matched: {record.text!r}"
        assert match.rule == expect.rule, record.text
        for name, value in expect.fields.items():
            assert match.fields.get(name) == value, f"{name}: {dict(match.fields)}"


@pytest.mark.parametrize("sample_name", [s.name for s in all_samples()])
def test_records_without_annotation_match_nothing_and_are_no_errors(
    sample_name: str, ruleset: RuleSet, classified_samples: dict
) -> None:
    sample = next(s for s in all_samples() if s.name == sample_name)
    for line_no, (record, match) in classified_samples[sample_name].items():
        if line_no in sample.expectations:
            continue
        assert match is None, f"line {line_no} matched {match.rule}: {record.text!r}"
        assert not ruleset.is_error(record), f"unannotated error at line {line_no}"


def test_samples_cover_every_rule_format_language_and_enough_lookalikes() -> None:
    samples = all_samples()
    expectations = [e for s in samples for e in s.expectations.values()]
    rules = {e.rule for e in expectations}
    assert set(BUILTIN_NAMES) <= rules
    assert "unmatched" in rules
    assert sum(len(s.lines) for s in samples) >= 150
    assert sum(1 for e in expectations if e.rule == "none") >= 40
    text = "\n".join(line.text for s in samples for line in s.lines)
    assert " - telegram.ext." in text  # PTB format
    assert re.search(r"^\[2026-\S+ \S+\] \[ERROR\]", text, re.M)  # bracketed
    assert re.search(r"^2026-\S+ \S+ ERROR \w", text, re.M)  # plain
    assert re.search(r"^/srv/\S+: Invalid data", text, re.M)  # bare stderr
    assert "No queda espacio" in text
    assert "No space left" in text


def test_builtin_keywords_are_in_every_match_of_their_rule() -> None:
    """The keyword gate in classify is only sound if every match holds a keyword."""
    texts = [line.text for sample in all_samples() for line in sample.lines]
    for rule in builtin_rules():
        assert rule.pattern is not None
        regex = re.compile(rule.pattern, re.IGNORECASE)
        for text in texts:
            for found in regex.finditer(text):
                assert any(k in found.group(0).casefold() for k in rule.keywords), (
                    rule.name,
                    found.group(0),
                )


# --- precedence, levels, errors -----------------------------------------------------


def _record(text: str, level: str | None = "ERROR", line_no: int = 1) -> Record:
    return Record("app.log", line_no, text, level)


def test_traceback_is_classified_by_its_final_exception_line(ruleset: RuleSet) -> None:
    lines = [
        "2026-11-29 10:00:00,000 ERROR descargas: Timeout guardando el vídeo",
        "Traceback (most recent call last):",
        '  File "/opt/bot/guardar.py", line 3, in guardar',
        "    os.chown(ruta, 1000, 1000)",
        "PermissionError: [Errno 13] Permission denied: '/srv/descargas/1/v.mp4'",
    ]
    records = assemble([Line("a", i + 1, t, 0, 0) for i, t in enumerate(lines)])
    assert len(records) == 1
    match = ruleset.classify(records[0])
    assert match is not None
    assert match.rule == "permisos"  # not timeout: the exception line decides first
    assert match.record.line_no == 1
    assert match.fields["path"] == "/srv/descargas/1/v.mp4"


def test_message_decides_when_the_exception_line_matches_nothing(ruleset: RuleSet) -> None:
    text = "\n".join(
        [
            "2026-11-29 10:00:00,000 ERROR x: Tiempo de espera agotado con BAACAgEAAxkBAAIBd2Vh",
            "Traceback (most recent call last):",
            '  File "/opt/bot/x.py", line 3, in f',
            "    raise RuntimeError('reintentos agotados')",
            "RuntimeError: reintentos agotados",
        ]
    )
    match = ruleset.classify(_record(text))
    assert match is not None and match.rule == "timeout"
    assert match.fields["file_id"].startswith("BAACAgEAAxkBAAI")


def test_info_lines_mentioning_rule_words_are_not_errors(ruleset: RuleSet) -> None:
    for text in ("Timed out getting updates", "chown 1000:1000 /srv/x", "0 archivos corruptos"):
        assert ruleset.classify(_record(f"2026-11-29 10:00:00,000 INFO x: {text}", "INFO")) is None
        assert (
            ruleset.classify(_record(f"2026-11-29 10:00:00,000 DEBUG x: {text}", "DEBUG")) is None
        )


def test_headerless_records_are_classified_without_a_level(ruleset: RuleSet) -> None:
    match = ruleset.classify(_record("/srv/a.mp4: moov atom not found", level=None))
    assert match is not None and match.rule == "corrupto"


def test_headerless_traceback_is_an_error_but_a_stray_line_is_not(ruleset: RuleSet) -> None:
    assert ruleset.is_error(_record("Traceback (most recent call last):\nKeyError: 'x'", None))
    assert not ruleset.is_error(_record("frame=  240 fps=0.0", None))
    assert ruleset.is_error(_record("x", "CRITICAL"))
    assert not ruleset.is_error(_record("x", "WARNING"))


@pytest.mark.parametrize(
    "message",
    [
        'connection to server at "127.0.0.1", port 5432 failed: Connection refused',
        "asyncpg: [Errno 111] Connect call failed ('127.0.0.1', 5432)",
        "Forbidden: bot was blocked by the user",
        "Message is not modified: specified new message content",
        'duplicate key value violates unique constraint "videos_pkey"',
        "telegram.error.BadRequest: Invalid file_id",
    ],
)
def test_errors_of_other_kinds_match_no_rule(ruleset: RuleSet, message: str) -> None:
    assert ruleset.classify(_record(f"2026-11-29 10:00:00,000 ERROR x: {message}")) is None


@pytest.mark.parametrize(
    ("message", "rule"),
    [
        (
            "httpx.ConnectError: [Errno 111] Connection refused (http://127.0.0.1:8081/bot<token>/getMe)",
            "servidor_caido",
        ),
        (
            "telegram.error.NetworkError: httpx.ConnectError: [Errno 111] Connection refused",
            "servidor_caido",
        ),
        ("Bot API server is down", "servidor_caido"),
        ("docker: container telegram-bot-api exited with code 137", "servidor_caido"),
        ("httpx.ConnectTimeout: timed out", "timeout"),
        ("OSError: [Errno 110] Connection timed out", "timeout"),
        ("OSError: [Errno 28] No space left on device", "disco_lleno"),
        ("OSError: [Errno 2] ENOENT", "ruta_inexistente"),
        ("EACCES: permission denied, open '/srv/x'", "permisos"),
        ("broken video: /srv/x.mp4", "corrupto"),
        ("el directorio /srv/x no existe", "ruta_inexistente"),
    ],
)
def test_seed_phrasings_and_errno_codes(ruleset: RuleSet, message: str, rule: str) -> None:
    match = ruleset.classify(_record(f"2026-11-29 10:00:00,000 ERROR x: {message}"))
    assert match is not None and match.rule == rule


# --- fields and keys -----------------------------------------------------------------


def _match(ruleset: RuleSet, message: str):
    match = ruleset.classify(_record(f"2026-11-29 10:00:00,000 ERROR x: {message}"))
    assert match is not None
    return match


def test_retries_of_the_same_path_share_a_key_and_other_paths_do_not(ruleset: RuleSet) -> None:
    first = _match(ruleset, "PermissionError: [Errno 13] Permission denied: '/srv/d/1/a.mp4'")
    again = _match(ruleset, "Permiso denegado al escribir en '/srv/d/1/a.mp4' (reintento 3)")
    other = _match(ruleset, "PermissionError: [Errno 13] Permission denied: '/srv/d/2/a.mp4'")
    assert first.key == again.key == "path=/srv/d/1/a.mp4"
    assert other.key != first.key


def test_timeouts_group_by_file_id_else_by_normalised_message(ruleset: RuleSet) -> None:
    file_id = "BAACAgEAAxkBAAIBd2VhbXBsZV9maWxlX2lkX2Zvcl90ZXN0cwAC"
    one = _match(ruleset, f"Download of {file_id} timed out after 30.2s")
    two = _match(ruleset, f"Tiempo de espera agotado descargando file_id={file_id}")
    assert one.key == two.key == f"file_id={file_id}"
    slow = _match(ruleset, "getFile timed out after 30.2s")
    slower = _match(ruleset, "getFile timed out after 31.7s")
    assert slow.key == slower.key
    assert slow.key.startswith("msg:")


def test_normalised_message_hides_numbers_ids_quotes_and_times() -> None:
    text = (
        "2026-11-29 10:00:00,123 job 0x7f3a2b 3f9c2d1e8a7b6c5d failed for 'abc' "
        "at http://127.0.0.1:8081/bot123456:SECRET-token/getFile after 12.5 s"
    )
    normal = normalise_message(text)
    assert "secret" not in normal
    assert not re.search(r"\d", normal.replace("#", ""))
    assert "'*'" in normal


def test_long_keys_are_hashed_and_fields_are_capped(ruleset: RuleSet) -> None:
    long_path = "/srv/descargas/" + "x" * 900 + ".mp4"
    match = _match(ruleset, f"PermissionError: [Errno 13] Permission denied: '{long_path}'")
    assert len(match.fields["path"]) == 512
    assert len(match.key) <= 96
    key = incident_key(("path",), {"path": long_path}, "")
    assert key == match.key or key.startswith("path=/srv/descargas/")


def test_fields_are_kept_as_written_even_when_hostile(ruleset: RuleSet) -> None:
    match = _match(ruleset, "Permission denied: '/srv/d/../../etc/passwd; rm -rf /'")
    assert match.fields["path"] == "/srv/d/../../etc/passwd; rm -rf /"


def test_url_paths_with_the_bot_token_are_not_taken_as_file_paths(ruleset: RuleSet) -> None:
    match = _match(ruleset, "POST /bot123:ABC/getUpdates -> Connection refused by telegram-bot-api")
    assert match.rule == "servidor_caido"
    assert "path" not in match.fields


@pytest.mark.parametrize(
    ("where", "host", "port"),
    [
        ("(10.0.0.5:8081)", "10.0.0.5", "8081"),
        ("(LOCALHOST:8081)", "LOCALHOST", "8081"),
        ("at localhost:5432", "localhost", "5432"),
        ("(http://127.0.0.1:8081/bot<token>/getMe)", "127.0.0.1", "8081"),
        ("(host unreachable)", None, None),
        ("at 1.2.3:80", None, None),
    ],
)
def test_host_and_port_fields(
    ruleset: RuleSet, where: str, host: str | None, port: str | None
) -> None:
    match = _match(ruleset, f"telegram.error.NetworkError: Connection refused {where}")
    assert (match.fields.get("host"), match.fields.get("port")) == (host, port)


def test_a_rule_named_group_wins_over_the_generic_fields() -> None:
    rule = Rule("cuota", r"cuota de (?P<user_id>\d+) superada", builtin=False)
    match = RuleSet([rule]).classify(_record("cuota de 42 superada para user_id=777777"))
    assert match is not None and match.fields["user_id"] == "42"


# --- rule_from_table --------------------------------------------------------------------


def test_rule_from_table_builds_a_custom_rule() -> None:
    rule = rule_from_table(
        {
            "name": "cuota",
            "pattern": r"quota of (?P<user_id>\d+) exceeded",
            "severity": "warning",
            "min_level": "info",
            "key_fields": ["user_id"],
            "policy": "ask",
            "description": "A user went over their quota.",
            "enabled": True,
        },
        0,
    )
    assert rule.severity is Severity.WARNING
    assert rule.policy is Policy.ASK
    assert rule.min_level == "INFO"
    assert rule.key_fields == ("user_id",)
    assert not rule.builtin
    assert rule.keywords == ("quota of ",)


def test_a_table_reusing_a_builtin_name_inherits_its_settings() -> None:
    rule = rule_from_table({"name": "timeout", "pattern": r"se colgó"}, 0)
    assert rule.policy is Policy.AUTO
    assert rule.key_fields == ("file_id",)
    assert rule.severity is Severity.ERROR


@pytest.mark.parametrize(
    ("table", "key", "says"),
    [
        ({"pattern": "x+"}, "rules[3].name", "required"),
        ({"name": "Mal Nombre", "pattern": "x+"}, "rules[3].name", "a-z"),
        ({"name": "ok"}, "rules[3].pattern", "required"),
        ({"name": "ok", "pattern": "(unclosed"}, "rules[3].pattern", "missing ), unterminated"),
        ({"name": "ok", "pattern": "x*"}, "rules[3].pattern", "empty string"),
        ({"name": "ok", "pattern": "x" * 2001}, "rules[3].pattern", "at most 2000"),
        ({"name": "ok", "pattern": "x+", "colour": "red"}, "rules[3].colour", "unknown key"),
        ({"name": "ok", "pattern": "x+", "severity": "urgent"}, "rules[3].severity", "critical"),
        ({"name": "ok", "pattern": "x+", "policy": 3}, "rules[3].policy", "auto"),
        ({"name": "ok", "pattern": "x+", "min_level": "LOUD"}, "rules[3].min_level", "WARNING"),
        ({"name": "ok", "pattern": "x+", "key_fields": ["nope"]}, "rules[3].key_fields", "nope"),
        ({"name": "ok", "pattern": "x+", "key_fields": "path"}, "rules[3].key_fields", "list"),
        ({"name": "ok", "pattern": "x+", "enabled": "yes"}, "rules[3].enabled", "true or false"),
    ],
)
def test_rule_from_table_errors_name_the_key_and_why(table: dict, key: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        rule_from_table(table, 3)
    assert caught.value.key == key
    assert says in caught.value.message


# --- build_ruleset and custom rules ---------------------------------------------------


def test_builtins_have_the_seed_names_severities_and_policies() -> None:
    rules = {rule.name: rule for rule in builtin_rules()}
    assert sorted(rules) == sorted(BUILTIN_NAMES)
    assert rules["disco_lleno"].severity is Severity.CRITICAL
    assert rules["servidor_caido"].severity is Severity.CRITICAL
    assert rules["timeout"].policy is Policy.AUTO
    assert rules["ruta_inexistente"].policy is Policy.AUTO
    assert rules["permisos"].policy is Policy.ASK
    assert rules["corrupto"].policy is Policy.ASK
    assert rules["disco_lleno"].policy is Policy.ALERT
    assert rules["servidor_caido"].policy is Policy.ASK
    assert all(rule.builtin and rule.min_level == "WARNING" for rule in rules.values())


def test_custom_rules_override_builtins_in_place_and_new_ones_go_first() -> None:
    override = Rule("timeout", r"se colgó", policy=Policy.ALERT)
    extra = Rule("cuota", r"quota exceeded")
    names = [rule.name for rule in build_ruleset([override, extra], {"corrupto"}).rules]
    assert names == [
        "cuota",
        "disco_lleno",
        "servidor_caido",
        "permisos",
        "ruta_inexistente",
        "timeout",
    ]
    ruleset = build_ruleset([override])
    assert ruleset.get("timeout") is override
    assert ruleset.classify(_record("2026-11-29 10:00:00,000 ERROR x: timed out")) is None


def test_a_disabled_rule_is_kept_but_never_matches() -> None:
    ruleset = build_ruleset([Rule("timeout", r"timed out", enabled=False)])
    assert "timeout" not in ruleset.enabled_names
    assert ruleset.get("timeout") is not None
    assert ruleset.classify(_record("2026-11-29 10:00:00,000 ERROR x: timed out")) is None


def test_a_rule_with_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="LOUD"):
        Rule("x", "x+", min_level="LOUD")
    assert Rule("x", "x+", min_level="warn").min_level == "WARNING"


def test_duplicate_custom_names_are_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        build_ruleset([Rule("a", "x+"), Rule("a", "y+")])
    assert caught.value.key == "rules[1].name"


def test_derive_keywords_only_when_every_branch_starts_with_a_literal() -> None:
    assert derive_keywords(r"quota exceeded|cuota superada") == ("quota exceeded", "cuota superada")
    assert derive_keywords(r"\bdisk\s+full") == ("disk",)
    assert derive_keywords(r"colou?r") == ("colo",)
    assert derive_keywords(r"\[Errno 5\]") == ("[errno 5]",)
    assert derive_keywords(r"(a|b)c") == ()
    assert derive_keywords(r"ab|x") == ()
    assert derive_keywords(r".*boom") == ()


# --- the classifier: fast path == per-line path ----------------------------------------


def _feed_in_batches(classifier: Classifier, lines: list[Line], seed: int) -> list:
    rng = random.Random(seed)
    results, start = [], 0
    while start < len(lines):
        size = rng.choice((1, 2, 3, 7, 50, 400, 5000))
        results.append(classifier.feed(lines[0].source, lines[start : start + size]))
        start += size
    results.append(classifier.flush())
    return results


def _summary(results: list) -> tuple:
    matches = [(m.rule, m.key, dict(m.fields), m.record) for r in results for m in r.matches]
    unmatched = [record for r in results for record in r.unmatched_errors]
    return matches, unmatched, sum(r.records for r in results)


def _all_lines(tmp_path: Path) -> list[Line]:
    texts = [line.text for sample in all_samples() for line in sample.lines]
    log = tmp_path / "generated.log"
    generate_log(log, 20_000, error_ratio=0.05, seed=7)
    texts += log.read_text(encoding="utf-8").splitlines()
    return [Line("all.log", i + 1, text, 0, 0) for i, text in enumerate(texts)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_path_gives_the_same_result_as_feeding_every_line(tmp_path: Path, seed: int) -> None:
    lines = _all_lines(tmp_path)
    ruleset = build_ruleset()
    fast = _summary(_feed_in_batches(Classifier(ruleset), lines, seed))
    slow = _summary(_feed_in_batches(Classifier(ruleset, fast=False), lines, seed))
    assert fast == slow
    assert len(fast[0]) > 100


def test_fast_path_with_a_rule_that_looks_at_info_lines(tmp_path: Path) -> None:
    """A low min_level rule with keywords rescues its INFO lines from the skip;
    one without keywords turns the skip off. Both agree with the per-line path."""
    lines = _all_lines(tmp_path)
    for custom in (
        Rule("reparacion", r"reparando vídeo|faststart aplicado", min_level="DEBUG"),
        Rule("cualquier", r"(?:x|y)yz|carpeta creada", min_level="INFO"),
    ):
        ruleset = build_ruleset([custom])
        fast = _summary(_feed_in_batches(Classifier(ruleset), lines, 5))
        slow = _summary(_feed_in_batches(Classifier(ruleset, fast=False), lines, 5))
        assert fast == slow
        assert any(m[0] == custom.name for m in fast[0])


def test_classifier_counts_matches_per_rule_and_records() -> None:
    classifier = Classifier(build_ruleset())
    texts = [
        "2026-11-29 10:00:00,000 INFO x: hola",
        "2026-11-29 10:00:01,000 ERROR x: No space left on device",
        "2026-11-29 10:00:02,000 ERROR x: algo raro",
    ]
    result = classifier.feed("a.log", [Line("a.log", i + 1, t, 0, 0) for i, t in enumerate(texts)])
    assert result.records == 3
    assert [m.rule for m in result.matches] == ["disco_lleno"]
    assert [r.line_no for r in result.unmatched_errors] == [3]
    assert classifier.counts["disco_lleno"] == 1
    assert classifier.counts["timeout"] == 0
    assert classifier.stats.records == 3 and classifier.stats.unmatched_errors == 1


def test_an_unfinished_traceback_waits_for_the_next_batch_or_goes_stale() -> None:
    clock = FakeMonotonic(100.0)
    classifier = Classifier(build_ruleset(), monotonic=clock)
    head = [
        "2026-11-29 10:00:00,000 ERROR x: fallo",
        "Traceback (most recent call last):",
        '  File "/opt/x.py", line 1, in f',
    ]
    first = classifier.feed("a.log", [Line("a.log", i + 1, t, 0, 0) for i, t in enumerate(head)])
    assert first.records == 0
    tail = [Line("a.log", 4, "PermissionError: [Errno 13] Permission denied: '/srv/a'", 0, 0)]
    second = classifier.feed("a.log", tail)
    assert [m.rule for m in second.matches] == ["permisos"]
    assert second.matches[0].record.line_no == 1

    classifier.feed("b.log", [Line("b.log", 1, "Traceback (most recent call last):", 0, 0)])
    assert classifier.flush_stale(older_than=1.0).records == 0
    clock.advance(2.0)
    stale = classifier.flush_stale(older_than=1.0)
    assert stale.records == 1 and len(stale.unmatched_errors) == 1


def test_flush_of_one_source_leaves_the_others_pending() -> None:
    classifier = Classifier(build_ruleset())
    for source in ("a.log", "b.log"):
        classifier.feed(source, [Line(source, 1, "Traceback (most recent call last):", 0, 0)])
    assert classifier.flush("a.log").records == 1
    assert classifier.flush().records == 1


def test_replacing_the_ruleset_applies_to_later_batches() -> None:
    classifier = Classifier(build_ruleset())
    classifier.ruleset = build_ruleset(disabled={"disco_lleno"})
    line = Line("a.log", 1, "2026-11-29 10:00:00,000 ERROR x: No space left on device", 0, 0)
    assert classifier.feed("a.log", [line]).matches == []
    assert replace(builtin_rules()[0], enabled=False).enabled is False


def test_shared_resource_outages_are_one_incident_whatever_each_line_names() -> None:
    ruleset = build_ruleset()
    lines = [
        "2026-11-29 10:00:01,000 ERROR descargas: No queda espacio en el dispositivo al guardar "
        "/srv/descargas/1/a.mp4",
        "2026-11-29 10:00:02,000 ERROR descargas: OSError: [Errno 28] No space left on device: "
        "'/srv/descargas/2/b.mp4'",
        "2026-11-29 10:00:03,000 ERROR bot: httpx.ConnectError: [Errno 111] Connection refused "
        "(http://127.0.0.1:8081/bot)",
        "2026-11-29 10:00:04,000 - telegram.ext.Updater - ERROR - telegram.error.NetworkError: "
        "Bad Gateway",
    ]
    matches = [
        ruleset.classify(Record("bot.log", n, text, "ERROR")) for n, text in enumerate(lines)
    ]
    assert [(m.rule, m.key) for m in matches if m] == [
        ("disco_lleno", "*"),
        ("disco_lleno", "*"),
        ("servidor_caido", "*"),
        ("servidor_caido", "*"),
    ]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[h264 @ 0x55d1c2a0] error while decoding MB 12 7, bytestream -5", True),
        ("Fatal: cannot open the output file", True),
        ("ValueError: bad header", True),
        ("frame=  240 fps= 60 q=28.0 size=    1024kB time=00:00:08.00", False),
        ("no errors found", False),
    ],
)
def test_a_line_without_a_header_is_an_error_when_it_says_so(text: str, error: bool) -> None:
    """A child's stderr (ffmpeg) has no log header: its own words decide whether an
    error no rule knows reaches the kinds miner."""
    record = Record(source="/log/stderr.log", line_no=1, text=text)
    assert build_ruleset().is_error(record) is error
