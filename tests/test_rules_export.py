"""`adminbot rules export`: the TOML's rules and the chat's, as loadable `[[rules]]`."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from adminbot.cli import main
from adminbot.models import Severity
from adminbot.rules.export import Exported, export_toml, user_rules
from adminbot.rules.loader import build_rulebook, rule_from_table
from adminbot.store.sqlite import Store
from adminbot.store.userrules import UserRule, UserRuleStore
from tests.clocks import FakeClock

CONFIG = """
[[rules]]
name = "locked"
pattern = 'database "main" is locked\\s+\\d+'
severity = "warning"
key_fields = ["path"]
description = "the pipeline's SQLite is busy"
"""


def test_exported_rules_load_back_as_the_same_rules() -> None:
    table = tomllib.loads(CONFIG)["rules"][0]
    spec = rule_from_table(table, 0)
    book = build_rulebook([spec])
    chat = [Exported(rule_from_table({"name": "too_big", "pattern": r"too big \("}, 0), "chat")]
    text = export_toml(user_rules(book, chat))
    loaded = [rule_from_table(t, i) for i, t in enumerate(tomllib.loads(text)["rules"])]
    assert [r.name for r in loaded] == ["locked", "too_big"]
    assert loaded[0] == spec
    assert loaded[1].pattern == r"too big \("


def test_a_chat_rule_the_configuration_shadows_is_not_exported_twice() -> None:
    spec = rule_from_table({"name": "locked", "pattern": "locked"}, 0)
    chat = [Exported(rule_from_table({"name": "locked", "pattern": "other"}, 0), "chat")]
    assert [item.spec.pattern for item in user_rules(build_rulebook([spec]), chat)] == ["locked"]


def test_adminbot_rules_export_prints_the_tomls_rules_and_the_chats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ADMINBOT_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "adminbot.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "data").mkdir()
    store = Store(tmp_path / "data" / "adminbot.sqlite3")
    made = UserRule("too_big", r"File\s+is\s+too\s+big", Severity.ERROR, FakeClock()(), "@ana")
    UserRuleStore(store).add(made)
    store.close()
    assert main(["rules", "export"]) == 0
    out = capsys.readouterr().out
    assert '# from the configuration\n[[rules]]\nname = "locked"' in out
    assert "# made in the chat by @ana" in out
    assert [t["name"] for t in tomllib.loads(out)["rules"]] == ["locked", "too_big"]


def test_with_no_rules_of_its_own_export_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ADMINBOT_DATA_DIR", str(tmp_path / "data"))
    assert main(["rules", "export"]) == 0
    assert capsys.readouterr().out.startswith("# no rules of your own")
