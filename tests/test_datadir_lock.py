"""Two adminbots on one data dir would count every line twice: the second is refused."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adminbot.store.lock import DataDirInUse, DataDirLock


def test_a_second_lock_on_the_same_data_dir_is_refused_naming_the_owner(tmp_path: Path) -> None:
    first = DataDirLock(tmp_path / "data")
    with pytest.raises(DataDirInUse) as caught:
        DataDirLock(tmp_path / "data")
    assert caught.value.key == "data_dir"
    assert f"pid {os.getpid()}" in caught.value.message
    first.release()
    DataDirLock(tmp_path / "data").release()


def _adminbot(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "adminbot", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_second_adminbot_on_one_data_dir_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADMINBOT", "TELEGRAM"))}
    env["ADMINBOT_DATA_DIR"] = str(tmp_path / "data")
    env["ADMINBOT_WATCH"] = str(tmp_path / "*.log")
    first = _adminbot(tmp_path, env)
    try:
        lock = tmp_path / "data" / "adminbot.lock"
        deadline = time.monotonic() + 20
        while not (lock.exists() and lock.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.05)
        second = _adminbot(tmp_path, env)
        _, err = second.communicate(timeout=20)
    finally:
        first.terminate()
        first.communicate(timeout=20)
    assert second.returncode == 2
    assert len(err.strip().splitlines()) == 1, err
    assert f"pid {first.pid}" in err
