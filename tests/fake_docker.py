"""A fake Docker Engine API for tests.

No Docker engine runs where the tests run, so the client is exercised against this
small HTTP server instead, on a unix socket (like /var/run/docker.sock) or on a
loopback TCP port. It answers the three calls adminbot makes, in the engine's JSON
shapes: GET /containers/{name}/json, POST /containers/{name}/restart, GET /_ping.
"""

from __future__ import annotations

import json
import socketserver
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class FakeContainer:
    """One container's state; after a restart it is "restarting" until `ready_at`."""

    status: str = "running"
    running: bool = True
    started_at: str = "2024-01-01T00:00:00Z"
    health: str | None = None
    ready_at: float | None = None
    comes_back: bool = True  # False: after a restart it ends "exited" instead

    def settle(self) -> None:
        if self.ready_at is None or time.monotonic() < self.ready_at:
            return
        self.ready_at = None
        self.running = self.comes_back
        self.status = "running" if self.comes_back else "exited"
        self.started_at = datetime.now(UTC).isoformat()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self.server.engine.handle(self, "GET")

    def do_POST(self) -> None:
        self.server.engine.handle(self, "POST")

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request stderr lines (and AF_UNIX has no client address)."""

    def reply(self, status: int, body: object | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(socketserver.BaseServer):
    engine: FakeDockerEngine


class _UnixServer(socketserver.ThreadingUnixStreamServer, _Server):
    daemon_threads = True


class _TcpServer(ThreadingHTTPServer, _Server):
    daemon_threads = True


class FakeDockerEngine:
    """Serve a fake engine; use as a context manager. `requests` records (method, path)."""

    def __init__(self, socket_path: Path | None = None, *, restart_delay: float = 0.1) -> None:
        self.socket_path = socket_path
        self.restart_delay = restart_delay
        self.containers: dict[str, FakeContainer] = {}
        self.requests: list[tuple[str, str]] = []
        self.restart_status: int | None = None  # force an error answer to restarts
        self._lock = threading.Lock()
        self._server: _UnixServer | _TcpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """tcp://127.0.0.1:PORT when serving over TCP."""
        assert isinstance(self._server, _TcpServer)
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)  # an AF_INET address, never bytes
        return f"tcp://{host}:{port}"

    def add(self, name: str, **state: Any) -> FakeContainer:
        container = FakeContainer(**state)
        self.containers[name] = container
        return container

    def __enter__(self) -> FakeDockerEngine:
        if self.socket_path is not None:
            self._server = _UnixServer(str(self.socket_path), _Handler)
        else:
            self._server = _TcpServer(("127.0.0.1", 0), _Handler)
        self._server.engine = self
        # A short poll interval keeps shutdown (and so each test) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def handle(self, request: _Handler, method: str) -> None:
        url = urlsplit(request.path)
        with self._lock:
            self.requests.append((method, request.path))
            parts = url.path.strip("/").split("/")
            if method == "GET" and parts == ["_ping"]:
                request.send_response(200)
                request.send_header("Content-Length", "2")
                request.end_headers()
                request.wfile.write(b"OK")
                return
            if len(parts) == 3 and parts[0] == "containers":
                self._container_call(request, method, parts[1], parts[2], parse_qs(url.query))
                return
            request.reply(404, {"message": "page not found"})

    def _container_call(
        self, request: _Handler, method: str, name: str, verb: str, query: dict[str, list[str]]
    ) -> None:
        container = self.containers.get(name)
        if container is None:
            request.reply(404, {"message": f"No such container: {name}"})
        elif method == "GET" and verb == "json":
            container.settle()
            request.reply(200, _inspect_body(name, container))
        elif method == "POST" and verb == "restart":
            if self.restart_status is not None:
                request.reply(self.restart_status, {"message": "Something went wrong."})
                return
            int(query.get("t", ["10"])[0])  # the engine rejects a non-integer t
            container.status, container.running = "restarting", False
            container.ready_at = time.monotonic() + self.restart_delay
            request.reply(204)
        else:
            request.reply(404, {"message": "page not found"})


def _inspect_body(name: str, container: FakeContainer) -> dict[str, object]:
    state: dict[str, object] = {
        "Status": container.status,
        "Running": container.running,
        "StartedAt": container.started_at,
        "ExitCode": 0,
    }
    if container.health:
        state["Health"] = {"Status": container.health}
    return {"Id": "0" * 64, "Name": f"/{name}", "State": state}
