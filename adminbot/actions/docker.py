"""A minimal Docker Engine API client: inspect and restart one container, nothing else.

It speaks HTTP/1.1 over the engine's unix socket (or a loopback TCP port) with the
standard library, so there is no SDK to install and no `docker` CLI to shell out to.
Blocking I/O runs in a worker thread. Container names come from the configuration,
never from a log line, and are validated before they reach a URL.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from adminbot.actions.containers import DockerError, check_container_name

logger = logging.getLogger(__name__)

DEFAULT_SOCKET = "/var/run/docker.sock"
MAX_BODY_BYTES = 1 << 20
MAX_WAIT_SECONDS = 600
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True, slots=True)
class ContainerState:
    """What the engine says about a container; status "missing" when it does not exist."""

    name: str
    status: str
    running: bool
    started_at: str | None = None
    health: str | None = None
    exit_code: int | None = None


class _UnixConnection(http.client.HTTPConnection):
    """HTTPConnection whose transport is a unix stream socket instead of TCP."""

    def __init__(self, socket_path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class DockerClient:
    """Talks to the Docker Engine API over `socket_path`, or `base_url` (tcp://127.0.0.1:2375).

    A base_url must point at a loopback address: the plain-HTTP API is root on the
    host, so reaching it over a network is refused.
    """

    def __init__(
        self,
        socket_path: str | None = DEFAULT_SOCKET,
        base_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._socket_path = socket_path
        self._tcp = _loopback_address(base_url) if base_url else None
        if self._tcp is None and not socket_path:
            raise ValueError("DockerClient needs a socket_path or a base_url")
        self._timeout = timeout

    @property
    def where(self) -> str:
        """Where the engine is expected, for messages."""
        if self._tcp:
            return f"{self._tcp[0]}:{self._tcp[1]}"
        return str(self._socket_path)

    async def inspect(self, name: str) -> ContainerState:
        """Return the container's state; a container that does not exist is status "missing"."""
        check_container_name(name)
        status, body = await self._call("GET", f"/containers/{name}/json", self._timeout)
        if status == 404:
            return ContainerState(name=name, status="missing", running=False)
        if status != 200:
            raise _http_error("inspect", status, body)
        return _state(name, _json(body))

    async def restart(self, name: str, wait_seconds: int = 10) -> None:
        """Restart the container, letting it stop for `wait_seconds` before it is killed."""
        check_container_name(name)
        if not 0 <= wait_seconds <= MAX_WAIT_SECONDS:
            raise DockerError(f"wait_seconds must be 0..{MAX_WAIT_SECONDS}", permanent=True)
        path = f"/containers/{name}/restart?t={int(wait_seconds)}"
        # The engine answers only once the container is back, so allow for the stop wait.
        status, body = await self._call("POST", path, self._timeout + wait_seconds)
        if status == 404:
            raise DockerError(f"no such container: {name}", permanent=True)
        if status != 204:
            raise _http_error("restart", status, body)
        logger.info("docker restarted container %s", name)

    async def ping(self) -> bool:
        """Return True when the engine answers /_ping."""
        try:
            status, _ = await self._call("GET", "/_ping", self._timeout)
        except DockerError:
            return False
        return status == 200

    async def _call(self, method: str, path: str, seconds: float) -> tuple[int, bytes]:
        import asyncio  # here, so that the config loader's name check does not pay for it

        return await asyncio.to_thread(self._request, method, path, seconds)

    def _request(self, method: str, path: str, timeout: float) -> tuple[int, bytes]:
        connection = self._connection(timeout)
        try:
            connection.request(method, path, headers={"Accept": "application/json"})
            response = connection.getresponse()
            body = response.read(MAX_BODY_BYTES + 1)
            if len(body) > MAX_BODY_BYTES:
                raise DockerError("Docker answer too large", permanent=False)
            return response.status, body
        except PermissionError as exc:
            raise DockerError(
                f"no permission to use the Docker socket {self.where} (add adminbot to the "
                f"docker group): {exc.strerror}",
                permanent=True,
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise DockerError(f"Docker engine not reachable at {self.where}: {reason}") from exc
        finally:
            connection.close()

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._tcp:
            return http.client.HTTPConnection(self._tcp[0], self._tcp[1], timeout=timeout)
        assert self._socket_path is not None  # checked in __init__
        return _UnixConnection(self._socket_path, timeout)


def _loopback_address(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    if parts.scheme not in ("tcp", "http") or not parts.hostname or not parts.port:
        raise ValueError("Docker base_url must look like tcp://127.0.0.1:2375")
    if parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError("Docker base_url must be a loopback address (127.0.0.1, ::1)")
    return parts.hostname, parts.port


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise DockerError("Docker answered with invalid JSON") from exc
    if not isinstance(data, dict):
        raise DockerError("Docker answered with unexpected JSON")
    return data


def _state(name: str, data: dict[str, Any]) -> ContainerState:
    state = data.get("State")
    if not isinstance(state, dict):
        raise DockerError("Docker inspect answer has no State")
    health = state.get("Health")
    return ContainerState(
        name=name,
        status=str(state.get("Status") or "unknown"),
        running=bool(state.get("Running")),
        started_at=state.get("StartedAt") or None,
        health=health.get("Status") if isinstance(health, dict) else None,
        exit_code=state.get("ExitCode") if isinstance(state.get("ExitCode"), int) else None,
    )


def _http_error(what: str, status: int, body: bytes) -> DockerError:
    message = ""
    try:
        data = json.loads(body)
        if isinstance(data, dict):
            message = str(data.get("message") or "")
    except ValueError:
        message = body[:200].decode("utf-8", errors="replace")
    # 4xx other than 404/409 means our request is wrong and will stay wrong.
    permanent = 400 <= status < 500 and status not in (404, 409)
    return DockerError(f"Docker {what} failed ({status}): {message[:200]}", permanent=permanent)
