"""Every bad start: one line on stderr, exit status 2, never a traceback, never the token.

Each case runs `python -m adminbot` as a subprocess with a clean environment that
holds a real-looking TELEGRAM_TOKEN, then searches everything adminbot wrote
(stdout, stderr, every file under the test folder: monitor.log,
descarga_errors.json, pipeline.log, the store) for the token.

Allowed on stderr besides the one `adminbot: …` line: nothing. A start-up that fails
stops before any warning could be printed, so a stray warning is a failure too.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fake_telegram import FakeTelegram

SECRET = "987654321:AAF-secretSecretSecretSecretSecret_x"
"""The token adminbot is given; the fake Bot API knows another one, so it is rejected."""

RUN_SECONDS = 30.0


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Only what a user's shell would have, plus the test's variables."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "ADMINBOT_DATA_DIR": str(tmp_path / "data"),
    }
    env.update(extra)
    return env


def adminbot(tmp_path: Path, *args: str, env: Mapping[str, str]) -> Outcome:
    """Run adminbot to its end (a start that does not fail is stopped with SIGINT)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "adminbot", *args],
        cwd=tmp_path,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = process.communicate(timeout=RUN_SECONDS)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=RUN_SECONDS)
        pytest.fail(f"adminbot did not stop on its own:\nstdout:\n{out}\nstderr:\n{err}")
    return Outcome(process.returncode, out, err)


def assert_token_nowhere(tmp_path: Path, *texts: str, token: str = SECRET) -> None:
    """Neither the outputs nor any file adminbot wrote hold the token."""
    for text in texts:
        assert token not in text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), f"the token is in {path}"


def assert_refused(outcome: Outcome, tmp_path: Path, *words: str) -> str:
    """Exit 2, one line on stderr naming the problem, no traceback, no token."""
    lines = outcome.stderr.splitlines()
    assert outcome.code == 2, outcome.stderr
    assert len(lines) == 1, outcome.stderr
    assert lines[0].startswith("adminbot: "), lines[0]
    assert "Traceback" not in outcome.stdout + outcome.stderr
    for word in words:
        assert word in lines[0]
    assert_token_nowhere(tmp_path, outcome.stdout, outcome.stderr)
    return lines[0]


@pytest.fixture
def telegram_env(tmp_path: Path, fake_telegram: FakeTelegram) -> dict[str, str]:
    """Telegram mode against the fake, which accepts the token it knows, not SECRET."""
    return clean_env(
        tmp_path,
        TELEGRAM_TOKEN=fake_telegram.token,
        ADMIN_ID="4242",
        TELEGRAM_API_BASE_URL=fake_telegram.base_url,
    )


@pytest.fixture
def secret_env(tmp_path: Path) -> dict[str, str]:
    """Telegram mode pointed at a closed port: the failure comes before Telegram."""
    return clean_env(
        tmp_path,
        TELEGRAM_TOKEN=SECRET,
        ADMIN_ID="4242",
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{free_port()}/bot",
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


# --- the data dir ----------------------------------------------------------------------


def test_a_data_dir_that_is_a_file_is_one_line(tmp_path: Path, secret_env: dict[str, str]) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    env = {**secret_env, "ADMINBOT_DATA_DIR": str(tmp_path / "afile")}
    assert_refused(adminbot(tmp_path, "run", env=env), tmp_path, "ADMINBOT_DATA_DIR", "afile")


def test_a_data_dir_that_cannot_be_created_is_one_line(
    tmp_path: Path, secret_env: dict[str, str]
) -> None:
    env = {**secret_env, "ADMINBOT_DATA_DIR": "/proc/adminbot-cannot-be-here"}
    assert_refused(adminbot(tmp_path, "run", env=env), tmp_path, "ADMINBOT_DATA_DIR", "/proc/")


def test_a_data_dir_from_the_toml_names_the_key(tmp_path: Path, secret_env: dict[str, str]) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    (tmp_path / "adminbot.toml").write_text('data_dir = "afile"\n', encoding="utf-8")
    env = {k: v for k, v in secret_env.items() if k != "ADMINBOT_DATA_DIR"}
    assert_refused(adminbot(tmp_path, "run", env=env), tmp_path, "data_dir", "adminbot.toml")


@pytest.mark.skipif(not Path("/sys").is_dir() or os.access("/sys", os.W_OK), reason="no /sys")
def test_a_read_only_data_dir_is_one_line(tmp_path: Path, secret_env: dict[str, str]) -> None:
    """/sys refuses new files even to root, unlike a chmod 555 folder."""
    env = {**secret_env, "ADMINBOT_DATA_DIR": "/sys"}
    assert_refused(adminbot(tmp_path, "run", env=env), tmp_path, "ADMINBOT_DATA_DIR", "/sys")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_data_dir_without_write_permission_is_one_line(
    tmp_path: Path, secret_env: dict[str, str]
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    env = {**secret_env, "ADMINBOT_DATA_DIR": str(locked)}
    try:
        assert_refused(adminbot(tmp_path, "run", env=env), tmp_path, "ADMINBOT_DATA_DIR")
    finally:
        locked.chmod(0o755)


def test_a_store_file_that_is_not_sqlite_is_one_line(
    tmp_path: Path, secret_env: dict[str, str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "adminbot.sqlite3").write_bytes(b"these are not the bytes of a database, " * 40)
    line = assert_refused(adminbot(tmp_path, "run", env=secret_env), tmp_path)
    assert "adminbot.sqlite3" in line and "SQLite" in line


# --- options and the environment -------------------------------------------------------


def test_an_unknown_log_level_is_one_line(tmp_path: Path, secret_env: dict[str, str]) -> None:
    env = {**secret_env, "ADMINBOT_LOG_LEVEL": "LOUD"}
    assert_refused(adminbot(tmp_path, "run", env=env), tmp_path, "ADMINBOT_LOG_LEVEL", "LOUD")


def test_an_unknown_log_level_option_is_one_line(
    tmp_path: Path, secret_env: dict[str, str]
) -> None:
    outcome = adminbot(tmp_path, "run", "--log-level", "LOUD", env=secret_env)
    assert_refused(outcome, tmp_path, "--log-level", "LOUD")


def test_a_pipeline_command_that_does_not_exist_is_one_line(
    tmp_path: Path, secret_env: dict[str, str]
) -> None:
    outcome = adminbot(tmp_path, "run", "--", "no_such_command", "--flag", env=secret_env)
    assert_refused(outcome, tmp_path, "no_such_command")


@pytest.mark.parametrize("rate", ["0", "-5", "fast"])
def test_a_simulator_rate_that_is_not_positive_is_one_line(
    tmp_path: Path, secret_env: dict[str, str], rate: str
) -> None:
    outcome = adminbot(tmp_path, "simulate", "--rate", rate, "--duration", "1", env=secret_env)
    assert_refused(outcome, tmp_path, "--rate")


@pytest.mark.parametrize("target", ["folder", "/proc/adminbot-nowhere/x.log"])
def test_a_simulator_target_that_cannot_be_written_is_one_line(
    tmp_path: Path, secret_env: dict[str, str], target: str
) -> None:
    (tmp_path / "folder").mkdir()
    outcome = adminbot(tmp_path, "simulate", target, "--duration", "1", env=secret_env)
    assert_refused(outcome, tmp_path, target)


def test_config_given_after_the_command_is_used(tmp_path: Path, secret_env: dict[str, str]) -> None:
    (tmp_path / "mine.toml").write_text('data_dir = "mine"\n', encoding="utf-8")
    env = {k: v for k, v in secret_env.items() if k != "ADMINBOT_DATA_DIR"}
    args = ("simulate", "--config", "mine.toml", "--duration", "0.3", "--log-level", "debug")
    outcome = adminbot(tmp_path, *args, env=env)
    assert outcome.code == 0, outcome.stderr
    assert (tmp_path / "mine" / "demo" / "pipeline.log").stat().st_size > 0


def test_a_missing_config_option_file_names_the_option(
    tmp_path: Path, secret_env: dict[str, str]
) -> None:
    outcome = adminbot(tmp_path, "run", "--config", "missing.toml", env=secret_env)
    line = assert_refused(outcome, tmp_path, "--config", "missing.toml")
    assert "ADMINBOT_CONFIG" not in line


def test_a_missing_config_variable_file_names_the_variable(
    tmp_path: Path, secret_env: dict[str, str]
) -> None:
    env = {**secret_env, "ADMINBOT_CONFIG": "missing.toml"}
    assert_refused(adminbot(tmp_path, "run", env=env), tmp_path, "ADMINBOT_CONFIG", "missing.toml")


def test_an_unknown_option_is_one_line(tmp_path: Path, secret_env: dict[str, str]) -> None:
    assert_refused(adminbot(tmp_path, "run", "--loud", env=secret_env), tmp_path, "--loud")


def test_an_http_port_in_use_is_one_line(
    tmp_path: Path, secret_env: dict[str, str], busy_port: int
) -> None:
    (tmp_path / "adminbot.toml").write_text(
        f"[http]\nenabled = true\nport = {busy_port}\n", encoding="utf-8"
    )
    outcome = adminbot(tmp_path, "run", env=secret_env)
    assert_refused(outcome, tmp_path, str(busy_port), "[http] port")


# --- Telegram --------------------------------------------------------------------------


def test_a_token_telegram_rejects_is_one_line_without_the_token(
    tmp_path: Path, telegram_env: dict[str, str]
) -> None:
    env = {**telegram_env, "TELEGRAM_TOKEN": SECRET}
    outcome = adminbot(tmp_path, "--log-level", "DEBUG", "run", env=env)
    assert_refused(outcome, tmp_path, "TELEGRAM_TOKEN", "rejected")


def test_a_token_that_is_not_shaped_like_one_is_one_line(
    tmp_path: Path, telegram_env: dict[str, str]
) -> None:
    env = {**telegram_env, "TELEGRAM_TOKEN": "not a token/at all"}
    outcome = adminbot(tmp_path, "run", env=env)
    line = assert_refused(outcome, tmp_path, "TELEGRAM_TOKEN")
    assert_token_nowhere(tmp_path, outcome.stderr, token="not a token/at all")
    assert "not a token" not in line


@pytest.mark.parametrize("suffix", ["", "/", "/bot", "/bot/"])
def test_every_spelling_of_the_api_base_url_reaches_telegram(
    tmp_path: Path, fake_telegram: FakeTelegram, telegram_env: dict[str, str], suffix: str
) -> None:
    base = f"http://127.0.0.1:{fake_telegram.port}{suffix}"
    port = free_port()
    (tmp_path / "adminbot.toml").write_text(
        f"[http]\nenabled = true\nport = {port}\n", encoding="utf-8"
    )
    env = {**telegram_env, "TELEGRAM_API_BASE_URL": base, "ADMINBOT_LOG_LEVEL": "DEBUG"}
    process = subprocess.Popen(
        [sys.executable, "-m", "adminbot", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _until(lambda: fake_telegram.polling, RUN_SECONDS)  # a long poll is open: it works
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            metrics = reply.read().decode()
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=RUN_SECONDS)
    assert process.returncode == 0, err
    assert "Traceback" not in out + err
    assert_token_nowhere(tmp_path, out, err, metrics, token=fake_telegram.token)


def _until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s")
        time.sleep(0.02)
