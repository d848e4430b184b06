"""On PostgreSQL a queued message wakes the front on any host at once (NOTIFY), at commit."""

from __future__ import annotations

import threading

from adminbot.notify.outbox import ALERT
from adminbot.store.postgres import OutboxListener, PgStore
from tests.clocks import T0
from tests.pg import PgCluster


def test_a_message_queued_on_one_host_wakes_the_listener_on_another(postgres: PgCluster) -> None:
    url = postgres.fresh()
    woken = threading.Event()
    listener = OutboxListener(url, woken.set)
    agent = PgStore(url, host="b", migrate_schema=False)
    listener.start()
    try:
        assert listener.listening.wait(10)
        with agent.transaction():
            agent.enqueue(ALERT, {}, T0, chat_id=1, incident_id=1)
            assert not woken.wait(0.3)  # not before the row is committed
        assert woken.wait(10)
    finally:
        listener.stop()
        agent.close()


def test_a_listener_stops_within_seconds(postgres: PgCluster) -> None:
    listener = OutboxListener(postgres.fresh(), lambda: None)
    listener.start()
    assert listener.listening.wait(10)
    listener.stop()
    assert not listener.listening.is_set()
