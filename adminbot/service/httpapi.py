"""The HTTP listener: probes and Prometheus (/healthz, /metrics) and, when enabled, the pages.

Off unless configured. It listens on loopback by default because /metrics names
files and rules. One ASGI app on one uvicorn server, run as a task of the bot's
event loop (`httpserver.py`): a slow or hostile client costs one connection for a
few seconds and never blocks another. /healthz and /metrics never need a session;
the pages (`adminbot.web`) check their own.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Callable, Mapping
from typing import Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from adminbot.service.httpserver import AsgiServer
from adminbot.service.metrics import CONTENT_TYPE, Metrics

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
MAX_REQUEST_BYTES = 8192
READ_TIMEOUT_SECONDS = 5.0
MAX_CONNECTIONS = 64

Health = Callable[[], Mapping[str, tuple[bool, str]]]


class Pages(Protocol):
    """The web pages, mounted under the probes: an ASGI app and what to end at stop."""

    app: Starlette

    async def close(self) -> None: ...


_JSON = "application/json"
_ANY = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
"""Methods routed to the probes, which answer 405 themselves to all but GET and HEAD."""
_NO_STORE = {"Cache-Control": "no-store", "Connection": "close"}
"""Probes are one request per connection, as they always were."""


class HealthServer:
    """Serves /healthz from `health()`, /metrics from `metrics.render()`, the rest from `web`.

    `health` returns {part: (ok, detail)}; the answer is 200 when every part is
    ok and 503 naming the failing parts otherwise, so a probe can act on the
    status code alone. Port 0 picks a free port; read it back from `port`.
    """

    def __init__(
        self,
        host: str,
        port: int,
        health: Health,
        metrics: Metrics | None = None,
        *,
        read_timeout: float = READ_TIMEOUT_SECONDS,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        web: Pages | None = None,
    ) -> None:
        self.host = host
        self._web = web
        self._health = health
        self._metrics = metrics
        routes: list[BaseRoute] = [
            Route("/healthz", self._healthz, methods=_ANY),
            Route("/metrics", self._render_metrics, methods=_ANY),
        ]
        if web is not None:
            routes.append(Mount("/", app=web.app))
        self.app = Starlette(routes=routes)
        self._server = AsgiServer(
            self.app,
            host,
            port,
            read_timeout=read_timeout,
            max_request_bytes=max_request_bytes,
            max_connections=MAX_CONNECTIONS,
        )

    @property
    def port(self) -> int:
        """The port listened on (the one the OS picked when 0 was asked for)."""
        return self._server.port

    async def start(self) -> None:
        """Bind and listen; raises OSError when the address is taken or not allowed."""
        if not _is_loopback(self.host):
            logger.warning(
                "HTTP server listens on %s: whoever reaches it can read the metrics", self.host
            )
        await self._server.start()
        logger.info("HTTP server on http://%s:%s/healthz", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening and drop connections still being served."""
        await self._server.stop()
        if self._web is not None:
            await self._web.close()

    async def _healthz(self, request: Request) -> Response:
        refused = _only_get(request)
        if refused is not None:
            return refused
        try:
            parts = dict(self._health())
        except Exception:  # the integrator's callable; a crash in it is itself a failure
            logger.warning("health callable failed", exc_info=True)
            return _json(503, {"status": "failing", "parts": {}, "failing": ["health"]})
        failing = sorted(name for name, (ok, _) in parts.items() if not ok)
        body = {
            "status": "failing" if failing else "ok",
            "parts": {
                name: {"ok": bool(ok), "detail": detail} for name, (ok, detail) in parts.items()
            },
            "failing": failing,
        }
        return _json(503 if failing else 200, body)

    async def _render_metrics(self, request: Request) -> Response:
        refused = _only_get(request)
        if refused is not None:
            return refused
        if self._metrics is None:
            return PlainTextResponse("not found\n", 404, headers=_NO_STORE)
        return Response(self._metrics.render(), 200, headers=_NO_STORE, media_type=CONTENT_TYPE)


def _only_get(request: Request) -> Response | None:
    if request.method in ("GET", "HEAD"):
        return None
    headers = {**_NO_STORE, "Allow": "GET, HEAD"}
    return PlainTextResponse("only GET is served here\n", 405, headers=headers)


def _json(status: int, body: object) -> Response:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return Response(data, status, headers=_NO_STORE, media_type=_JSON)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
