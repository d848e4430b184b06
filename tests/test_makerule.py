"""Making a rule of a kind: stored, merged with the configuration's, in force at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from adminbot.kinds.makerule import Edit, Refusal, RuleMaker
from adminbot.kinds.miner import KindMiner
from adminbot.models import Record, Severity
from adminbot.rules.builtin import NUEVO_TIPO
from adminbot.rules.loader import build_rulebook, rule_from_table
from adminbot.rules.source import RuleSource
from adminbot.store.kinds import KindState, KindStore
from adminbot.store.sqlite import Store
from adminbot.store.userrules import UserRule, UserRuleStore
from tests.clocks import FakeClock

TOO_BIG = (
    "2026-11-29 10:00:{n:02d},000 ERROR descargas.worker: Download of "
    "BAACAgEAAxkBAAI{n:05d}abcdefghijkl failed: File is too big ({n} MB)"
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(tmp_path / "s.sqlite3")
    yield db
    db.close()


def test_a_user_rule_survives_a_reopened_store(tmp_path: Path, store: Store) -> None:
    at = FakeClock()()
    rule = UserRule("too_big", r"File is too big", Severity.WARNING, at, "@admin")
    assert UserRuleStore(store).add(rule)
    assert not UserRuleStore(store).add(rule)  # a double tap stores it once
    store.close()
    reopened = Store(tmp_path / "s.sqlite3")
    try:
        assert UserRuleStore(reopened).all() == [rule]
    finally:
        reopened.close()


def test_chat_rules_go_first_and_the_configuration_wins_a_name_clash() -> None:
    config_rule = rule_from_table({"name": "locked", "pattern": "database is locked"}, 0)
    source = RuleSource(
        build_rulebook([config_rule]),
        [
            rule_from_table({"name": "too_big", "pattern": "too big"}, 0),
            rule_from_table({"name": "locked", "pattern": "never used"}, 0),
        ],
    )
    assert list(source)[:2] == ["too_big", "locked"]
    assert source["locked"].pattern == "database is locked"


def test_an_added_rule_replaces_the_ruleset_and_classifies_at_once() -> None:
    source = RuleSource(build_rulebook())
    before = source.ruleset
    record = Record("/l", 1, "2026-11-29 10:00:00,000 ERROR x: database is locked", "ERROR")
    assert before.classify(record) is None
    assert source.add(rule_from_table({"name": "locked", "pattern": "database is locked"}, 0))
    assert source.ruleset is not before
    found = source.ruleset.classify(record)
    assert found is not None and found.rule == "locked"
    assert not source.add(rule_from_table({"name": "locked", "pattern": "other"}, 0))


def _maker(store: Store, clock: FakeClock) -> tuple[RuleMaker, RuleSource, KindMiner]:
    kinds = KindStore(store)
    miner = KindMiner(kinds, NUEVO_TIPO, warmup=timedelta(0), clock=clock)
    source = RuleSource(build_rulebook())
    maker = RuleMaker(store, kinds, source, UserRuleStore(store), miner=miner, clock=clock)
    return maker, source, miner


def _state(store: Store, kind_id: int) -> KindState | None:
    kind = KindStore(store).get(kind_id)
    return None if kind is None else kind.state


def test_confirming_the_draft_stores_it_puts_it_in_force_and_rules_the_kind(store: Store) -> None:
    clock = FakeClock()
    maker, source, miner = _maker(store, clock)
    miner.mine([Record("/l", n, TOO_BIG.format(n=n), "ERROR") for n in (1, 2)])
    kind_id = KindStore(store).all()[0].id
    drafted = maker.draft(kind_id)
    assert drafted.proposal is not None and drafted.preview is not None
    assert (drafted.preview.samples_matched, drafted.preview.samples) == (2, 2)

    made = maker.confirm(kind_id, drafted.proposal.digest, "@admin")
    assert made.spec is not None and made.spec.name in source
    assert [r.name for r in UserRuleStore(store).all()] == [made.spec.name]
    assert _state(store, kind_id) is KindState.RULED
    assert maker.confirm(kind_id, drafted.proposal.digest, "@admin").refusal is Refusal.DECIDED


def test_a_forged_or_stale_digest_makes_nothing(store: Store) -> None:
    maker, _, miner = _maker(store, FakeClock())
    miner.mine([Record("/l", 1, TOO_BIG.format(n=1), "ERROR")])
    kind_id = KindStore(store).all()[0].id
    assert maker.confirm(kind_id, "0" * 12, "@admin").refusal is Refusal.STALE
    assert maker.confirm(kind_id + 1, "0" * 12, "@admin").refusal is Refusal.NO_KIND
    assert UserRuleStore(store).all() == []
    assert _state(store, kind_id) is KindState.NEW


def test_checking_an_edited_rule_stores_nothing_and_making_it_keeps_the_edits(
    store: Store,
) -> None:
    maker, source, miner = _maker(store, FakeClock())
    miner.mine([Record("/l", n, TOO_BIG.format(n=n), "ERROR") for n in (1, 2)])
    kind_id = KindStore(store).all()[0].id
    edit = Edit("too_big", r"File is too big \(\d+ MB\)", Severity.WARNING)

    checked = maker.check(kind_id, edit)
    stored_after_check = UserRuleStore(store).all()
    made = maker.make(kind_id, edit, "@admin")

    assert checked.preview is not None and checked.preview.samples_matched == 2
    assert stored_after_check == []
    assert made.spec is not None and source["too_big"].severity is Severity.WARNING
    assert source["too_big"].pattern == edit.pattern
    assert _state(store, kind_id) is KindState.RULED
    assert maker.make(kind_id, edit, "@admin").refusal is Refusal.DECIDED


def test_an_edited_pattern_that_misses_a_sample_of_its_kind_names_the_sample(
    store: Store,
) -> None:
    maker, _, miner = _maker(store, FakeClock())
    miner.mine([Record("/l", n, TOO_BIG.format(n=n), "ERROR") for n in (1, 2)])
    kind_id = KindStore(store).all()[0].id

    made = maker.make(kind_id, Edit("too_big", r"too big \(1 MB\)", Severity.ERROR), "@admin")

    assert made.refusal is Refusal.MISSES_SAMPLE and "(2 MB)" in made.detail
    assert UserRuleStore(store).all() == []
    assert _state(store, kind_id) is KindState.NEW
