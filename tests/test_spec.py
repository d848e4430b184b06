"""Rule specs: everything about one rule in one value, and the book that holds them."""

from __future__ import annotations

from pathlib import Path

import pytest

from adminbot.actions.docker import DockerClient
from adminbot.checks.base import Check
from adminbot.checks.botapi import BotApiCheck
from adminbot.checks.container import ContainerCheck
from adminbot.checks.disk import DiskCheck
from adminbot.checks.health import raised_rule
from adminbot.errors import ConfigError
from adminbot.models import ActionKind, Policy, Severity
from adminbot.rules.builtin import BUILTIN, PROCESO_CAIDO, SEEDS
from adminbot.rules.loader import build_rulebook, rule_from_table
from adminbot.rules.ruleset import ruleset_of
from adminbot.rules.spec import RuleBook, RuleSpec

K = ActionKind


def test_each_builtin_rule_carries_its_fixes_and_alert_habits() -> None:
    book = build_rulebook()
    assert {name: spec.fixes for name, spec in book.items()} == {
        "disco_lleno": (),
        "servidor_caido": (K.RESTART_CONTAINER,),
        "permisos": (K.CHOWN,),
        "ruta_inexistente": (K.MKDIR,),
        "corrupto": (K.CLEAN_RETRY, K.RETRY),
        "timeout": (K.RETRY,),
        "proceso_caido": (K.RESTART_PROCESS,),
        "nuevo_tipo": (),
        "disco_previsto": (),
        "ritmo_inusual": (),
        "host_silencioso": (),
    }
    assert [n for n, s in book.items() if s.verify_first] == ["servidor_caido"]
    assert [n for n, s in book.items() if s.disk_report] == ["disco_lleno"]
    assert [n for n, s in book.items() if s.quiet_success] == ["ruta_inexistente"]
    assert all(spec.builtin for spec in book.values())


def test_proceso_caido_has_no_pattern_so_the_classifier_never_sees_it() -> None:
    book = build_rulebook()
    assert book["proceso_caido"] is PROCESO_CAIDO
    assert PROCESO_CAIDO.pattern is None and PROCESO_CAIDO.keywords == ()
    assert PROCESO_CAIDO.policy is Policy.AUTO and PROCESO_CAIDO.severity is Severity.CRITICAL
    assert book.classifying == SEEDS
    assert [rule.name for rule in ruleset_of(book).rules] == [seed.name for seed in SEEDS]


def test_a_config_policy_is_resolved_into_the_spec_once() -> None:
    book = build_rulebook(policies={"timeout": Policy.ASK, "proceso_caido": Policy.ALERT})
    assert book["timeout"].policy is Policy.ASK
    assert book["proceso_caido"].policy is Policy.ALERT
    assert book["permisos"].policy is Policy.ASK  # untouched built-in default


def test_a_custom_rule_reusing_a_builtin_name_keeps_its_fixes_and_habits() -> None:
    spec = rule_from_table({"name": "ruta_inexistente", "pattern": "carpeta perdida"}, 0)
    assert spec.fixes == (K.MKDIR,) and spec.quiet_success
    assert spec.pattern == "carpeta perdida" and not spec.builtin
    book = build_rulebook([spec])
    assert book["ruta_inexistente"] is spec
    assert list(book) == [s.name for s in BUILTIN]  # in the built-in's place


def test_a_new_custom_rule_offers_no_fix_and_only_alerts() -> None:
    spec = rule_from_table({"name": "cuota", "pattern": "quota exceeded"}, 0)
    assert spec.fixes == () and spec.policy is Policy.ALERT
    assert not (spec.verify_first or spec.disk_report or spec.quiet_success)


@pytest.mark.parametrize(
    ("disabled", "policies", "key"),
    [
        ({"timout"}, {}, "disabled_rules"),
        ({"proceso_caido"}, {}, "disabled_rules"),  # no log line raises it
        ((), {"timout": Policy.ASK}, "policies.timout"),
    ],
)
def test_names_that_are_no_rule_are_refused(
    disabled: set[str], policies: dict[str, Policy], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        build_rulebook(disabled=disabled, policies=policies, file="adminbot.toml")
    assert caught.value.key == key
    assert caught.value.file == "adminbot.toml"


def test_a_book_refuses_two_rules_with_one_name() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        RuleBook([RuleSpec("a", "x+"), RuleSpec("a", None)])


def test_checks_declare_the_rule_their_outage_raises(tmp_path: Path) -> None:
    checks: list[Check] = [
        BotApiCheck("bot api", "http://127.0.0.1:8081/bot", None),
        ContainerCheck("container", DockerClient(str(tmp_path / "docker.sock")), "bot-api"),
        DiskCheck("disk", tmp_path),
    ]
    assert [raised_rule(check) for check in checks] == ["servidor_caido", "servidor_caido", None]
    assert all(raised_rule(check) in build_rulebook() for check in checks[:2])
