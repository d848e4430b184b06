"""How fast is the dashboard's overview with 10,000 incidents, and what memory does the web add?

    .venv/bin/python bench/web_bench.py [--incidents 10000] [--requests 50]

Fills a fresh SQLite store (a temporary folder) with N incidents over the last 7 days
(a fifth of them open, 12 rules, 3 hosts), audit rows and transitions, then serves the
overview through the real listener (uvicorn on this loop, 127.0.0.1) to an HTTP client
with a session cookie. Server time is the time between the request and the last
byte, measured on loopback: p50 and p95 of `--requests` requests after a warm-up.
RSS added is this process's resident memory after the web modules are imported,
the dashboard built and pages served, minus the memory before (the core already
built): what `[web] enabled = true` costs. Targets: server time < 100 ms, RSS < 30 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adminbot.config import load_config
from adminbot.models import IncidentState, Match, Record, Severity, frozen_map
from adminbot.service.runtime import Edges, Runtime, build_runtime
from adminbot.store.sqlite import Store

RULES = [f"rule_{n:02d}" for n in range(12)]
HOSTS = ["media-1", "media-2", "media-3"]


def _fill(runtime: Runtime, count: int) -> None:
    """N incidents with distinct keys, their last seen spread over a week."""
    store = runtime.store
    now = datetime.now(UTC)
    batch = []
    for n in range(count):
        rule = RULES[n % len(RULES)]
        path = f"/srv/downloads/{n}.mp4"
        record = Record("/var/log/pipeline/bot.log", n + 1, f"ERROR {rule}: failed on '{path}'")
        batch.append(Match(rule, Severity.ERROR, record, frozen_map({"path": path}), path))
    with store.transaction():
        for n, match in enumerate(batch):
            when = now - timedelta(minutes=(count - n) * 7 * 24 * 60 / count)
            recorded = store.record_match(match, when, f"t{n}")
            incident_id = recorded.incident.id
            if n % 5:
                store.set_state(
                    incident_id, [IncidentState.OPEN], IncidentState.RESOLVED, "@bench", when
                )
            if n % 50 == 0:
                store.add_audit(
                    incident_id=incident_id,
                    actor="@bench",
                    kind="retry",
                    operation="retry",
                    ok=n % 100 == 0,
                    summary="retried",
                    now=when,
                )
    assert isinstance(store, Store)
    with store.connection() as db:
        db.execute(
            "UPDATE incidents SET host = CASE id % 3 WHEN 0 THEN ? WHEN 1 THEN ? ELSE ? END",
            HOSTS,
        )


async def main(count: int, requests: int) -> None:
    import httpx

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        (tmp / "pipeline").mkdir()
        (tmp / "adminbot.toml").write_text("[web]\nenabled = true\n[http]\nport = 0\n")
        env = {
            "ADMIN_ID": "4242",
            "ADMINBOT_WATCH": str(tmp / "pipeline" / "*.log"),
            "ADMINBOT_DATA_DIR": str(tmp / "data"),
        }
        runtime, _ = build_runtime(load_config(env, cwd=tmp), Edges(checks=[]))
        _fill(runtime, count)
        process = psutil.Process()
        before = process.memory_info().rss

        from adminbot.service.httpapi import HealthServer
        from adminbot.web.build import dashboard

        pages = dashboard(runtime)
        server = HealthServer("127.0.0.1", 0, dict, runtime.metrics, web=pages)
        await server.start()
        base = f"http://127.0.0.1:{server.port}"
        assert runtime.web_links is not None
        link = runtime.web_links.mint(4242).replace("http://127.0.0.1:0", base)
        timings: list[float] = []
        async with httpx.AsyncClient(base_url=base) as client:
            await client.get(link)
            for path in ("/incidents", "/audit", "/mutes", "/incidents/1", "/"):
                assert (await client.get(path)).status_code == 200
            for _ in range(requests):
                started = time.perf_counter()
                answer = await client.get("/")
                timings.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200
        after = process.memory_info().rss
        await server.stop()
        runtime.intake.events.close()
        runtime.store.close()
        if runtime.lock is not None:
            runtime.lock.release()
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(
        f"overview with {count} incidents: p50 {statistics.median(timings):.1f} ms, "
        f"p95 {p95:.1f} ms over {requests} requests (target < 100 ms)"
    )
    print(f"RSS added by the web app: {(after - before) / 2**20:.1f} MB (target < 30 MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=50)
    options = parser.parse_args()
    asyncio.run(main(options.incidents, options.requests))
