"""The dashboard's store queries, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta

from adminbot.models import IncidentState, Match, Record, Severity, frozen_map
from adminbot.store.browse import Browse, IncidentQuery
from adminbot.store.sqlite import Store
from tests.clocks import T0

OPEN = (IncidentState.OPEN, IncidentState.ACKNOWLEDGED, IncidentState.FIXING)


def _match(rule: str, key: str, text: str) -> Match:
    record = Record(source="/log/bot.log", line_no=1, text=text)
    return Match(rule, Severity.ERROR, record, frozen_map({"path": key}), key)


def test_text_filter_matches_wildcards_literally(any_store: Store) -> None:
    percent = any_store.record_match(_match("a", "/k1", "disk 100% full"), T0, "t1").incident
    any_store.record_match(_match("a", "/k2", "disk 1000 full"), T0, "t2")
    any_store.record_match(_match("a", "/k3", "under_score"), T0, "t3")
    browse = Browse(any_store)

    assert [i.id for i in browse.incidents(IncidentQuery(text="100%"), limit=10)] == [percent.id]
    assert browse.count(IncidentQuery(text="1_00")) == 0  # as a wildcard it would match 1000
    assert browse.count(IncidentQuery(text="r_sc")) == 1


def test_filters_combine_and_newest_comes_first(any_store: Store) -> None:
    old = any_store.record_match(_match("a", "/k1", "x"), T0, "t1").incident
    new = any_store.record_match(_match("b", "/k2", "x"), T0 + timedelta(hours=2), "t2").incident
    any_store.set_state(old.id, [IncidentState.OPEN], IncidentState.IGNORED, "@bob", T0)
    browse = Browse(any_store)

    everything = browse.incidents(IncidentQuery(), limit=10)
    window = IncidentQuery(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3))

    assert [i.id for i in everything] == [new.id, old.id]
    assert [i.id for i in browse.incidents(window, limit=10)] == [new.id]
    assert browse.count(IncidentQuery(states=OPEN)) == 1
    assert browse.count(IncidentQuery(rule="a", host="h1")) == 1
    assert browse.count(IncidentQuery(host="elsewhere")) == 0
    assert browse.open_per_host(OPEN) == {"h1": 1}
    assert browse.changes(limit=5)[0].new_state is IncidentState.IGNORED


def test_the_version_changes_with_a_repeat_and_with_a_state_change(any_store: Store) -> None:
    first = any_store.record_match(_match("a", "/k", "x"), T0, "t1").incident
    browse = Browse(any_store)
    before = browse.version()

    any_store.record_match(_match("a", "/k", "x"), T0 + timedelta(seconds=1), "t2")
    repeated = browse.version()
    any_store.set_state(first.id, [IncidentState.OPEN], IncidentState.RESOLVED, "@bob", T0)

    assert len({before, repeated, browse.version()}) == 3


def test_audit_lists_newest_first_and_fixes_only_when_asked(any_store: Store) -> None:
    incident = any_store.record_match(_match("a", "/k", "x"), T0, "t1").incident
    any_store.add_audit(
        incident_id=incident.id,
        actor="@bob",
        kind="retry",
        operation="retry",
        ok=True,
        summary="done",
        now=T0,
    )
    any_store.add_audit(
        incident_id=None,
        actor="@bob",
        kind="mute",
        operation="mute",
        ok=True,
        summary="muted",
        now=T0 + timedelta(minutes=1),
    )
    browse = Browse(any_store)

    assert [a.kind for a in browse.audit(limit=5)] == ["mute", "retry"]
    assert [a.kind for a in browse.audit(limit=5, fixes_only=True)] == ["retry"]
