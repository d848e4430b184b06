"""This host's agent: its heartbeat row, and one copy per host name."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from adminbot.cli import serve
from adminbot.config import Config, load_config
from adminbot.errors import StartupError
from adminbot.service.console_mode import ConsoleFront
from adminbot.service.lifecycle import build_service
from adminbot.service.runtime import Edges, Periods
from adminbot.store.hosts import HostStore
from adminbot.store.postgres import PgStore
from tests.clocks import T0
from tests.harness import ADMIN, append, eventually
from tests.pg import PgCluster

QUICK = Periods(tick=0.05, check=0.05, heartbeat=0.05, self_watch=0.05, host_claim_wait=0.3)


def agent_config(tmp_path: Path, url: str, host: str) -> Config:
    folder = tmp_path / host
    (folder / "pipeline").mkdir(parents=True)
    (folder / "pipeline" / "bot.log").touch()
    env = {
        "ADMINBOT_WATCH": str(folder / "pipeline" / "*.log"),
        "ADMINBOT_DATA_DIR": str(folder / "data"),
        "ADMINBOT_DATABASE_URL": url,
        "ADMINBOT_HOST": host,
    }
    return load_config(env, cwd=folder)


async def test_a_second_agent_with_the_same_host_name_is_refused_at_start(
    tmp_path: Path, postgres: PgCluster
) -> None:
    url = postgres.fresh()
    first = build_service(agent_config(tmp_path, url, "b"), ConsoleFront, Edges(periods=QUICK))
    with pytest.raises(StartupError, match="another adminbot already runs as host 'b'"):
        build_service(agent_config(tmp_path / "copy", url, "b"), ConsoleFront, Edges(periods=QUICK))
    other = build_service(agent_config(tmp_path, url, "c"), ConsoleFront, Edges(periods=QUICK))
    for service in (first, other):
        service.runtime.store.close()
        assert service.runtime.lock is not None
        service.runtime.lock.release()


async def test_the_heartbeat_row_names_the_watched_files_and_the_checks(
    tmp_path: Path, postgres: PgCluster
) -> None:
    config = agent_config(tmp_path, postgres.fresh(), "b")
    service = build_service(config, ConsoleFront, Edges(periods=QUICK))
    await service.start()
    try:
        append(tmp_path / "b" / "pipeline" / "bot.log", "2026-11-30 10:00:00 INFO hello")
        service.runtime.agent.beat()
        [row] = service.runtime.hosts.hosts(service.runtime.clock())
    finally:
        await service.stop()
    assert row.name == "b"
    assert row.beat.version
    assert [f.path for f in row.beat.files] == [str(tmp_path / "b" / "pipeline" / "bot.log")]
    assert row.silent_for < 60


async def test_without_a_token_an_agent_queues_its_alerts_for_the_front_and_prints_no_banner(
    tmp_path: Path, postgres: PgCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    url = postgres.fresh()
    config = replace(agent_config(tmp_path, url, "b"), admin_ids=frozenset({ADMIN}))
    stop = asyncio.Event()
    running = asyncio.create_task(serve(config, stop=stop, edges=Edges(periods=QUICK)))
    store = PgStore(url, host="front")
    try:
        await eventually(lambda: HostStore(store).count() == 1)
        append(
            tmp_path / "b" / "pipeline" / "bot.log",
            "2026-11-30 10:00:00,000 ERROR x: PermissionError: [Errno 13] Permission denied: "
            "'/srv/b/a.mp4'",
        )
        await eventually(lambda: bool(store.due(T0 + timedelta(days=3650))))
    finally:
        stop.set()
        await running
    [item] = store.due(T0 + timedelta(days=3650))
    assert (item.kind, item.chat_id) == ("alert", ADMIN)
    incident = store.incident(item.incident_id or 0)
    assert incident is not None and incident.host == "b"
    assert "console mode" not in capsys.readouterr().out
    store.close()


async def test_an_agent_with_nobody_to_address_its_alerts_to_does_not_start(
    tmp_path: Path, postgres: PgCluster
) -> None:
    config = replace(agent_config(tmp_path, postgres.fresh(), "b"), admin_ids=frozenset())
    with pytest.raises(StartupError, match="needs ADMIN_ID or chat_id"):
        await serve(config, stop=asyncio.Event(), edges=Edges(periods=QUICK))
