"""A small HTTP listener for probes and Prometheus: GET /healthz and GET /metrics.

Off unless configured. It listens on loopback by default because /metrics names
files and rules, and it speaks just enough HTTP/1.1 for curl, load balancers and
Prometheus: one request per connection, no body, bounded size, and a read
deadline, so a slow or hostile client costs one task for a few seconds and
never blocks another. asyncio streams keep it in the bot's event loop, with no
thread and no new dependency.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from adminbot.service.metrics import CONTENT_TYPE, Metrics

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
MAX_REQUEST_BYTES = 8192
READ_TIMEOUT_SECONDS = 5.0
WRITE_TIMEOUT_SECONDS = 5.0
MAX_CONNECTIONS = 64

Health = Callable[[], Mapping[str, tuple[bool, str]]]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}
_JSON = "application/json"
_TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path: str


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    content_type: str
    body: bytes
    extra_headers: tuple[tuple[str, str], ...] = ()
    head_only: bool = False  # HEAD: the headers GET would send, without the body


class _Refused(Exception):
    """The request cannot be served; `status` says why."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class HealthServer:
    """Serves /healthz from `health()` and /metrics from `metrics.render()`.

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
    ) -> None:
        self.host = host
        self._port = port
        self._health = health
        self._metrics = metrics
        self.read_timeout = read_timeout
        self.max_request_bytes = max_request_bytes
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[object]] = set()

    @property
    def port(self) -> int:
        """The port listened on (the one the OS picked when 0 was asked for)."""
        return self._port

    async def start(self) -> None:
        """Bind and listen; raises OSError when the address is taken or not allowed."""
        if self._server is not None:
            raise RuntimeError("the health server is already running")
        if not _is_loopback(self.host):
            logger.warning(
                "health server listens on %s: whoever reaches it can read the metrics", self.host
            )
        self._server = await asyncio.start_server(
            self._serve, self.host, self._port, limit=self.max_request_bytes
        )
        self._port = self._server.sockets[0].getsockname()[1]
        logger.info("health server on http://%s:%s/healthz", self.host, self._port)

    async def stop(self) -> None:
        """Stop listening and drop connections still being served."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer one request on one connection, then close it."""
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            if len(self._connections) > MAX_CONNECTIONS:
                response = _text(503, "too many connections\n")
            else:
                response = await self._answer(reader)
            await _send(writer, response)
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), WRITE_TIMEOUT_SECONDS)

    async def _answer(self, reader: asyncio.StreamReader) -> _Response:
        try:
            async with asyncio.timeout(self.read_timeout):
                request = await _read_request(reader, self.max_request_bytes)
        except TimeoutError:
            return _text(408, "request not received in time\n")
        except _Refused as refused:
            return _text(refused.status, f"{_REASONS[refused.status]}\n")
        if request.method not in ("GET", "HEAD"):
            response = _text(405, "only GET is served here\n", (("Allow", "GET, HEAD"),))
        elif request.path == "/healthz":
            response = self._healthz()
        elif request.path == "/metrics" and self._metrics is not None:
            response = _Response(200, CONTENT_TYPE, self._metrics.render())
        else:
            response = _text(404, "not found\n")
        return replace(response, head_only=request.method == "HEAD")

    def _healthz(self) -> _Response:
        try:
            parts = dict(self._health())
        except Exception:  # the integrator's callable; a crash in it is itself a failure
            logger.warning("health callable failed", exc_info=True)
            body = {"status": "failing", "parts": {}, "failing": ["health"]}
            return _json(503, body)
        failing = sorted(name for name, (ok, _) in parts.items() if not ok)
        body = {
            "status": "failing" if failing else "ok",
            "parts": {
                name: {"ok": bool(ok), "detail": detail} for name, (ok, detail) in parts.items()
            },
            "failing": failing,
        }
        return _json(503 if failing else 200, body)


async def _read_request(reader: asyncio.StreamReader, max_bytes: int) -> _Request:
    """Read the request line and headers (and discard a small body); refuse what is too big.

    A body left unread would make the kernel reset the connection on close, and the
    client could lose our answer, so a declared body is read if it fits.
    """
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as exc:
        raise _Refused(431) from exc
    except asyncio.IncompleteReadError as exc:
        raise _Refused(400) from exc
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _Refused(400)
    method, target, _ = parts
    length = 0
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "content-length":
            try:
                length = int(value.strip())
            except ValueError as exc:
                raise _Refused(400) from exc
    if length < 0:
        raise _Refused(400)
    if length > max_bytes:
        raise _Refused(413)
    if length:
        try:
            await reader.readexactly(length)
        except asyncio.IncompleteReadError as exc:
            raise _Refused(400) from exc
    return _Request(method=method, path=target.split("?", 1)[0])


async def _send(writer: asyncio.StreamWriter, response: _Response) -> None:
    reason = _REASONS.get(response.status, "")
    headers = [
        ("Content-Type", response.content_type),
        ("Content-Length", str(len(response.body))),
        ("Cache-Control", "no-store"),
        ("Connection", "close"),
        *response.extra_headers,
    ]
    head = f"HTTP/1.1 {response.status} {reason}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
    writer.write(head.encode("latin-1") + (b"" if response.head_only else response.body))
    try:
        # A client that never reads must not pin the task either.
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT_SECONDS)
    except (ConnectionError, TimeoutError) as exc:
        logger.debug("health client went away: %s", exc)


def _text(status: int, text: str, headers: tuple[tuple[str, str], ...] = ()) -> _Response:
    return _Response(status, _TEXT, text.encode("utf-8"), headers)


def _json(status: int, body: object) -> _Response:
    return _Response(status, _JSON, json.dumps(body, ensure_ascii=False).encode("utf-8"))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
