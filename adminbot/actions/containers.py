"""What a Docker container's name may be, and how a Docker call fails.

Apart from the engine client (`docker.py`, which pulls in http.client and ssl) so
the configuration can check a name without loading it: every command starts faster.
"""

from __future__ import annotations

import re

CONTAINER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}")


class DockerError(Exception):
    """A Docker call failed; `permanent` says whether trying again later can help."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


def check_container_name(name: object) -> str:
    """Return `name` if it is a valid Docker container name, else raise a permanent error."""
    if not isinstance(name, str) or not CONTAINER_NAME.fullmatch(name):
        raise DockerError("invalid container name", permanent=True)
    return name
