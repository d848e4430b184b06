"""The Docker client against tests/fake_docker.py.

No Docker engine runs here, so the engine is the one fake in these tests: a small
HTTP server speaking the Engine API's JSON on a unix socket in tmp_path (or on a
loopback TCP port), exactly where the real client connects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from adminbot.actions.containers import DockerError
from adminbot.actions.docker import DockerClient
from tests.fake_docker import FakeDockerEngine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[FakeDockerEngine]:
    with FakeDockerEngine(tmp_path / "docker.sock", restart_delay=0.2) as fake:
        yield fake


@pytest.fixture
def client(engine: FakeDockerEngine) -> DockerClient:
    return DockerClient(socket_path=str(engine.socket_path), timeout=2.0)


async def test_inspect_reports_a_running_container(
    engine: FakeDockerEngine, client: DockerClient
) -> None:
    engine.add("bot-api", health="healthy", started_at="2024-05-01T10:00:00Z")

    state = await client.inspect("bot-api")

    assert state.name == "bot-api"
    assert state.status == "running"
    assert state.running is True
    assert state.health == "healthy"
    assert state.started_at == "2024-05-01T10:00:00Z"
    assert engine.requests == [("GET", "/containers/bot-api/json")]


async def test_inspect_of_an_unknown_container_says_missing(client: DockerClient) -> None:
    state = await client.inspect("nope")

    assert state.status == "missing"
    assert state.running is False


async def test_restart_sends_the_stop_wait_and_the_container_comes_back(
    engine: FakeDockerEngine, client: DockerClient
) -> None:
    engine.add("bot-api")

    await client.restart("bot-api", wait_seconds=3)
    during = await client.inspect("bot-api")
    await asyncio.sleep(0.3)
    after = await client.inspect("bot-api")

    assert ("POST", "/containers/bot-api/restart?t=3") in engine.requests
    assert during.status == "restarting"
    assert after.running is True
    assert after.status == "running"


async def test_restart_of_a_missing_container_is_a_permanent_error(
    client: DockerClient,
) -> None:
    with pytest.raises(DockerError) as caught:
        await client.restart("nope")

    assert caught.value.permanent is True
    assert "no such container" in caught.value.message


async def test_engine_error_on_restart_is_transient(
    engine: FakeDockerEngine, client: DockerClient
) -> None:
    engine.add("bot-api")
    engine.restart_status = 500

    with pytest.raises(DockerError) as caught:
        await client.restart("bot-api")

    assert caught.value.permanent is False
    assert "500" in caught.value.message
    assert "Something went wrong." in caught.value.message


async def test_engine_down_raises_a_transient_docker_error(tmp_path: Path) -> None:
    client = DockerClient(socket_path=str(tmp_path / "absent.sock"), timeout=1.0)

    with pytest.raises(DockerError) as caught:
        await client.inspect("bot-api")

    assert caught.value.permanent is False
    assert "not reachable" in caught.value.message
    assert await client.ping() is False


@pytest.mark.parametrize(
    "name", ["../images", "a/b", "-rm", "", "a b", "x" * 200, "bot?all=1", "bot\n"]
)
async def test_invalid_container_names_never_reach_the_engine(
    engine: FakeDockerEngine, client: DockerClient, name: str
) -> None:
    with pytest.raises(DockerError) as caught:
        await client.restart(name)

    assert caught.value.permanent is True
    assert engine.requests == []


async def test_ping_answers_over_the_socket(client: DockerClient) -> None:
    assert await client.ping() is True


async def test_a_loopback_tcp_base_url_works() -> None:
    with FakeDockerEngine(restart_delay=0) as engine:
        engine.add("bot-api")
        client = DockerClient(socket_path=None, base_url=engine.base_url, timeout=2.0)

        state = await client.inspect("bot-api")

    assert state.running is True


@pytest.mark.parametrize(
    "url", ["tcp://10.0.0.5:2375", "http://docker.example.com:2375", "tcp://127.0.0.1"]
)
def test_a_non_loopback_or_portless_base_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        DockerClient(socket_path=None, base_url=url)
