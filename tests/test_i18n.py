"""The message catalog: both languages complete, every template formats at its call sites."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from handlers import i18n
from handlers.i18n import CATALOGS, COMMANDS, EN, ES, Catalog
from tests.telegram_html import parse_telegram_html

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*ROOT.glob("adminbot/**/*.py"), *ROOT.glob("handlers/*.py")])
# Parsed once, at collection, before any test leaves garbage: on 3.11 a finaliser that runs
# during ast.parse and formats a traceback (which parses too) makes it raise SystemError
# (CPython gh-106905).
TREES = {path: ast.parse(path.read_text(encoding="utf-8")) for path in SOURCES}

# Templates with no words in them, only icons, placeholders and tags: the same in both.
LANGUAGE_NEUTRAL = {
    "predict.eta_hm",  # "2 h 10 min" reads the same in both
    "predict.eta_h",
    "predict.eta_m",
    "noise.span.s",  # a threshold's window: "10 min" reads the same in both
    "noise.span.min",
    "noise.span.h",
    "noise.span.d",
    "maintenance.key",
    "severity.info",
    "severity.error",
    "alert.done",
    "btn.chown",
    "status.file_problem",
    "status.check_line",
    "status.open_line",
    "summary.by_rule",
    "storm.key_line",
    "storm.file_line",
    "summary.top_line",
    "check.flip",
    "check.first",
    "unit.s",
    "unit.h",
    "unit.d",
    "alert.report",
    "disk.folder_error",
    "disk.subfolder",
    "action.problem.error",
    "action.reason.text",
    "action.reason.docker_error",
    "check.reason.note",
    "btn.mute_for",  # "🔕 8 h"
    "btn.unmute_one",  # "🔔 timeout"
}


PLAIN = ("btn.", "tap.")
"""Button labels and tap answers are plain text, not HTML: an entity would show as typed."""


def is_html(key: str) -> bool:
    return not key.startswith(PLAIN)


def check_markup(key: str, text: str) -> None:
    if is_html(key):
        parse_telegram_html(text)  # raises on an unknown tag or a bare &
    else:
        assert "<" not in text
        assert not any(entity in text for entity in ("&lt;", "&gt;", "&amp;", "&quot;"))


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_english_and_spanish_have_exactly_the_same_keys() -> None:
    assert set(EN) - set(ES) == set()
    assert set(ES) - set(EN) == set()
    assert set(COMMANDS["en"]) == set(COMMANDS["es"])


def test_both_languages_use_the_same_placeholders_for_each_key() -> None:
    different = {key for key in EN if placeholders(EN[key]) != placeholders(ES[key])}
    assert different == set()


@pytest.mark.parametrize("key", sorted(EN))
@pytest.mark.parametrize("language", sorted(CATALOGS))
def test_every_key_formats_with_its_placeholders_into_valid_markup(key: str, language: str) -> None:
    template = CATALOGS[language][key]
    values = dict.fromkeys(placeholders(template), 1.5)  # a float fits {n} and {n:.0f}
    check_markup(key, Catalog(language)(key, **values))


def test_every_key_is_used_somewhere() -> None:
    constants = {
        node.value
        for tree in TREES.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    unused = {key for key in EN if not _used(key, constants)}
    assert unused == set()


def _used(key: str, constants: set[str]) -> bool:
    """A key is used as a literal, or through an f-string prefix such as `state.`."""
    prefix = key.rsplit(".", 1)[0] + "."
    return key in constants or prefix in constants


def test_spanish_strings_are_spanish() -> None:
    same = {key for key in EN if EN[key] == ES[key]}
    assert same == LANGUAGE_NEUTRAL
    assert len(same) / len(EN) < 0.2
    assert all(COMMANDS["en"][name] != COMMANDS["es"][name] for name in COMMANDS["en"])


def test_catalog_speaks_the_configured_language() -> None:
    assert Catalog("es")("tap.closed", state="resuelto") == "Ya está resuelto."
    assert Catalog("en")("tap.closed", state="resolved") == "Already resolved."


@pytest.mark.parametrize("language", ["fr", "", "ES", "es-419"])
def test_catalog_falls_back_to_english_for_an_unknown_language(language: str) -> None:
    t = Catalog(language)
    assert t.language == "en"
    assert t("btn.resolve") == "✅ Mark fixed"


def test_a_key_missing_in_spanish_falls_back_to_english(monkeypatch: pytest.MonkeyPatch) -> None:
    partial = {key: value for key, value in ES.items() if key != "btn.resolve"}
    monkeypatch.setitem(i18n.CATALOGS, "es", partial)
    t = Catalog("es")
    assert t("btn.resolve") == "✅ Mark fixed"
    assert t("btn.ignore") == "🙈 Ignorar"


@pytest.mark.parametrize("language", sorted(CATALOGS))
def test_html_templates_hold_only_telegram_tags_and_plain_ones_none(language: str) -> None:
    for key, template in CATALOGS[language].items():
        values = dict.fromkeys(placeholders(template), 1.5)
        check_markup(key, template.format(**values))
