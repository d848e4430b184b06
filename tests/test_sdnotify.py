"""sd_notify against a real AF_UNIX datagram socket, standing in for systemd."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from adminbot.supervise import sdnotify


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[tuple[socket.socket, dict[str, str]]]:
    """A listening datagram socket and the environment systemd would give us."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    try:
        yield sock, {"NOTIFY_SOCKET": str(path)}
    finally:
        sock.close()


def test_ready_watchdog_and_stopping_reach_the_manager(
    manager: tuple[socket.socket, dict[str, str]],
) -> None:
    sock, env = manager

    assert sdnotify.ready(env) is True
    assert sdnotify.watchdog_ping(env) is True
    assert sdnotify.stopping(env) is True

    assert [sock.recv(4096) for _ in range(3)] == [b"READY=1", b"WATCHDOG=1", b"STOPPING=1"]


def test_status_is_sent_on_one_line(manager: tuple[socket.socket, dict[str, str]]) -> None:
    sock, env = manager

    assert sdnotify.status("watching 2 files\n1 incident open", env) is True

    assert sock.recv(4096) == b"STATUS=watching 2 files 1 incident open"


def test_abstract_namespace_socket_works() -> None:
    name = f"adminbot-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)

        assert sdnotify.ready({"NOTIFY_SOCKET": "@" + name}) is True
        assert sock.recv(4096) == b"READY=1"


def test_unset_socket_is_a_silent_no_op() -> None:
    assert sdnotify.ready({}) is False
    assert sdnotify.notify("READY=1", {"NOTIFY_SOCKET": ""}) is False


def test_a_socket_nobody_listens_on_is_reported_not_raised(tmp_path: Path) -> None:
    assert sdnotify.ready({"NOTIFY_SOCKET": str(tmp_path / "gone")}) is False


def test_an_unsupported_address_is_refused() -> None:
    assert sdnotify.ready({"NOTIFY_SOCKET": "vsock:2:1234"}) is False


def test_watchdog_interval_is_half_of_watchdog_usec() -> None:
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "60000000"}) == 30.0


def test_watchdog_interval_honours_watchdog_pid() -> None:
    ours = {"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": str(os.getpid())}
    someone_else = {"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": str(os.getpid() + 1)}

    assert sdnotify.watchdog_interval(ours) == 5.0
    assert sdnotify.watchdog_interval(someone_else) is None


@pytest.mark.parametrize("usec", ["", "0", "-5", "soon"])
def test_watchdog_interval_is_none_without_a_usable_watchdog(usec: str) -> None:
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": usec}) is None


def test_watchdog_interval_is_none_when_unset() -> None:
    assert sdnotify.watchdog_interval({}) is None
