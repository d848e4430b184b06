"""The message catalog: both languages complete, every template formats at its call sites."""

from __future__ import annotations

import ast
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adminbot import i18n
from adminbot.i18n import CATALOGS, COMMANDS, EN, ES, Catalog
from tests.telegram_html import parse_telegram_html

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*ROOT.glob("adminbot/*.py"), *ROOT.glob("handlers/*.py")])
# Parsed once, at collection, before any test leaves garbage: on 3.11 a finaliser that runs
# during ast.parse and formats a traceback (which parses too) makes it raise SystemError
# (CPython gh-106905).
TREES = {path: ast.parse(path.read_text(encoding="utf-8")) for path in SOURCES}

# Templates with no words in them, only icons, placeholders and tags: the same in both.
LANGUAGE_NEUTRAL = {
    "severity.info",
    "severity.error",
    "alert.done",
    "btn.chown",
    "status.file_problem",
    "status.check_line",
    "status.open_line",
    "summary.by_rule",
    "summary.top_line",
    "check.flip",
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


@dataclass(frozen=True)
class CallSite:
    where: str
    keys: tuple[str, ...]
    names: frozenset[str]


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _is_catalog_call(call: ast.Call) -> bool:
    """`t(...)`, `screen.t(...)`, `catalog(...)`, `runtime.catalog(...)`."""
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    return name in ("t", "catalog") and bool(call.args)


def _keys(node: ast.expr, scope: ast.AST, tree: ast.Module) -> tuple[str, ...]:
    """Every catalog key a key expression can evaluate to."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, ast.JoinedStr):  # f"state.{...}": every key with that prefix
        first = node.values[0]
        prefix = first.value if isinstance(first, ast.Constant) else ""
        assert prefix, f"an f-string key needs a constant prefix: {ast.unparse(node)}"
        return tuple(key for key in EN if key.startswith(str(prefix)))
    if isinstance(node, ast.IfExp):
        return _keys(node.body, scope, tree) + _keys(node.orelse, scope, tree)
    if isinstance(node, ast.Name):
        return _name_keys(node.id, scope, tree)
    raise AssertionError(f"cannot tell which catalog key this is: {ast.unparse(node)}")


def _name_keys(name: str, scope: ast.AST, tree: ast.Module) -> tuple[str, ...]:
    """A key held in a local variable, or passed in as an argument by the module's callers."""
    found: list[str] = []
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            found += _keys(node.value, scope, tree)
    if found or not isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
        return tuple(found)
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and getattr(call.func, "id", None) == scope.name:
            found += [
                arg.value
                for arg in call.args
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value in EN
            ]
    assert found, f"no catalog key found for {name} in {scope.name}"
    return tuple(found)


def call_sites() -> Iterator[CallSite]:
    for path, tree in TREES.items():
        functions = [
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        for scope in [tree, *functions]:
            body = scope.body if isinstance(scope, ast.Module) else [scope]
            for node in (n for part in body for n in ast.walk(part)):
                if not isinstance(node, ast.Call) or not _is_catalog_call(node):
                    continue
                if isinstance(scope, ast.Module) and any(
                    node in ast.walk(function) for function in functions
                ):
                    continue  # seen with its function, where local names resolve
                names = frozenset(kw.arg for kw in node.keywords if kw.arg)
                keys = _keys(node.args[0], scope, tree)
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                yield CallSite(where, keys, names)


SITES = sorted(set(call_sites()), key=lambda site: site.where)


def test_english_and_spanish_have_exactly_the_same_keys() -> None:
    assert set(EN) - set(ES) == set()
    assert set(ES) - set(EN) == set()
    assert set(COMMANDS["en"]) == set(COMMANDS["es"])


def test_both_languages_use_the_same_placeholders_for_each_key() -> None:
    different = {key for key in EN if placeholders(EN[key]) != placeholders(ES[key])}
    assert different == set()


def test_the_scanner_finds_the_call_sites() -> None:
    wheres = {site.where.split(":")[0] for site in SITES}
    assert {"handlers/views.py", "handlers/commands.py", "handlers/callbacks.py"} <= wheres
    assert len(SITES) > 40


@pytest.mark.parametrize("site", SITES, ids=lambda site: site.where)
@pytest.mark.parametrize("language", sorted(CATALOGS))
def test_every_template_formats_with_what_its_call_site_passes(
    site: CallSite, language: str
) -> None:
    t = Catalog(language)
    values = dict.fromkeys(site.names, 1.5)  # a float satisfies both {n} and {n:.0f}
    for key in site.keys:
        assert key in EN, f"{site.where} asks for a key the catalog lacks: {key}"
        missing = placeholders(CATALOGS[language][key]) - site.names
        assert not missing, f"{site.where}: {key} needs {missing}"
        check_markup(key, t(key, **values))


def test_every_key_is_used_somewhere() -> None:
    used = {key for site in SITES for key in site.keys}
    constants = {
        node.value
        for tree in TREES.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    unused = set(EN) - used - constants
    assert unused == set()


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
    monkeypatch.setitem(i18n.CATALOGS, "es", partial)  # type: ignore[arg-type]
    t = Catalog("es")
    assert t("btn.resolve") == "✅ Mark fixed"
    assert t("btn.ignore") == "🙈 Ignorar"


@pytest.mark.parametrize("language", sorted(CATALOGS))
def test_html_templates_hold_only_telegram_tags_and_plain_ones_none(language: str) -> None:
    for key, template in CATALOGS[language].items():
        values = dict.fromkeys(placeholders(template), 1.5)
        check_markup(key, template.format(**values))
