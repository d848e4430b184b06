"""Retention: closed incidents, audit rows and sent messages older than keep_days are
pruned on the schedule, so the store stops growing; its size is in /status and /metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from adminbot.models import IncidentState, Match, Record, Severity, frozen_map
from adminbot.service.runtime import Periods
from adminbot.store.sqlite import Store
from tests.fake_telegram import FakeTelegram
from tests.harness import ADMIN, FAST, eventually, make_config, running_bot
from tests.test_e2e_supervise import free_port

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=120)


def _match(key: str) -> Match:
    text = f"ERROR PermissionError: [Errno 13] Permission denied: '/srv/{key}.mp4'"
    record = Record(source="/log/bot.log", line_no=1, text=text)
    return Match("permisos", Severity.ERROR, record, frozen_map({"path": key}), key)


def _incident(store: Store, key: str, at: datetime, closed: IncidentState | None) -> int:
    incident = store.record_match(_match(key), at, "tok").incident
    if closed is not None:
        store.set_state(incident.id, [IncidentState.OPEN], closed, "admin", at)
    store.add_audit(
        incident_id=incident.id,
        actor="admin",
        kind="retry",
        operation="retry",
        ok=True,
        summary="ok",
        now=at,
    )
    row = store.enqueue("alert", {}, at, chat_id=ADMIN, incident_id=incident.id)
    assert row is not None and store.claim(row)
    store.mark_sent(row, at)
    return incident.id


def test_prune_forgets_only_what_is_closed_and_old(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    old_resolved = _incident(store, "a", OLD, IncidentState.RESOLVED)
    old_ignored = _incident(store, "b", OLD, IncidentState.IGNORED)
    old_open = _incident(store, "c", OLD, None)
    new_resolved = _incident(store, "d", NOW, IncidentState.RESOLVED)
    pending = store.enqueue("notice", {"kind": "x"}, OLD, chat_id=ADMIN)

    pruned = store.prune(NOW - timedelta(days=90))

    assert (pruned.incidents, pruned.audit, pruned.outbox) == (2, 3, 3)
    assert store.incident(old_resolved) is None and store.incident(old_ignored) is None
    assert store.occurrences(old_resolved) == [] and store.transitions(old_resolved) == []
    assert store.incident(old_open) is not None and store.incident(new_resolved) is not None
    assert [a.incident_id for a in store.audit()] == [new_resolved]
    assert [item.id for item in store.due(NOW)] == [pending]
    store.close()


def test_a_store_of_many_closed_keys_shrinks_once_they_are_old(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    with store.transaction():
        for n in range(5000):
            incident = store.record_match(_match(f"key-{n}"), OLD, "tok").incident
            store.set_state(incident.id, [IncidentState.OPEN], IncidentState.RESOLVED, "x", OLD)
    before = store.size_bytes()

    store.prune(NOW - timedelta(days=90))

    after = store.size_bytes()
    assert store.count_incidents() == 0
    assert after < before / 4, (before, after)
    store.close()


async def test_the_schedule_prunes_and_status_and_metrics_show_the_store_size(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    port = free_port()
    config = make_config(tmp_path, fake_telegram, f"[http]\nenabled = true\nport = {port}\n")
    seeded = Store(config.store_path)
    old = _incident(seeded, "old", datetime.now(UTC) - timedelta(days=120), IncidentState.RESOLVED)
    seeded.close()
    periods = Periods(delivery_backoff=FAST.delivery_backoff, drain=FAST.drain, prune=0.2)
    async with running_bot(config, periods=periods) as (_, runtime):
        await eventually(lambda: runtime.store.incident(old) is None)
        mark = fake_telegram.mark()
        fake_telegram.send_text(ADMIN, "/status")
        status = await fake_telegram.await_call(
            "sendMessage", lambda c: "Store:" in c.params["text"], since=mark
        )
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    assert "closed incidents kept 90 days" in status.params["text"]
    assert "adminbot_store_bytes " in metrics
