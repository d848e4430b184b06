"""uvicorn on the bot's own event loop: one task, no thread, no signal handlers of its own.

The service owns SIGINT/SIGTERM and stops the server itself, so uvicorn must not
install handlers. A client that sends half a request is answered 408 after a
deadline and a request whose head is too big 431, as the probe listener did before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

logger = logging.getLogger(__name__)

_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class _HintingConnection(h11.Connection):
    """Remembers the status h11 suggests for a malformed request (431 for a huge head)."""

    status_hint = 400

    def next_event(self) -> Any:  # h11's own return type is a private union
        try:
            return super().next_event()
        except h11.RemoteProtocolError as exc:
            self.status_hint = exc.error_status_hint
            raise


class _GuardedH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline on the first request's head."""

    read_timeout = 5.0

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.conn = _HintingConnection(h11.SERVER, config.h11_max_incomplete_event_size or 16384)
        self._deadline: asyncio.TimerHandle | None = None
        self._max_head = config.h11_max_incomplete_event_size or 16384
        self._head_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn narrows it too
        super().connection_made(transport)
        self._deadline = self.loop.call_later(self.read_timeout, self._too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._has_request():
            # h11 measures only an incomplete head; one that arrives whole is measured here.
            self._head_bytes += len(data)
            if self._head_bytes > self._max_head:
                self._refuse(431)
                return
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        if self._has_request() and self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _has_request(self) -> bool:
        cycle: object = self.cycle  # uvicorn types it as always set; it is None until a request
        return cycle is not None

    def _too_slow(self) -> None:
        if not self._has_request() and not self.transport.is_closing():
            self._refuse(408, "request not received in time\n")

    def send_400_response(self, msg: str) -> None:
        self._refuse(self.conn.status_hint if isinstance(self.conn, _HintingConnection) else 400)

    def _refuse(self, status: int, text: str = "") -> None:
        body = (text or _REASONS.get(status, b"Bad Request").decode() + "\n").encode()
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, b'Bad Request').decode()}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        self.transport.write(head.encode("latin-1") + body)
        self.transport.close()


class _LoopServer(uvicorn.Server):
    """A uvicorn server that leaves signals to the service that runs it."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


class AsgiServer:
    """Serves one ASGI app on host:port as a task of the running loop."""

    def __init__(
        self,
        app: Any,
        host: str,
        port: int,
        *,
        read_timeout: float,
        max_request_bytes: int,
        max_connections: int,
    ) -> None:
        self.host = host
        self.port = port
        protocol = type("_Guarded", (_GuardedH11,), {"read_timeout": read_timeout})
        self._config = uvicorn.Config(
            app,
            http=protocol,
            lifespan="off",
            log_config=None,
            access_log=False,
            h11_max_incomplete_event_size=max_request_bytes,
            limit_concurrency=max_connections,
            timeout_graceful_shutdown=1,
            timeout_keep_alive=5,
            server_header=False,
        )
        self._server: _LoopServer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Bind (raising OSError when the address is taken), then serve on a task."""
        if self._task is not None:
            raise RuntimeError("the HTTP server is already running")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(128)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        server = _LoopServer(self._config)
        self._server = server
        self._task = asyncio.create_task(server.serve(sockets=[sock]), name="http-server")
        ready = asyncio.ensure_future(server.ready.wait())
        await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if self._task.done():
            self._task.result()  # the reason it could not start
            raise OSError("the HTTP server stopped while starting")

    async def stop(self) -> None:
        """Stop listening, let answers in flight finish briefly, then drop the rest."""
        server, task = self._server, self._task
        self._server = self._task = None
        if server is None or task is None:
            return
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), 3)
        except TimeoutError:
            server.force_exit = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
