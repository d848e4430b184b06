"""A dashboard over ASGI on the real core with a fake clock, for the web tests."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from adminbot.config import Config, load_config
from adminbot.models import Incident, IncidentState, Match, Record, Severity, frozen_map
from adminbot.service.httpapi import HealthServer
from adminbot.service.runtime import Edges, Runtime, build_runtime
from adminbot.web.app import Dashboard
from adminbot.web.build import dashboard
from tests.clocks import FakeClock

OWNER = 4242
RESPONDER = 5151
VIEWER = 6161
STRANGER = 7777
BASE = "http://127.0.0.1:9321"


@dataclass
class Site:
    runtime: Runtime
    clock: FakeClock
    pages: Dashboard
    client: httpx.AsyncClient

    def incident(self, rule: str = "permisos", text: str = "", path: str = "") -> Incident:
        path = path or f"/srv/{rule}.mp4"
        record = Record("/log/bot.log", 1, text or f"ERROR {rule} {path}")
        match = Match(rule, Severity.ERROR, record, frozen_map({"path": path}), path)
        [event] = self.runtime.intake.submit([match])
        return event.incident

    def state(self, incident: Incident) -> IncidentState:
        found = self.runtime.store.incident(incident.id)
        assert found is not None
        return found.state

    def all_sent(self) -> None:
        """Telegram took everything queued so far (the alert is out; an edit is what follows)."""
        store = self.runtime.store
        for number, item in enumerate(store.due(self.clock.now + timedelta(days=1), limit=100)):
            assert store.claim(item.id)
            store.mark_sent(item.id, self.clock.now)
            if item.incident_id is not None and item.chat_id is not None:
                store.save_alert_message(
                    item.incident_id, item.chat_id, 100 + number, self.clock.now
                )

    async def login(self, user_id: int = OWNER) -> httpx.Response:
        assert self.runtime.web_links is not None
        link = self.runtime.web_links.mint(user_id)
        parts = urlsplit(link)
        return await self.client.get(f"{parts.path}?{parts.query}")

    async def csrf(self) -> str:
        page = await self.client.get("/")
        found = re.search(r'<meta name="csrf" content="([^"]+)">', page.text)
        assert found is not None
        return found.group(1)


def web_config(
    tmp_path: Path,
    web: str = "enabled = true",
    extra: str = "",
    env: Mapping[str, str] | None = None,
    top: str = "",
) -> Config:
    (tmp_path / "adminbot.toml").write_text(
        f"{top}\n[web]\n{web}\n[access]\nresponders = [{RESPONDER}]\nviewers = [{VIEWER}]\n{extra}",
        encoding="utf-8",
    )
    base = {
        "TELEGRAM_TOKEN": "123456:fake-token-for-tests",
        "ADMIN_ID": str(OWNER),
        "ADMINBOT_WATCH": str(tmp_path / "pipeline" / "*.log"),
        "ADMINBOT_DATA_DIR": str(tmp_path / "data"),
    }
    return load_config(base | dict(env or {}), cwd=tmp_path)


@asynccontextmanager
async def open_site(
    tmp_path: Path, extra: str = "", env: Mapping[str, str] | None = None, top: str = ""
) -> AsyncIterator[Site]:
    """The pages as the HTTP listener serves them, and a client with no session yet
    (`env`: more of the environment, such as a PostgreSQL store's URL; `top`: top-level
    settings of the configuration file)."""
    clock = FakeClock()
    config = web_config(tmp_path, extra=extra, env=env, top=top)
    runtime, _ = build_runtime(config, Edges(clock=clock, checks=[]))
    pages = dashboard(runtime)
    server = HealthServer("127.0.0.1", 0, lambda: {"store": (True, "ok")}, None, web=pages)
    transport = httpx.ASGITransport(app=server.app)
    client = httpx.AsyncClient(transport=transport, base_url=BASE)
    try:
        yield Site(runtime, clock, pages, client)
    finally:
        await client.aclose()
        await pages.close()
        runtime.intake.events.close()
        runtime.store.close()
        if runtime.lock is not None:
            runtime.lock.release()
