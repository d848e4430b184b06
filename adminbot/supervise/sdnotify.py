"""Tell systemd how adminbot is doing (the sd_notify protocol), without a dependency.

systemd passes a datagram socket in `NOTIFY_SOCKET`; a service with Type=notify
sends "READY=1" once it works, "WATCHDOG=1" at least every half WatchdogSec, and
"STOPPING=1" when it shuts down. Outside systemd the variable is unset and every
call is a no-op returning False, so callers never need to know where they run.
A send never blocks and never raises: systemd being busy must not stall the bot.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

logger = logging.getLogger(__name__)

SOCKET_VARIABLE = "NOTIFY_SOCKET"
# What a supervised child must not inherit: with these it could pose as us.
NOTIFY_VARIABLES = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


def notify(state: str, env: Mapping[str, str] = os.environ) -> bool:
    """Send one state message ("READY=1", ...); True when the manager's socket took it."""
    address = env.get(SOCKET_VARIABLE, "")
    if not address:
        return False
    if address.startswith("@"):
        # Linux abstract namespace: the name starts with a NUL byte, not a path.
        target = "\0" + address[1:]
    elif address.startswith("/"):
        target = address
    else:
        logger.warning("%s=%r is neither a path nor an abstract name", SOCKET_VARIABLE, address)
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.setblocking(False)
        try:
            sock.connect(target)
            sock.sendall(state.encode("utf-8"))
        except OSError as exc:
            logger.warning("cannot notify systemd at %s: %s", address, exc)
            return False
    return True


def ready(env: Mapping[str, str] = os.environ) -> bool:
    """Startup finished: systemd marks the unit active and starts its dependents."""
    return notify("READY=1", env)


def stopping(env: Mapping[str, str] = os.environ) -> bool:
    """Shutdown began, so systemd does not read the pause before exit as a hang."""
    return notify("STOPPING=1", env)


def watchdog_ping(env: Mapping[str, str] = os.environ) -> bool:
    """Prove the event loop still runs; without it systemd restarts us after WatchdogSec."""
    return notify("WATCHDOG=1", env)


def status(text: str, env: Mapping[str, str] = os.environ) -> bool:
    """One line shown by `systemctl status`; newlines would end the message, so they go."""
    line = " ".join(text.split())
    return notify(f"STATUS={line}", env)


def watchdog_interval(env: Mapping[str, str] = os.environ) -> float | None:
    """Seconds between watchdog pings (half of WatchdogSec), or None when no watchdog is on.

    WATCHDOG_PID, when set, names the process that must ping; a child that inherited
    the variables must stay silent, as sd_watchdog_enabled(3) does.
    """
    raw = env.get("WATCHDOG_USEC", "")
    if not raw:
        return None
    try:
        usec = int(raw)
    except ValueError:
        logger.warning("WATCHDOG_USEC=%r is not a number; no watchdog pings", raw)
        return None
    if usec <= 0:
        return None
    pid = env.get("WATCHDOG_PID", "")
    if pid:
        try:
            owner = int(pid)
        except ValueError:
            logger.warning("WATCHDOG_PID=%r is not a number; no watchdog pings", pid)
            return None
        if owner != os.getpid():
            return None
    return usec / 1_000_000 / 2
