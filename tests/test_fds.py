"""Open file descriptors: the soft limit is raised at start and a check warns before it runs out."""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys

import pytest

from adminbot.checks.base import CheckReason, CheckState
from adminbot.checks.fds import FdCheck, open_descriptors


@pytest.mark.parametrize(
    ("used", "state"),
    [
        (800, CheckState.OK),
        (801, CheckState.WARNING),
        (950, CheckState.WARNING),
        (951, CheckState.CRITICAL),
    ],
)
def test_descriptors_above_80_percent_warn_and_above_95_percent_are_critical(
    used: int, state: CheckState
) -> None:
    result = asyncio.run(FdCheck(reader=lambda: (used, 1000)).run())
    assert (result.name, result.state, result.reason) == ("fds", state, CheckReason.FDS_USAGE)
    assert result.summary.startswith(f"{used} of 1000 file descriptors open")


def test_open_descriptors_counts_a_new_file() -> None:
    before, limit = open_descriptors()
    with open(__file__):
        assert open_descriptors() == (before + 1, limit)
    assert limit == resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def test_start_raises_the_soft_limit_to_the_hard_one() -> None:
    script = (
        "import json, resource\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, 512))\n"
        "from adminbot.checks.fds import raise_open_files_limit\n"
        "raised = raise_open_files_limit()\n"
        "print(json.dumps([raised, *resource.getrlimit(resource.RLIMIT_NOFILE)]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == [512, 512, 512]
