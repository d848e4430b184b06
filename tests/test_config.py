"""Configuration: defaults, environment overrides, and errors that name the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adminbot.config import load_config, normalise_api_base_url
from adminbot.errors import ConfigError
from adminbot.models import Policy


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "adminbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file_keep_the_seed_tunables(tmp_path: Path) -> None:
    config = load_config({}, cwd=tmp_path)
    assert config.max_retries == 3
    assert config.backoff_delays == (1.0, 2.0, 4.0)
    assert config.verificacion_periodica == 30.0
    assert config.data_dir == tmp_path / "logs"
    assert config.demo is True
    assert config.telegram_enabled is False


def test_environment_wins_over_the_file_for_watch_and_data_dir(tmp_path: Path) -> None:
    write(tmp_path, '[watch]\npaths = ["a/*.log"]\ndata_dir = "x"\n'.replace("data_dir", "#"))
    env = {"ADMINBOT_WATCH": "/var/log/bot/*.log:rel/*.txt", "ADMINBOT_DATA_DIR": "/tmp/ab"}
    config = load_config(env, cwd=tmp_path)
    assert config.watch.patterns == ("/var/log/bot/*.log", str(tmp_path / "rel/*.txt"))
    assert config.data_dir == Path("/tmp/ab")
    assert config.demo is False


def test_full_example_file_loads(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "adminbot.example.toml"
    config = load_config({"ADMINBOT_CONFIG": str(example)}, cwd=tmp_path)
    assert config.language in ("en", "es")
    assert config.policies.get("timeout", Policy.AUTO) is Policy.AUTO


def test_admin_ids_accept_a_comma_separated_list(tmp_path: Path) -> None:
    config = load_config({"TELEGRAM_TOKEN": "1:x", "ADMIN_ID": "11, 22"}, cwd=tmp_path)
    assert config.admin_ids == frozenset({11, 22})


@pytest.mark.parametrize(
    ("text", "key", "why"),
    [
        ("max_retries = 'three'", "max_retries", "expected a number"),
        ("backoff_delays = [1, -2]", "backoff_delays[1]", ">= 0"),
        ("language = 'fr'", "language", "must be one of en, es"),
        ("timezone = 'Mars/Base'", "timezone", "unknown time zone"),
        ("[watch]\npaths = [3]", "watch.paths[0]", "non-empty string"),
        ("[watch]\npolling = 'yes'", "watch.polling", "true or false"),
        ("[policies]\ntimeout = 'sometimes'", "policies.timeout", "auto, ask, alert"),
        ("[actions]\nfolder_mode = '99z'", "actions.folder_mode", "octal"),
        ("[actions]\nretry_command = 'python main.py'", "actions.retry_command", "a list"),
        ("backof_delays = [1]", "backof_delays", "unknown key"),
        (
            "[checks]\ndisk_warn_percent = 99\ndisk_crit_percent = 90",
            "checks.disk_warn_percent",
            "above",
        ),
        ("verificacion_periodica = true", "verificacion_periodica", "got a boolean"),
    ],
)
def test_wrong_value_names_file_key_and_reason(
    tmp_path: Path, text: str, key: str, why: str
) -> None:
    path = write(tmp_path, text + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config({}, cwd=tmp_path)
    assert caught.value.key == key
    assert why in caught.value.message
    assert str(path) in str(caught.value)


def test_invalid_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    write(tmp_path, "language = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config({}, cwd=tmp_path)


def test_admin_id_must_be_numeric(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"TELEGRAM_TOKEN": "1:x", "ADMIN_ID": "@boss"}, cwd=tmp_path)
    assert caught.value.key == "ADMIN_ID"


def test_token_without_admin_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ADMIN_ID"):
        load_config({"TELEGRAM_TOKEN": "1:x"}, cwd=tmp_path)


def test_missing_explicit_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config({"ADMINBOT_CONFIG": "nope.toml"}, cwd=tmp_path)


def test_token_is_not_in_the_repr(tmp_path: Path) -> None:
    config = load_config({"TELEGRAM_TOKEN": "123:SECRET", "ADMIN_ID": "1"}, cwd=tmp_path)
    assert "SECRET" not in repr(config)


def test_cli_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    write(tmp_path, "[watch]\npaths = 'x.log'\nbackstop_seconds = -1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADMINBOT_", "TELEGRAM"))}
    result = subprocess.run(
        [sys.executable, "-m", "adminbot", "check-rules", "/dev/null"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "watch.backstop_seconds" in result.stderr
    assert "adminbot.toml" in result.stderr


@pytest.mark.parametrize(
    "given",
    [
        "http://127.0.0.1:8081",
        "http://127.0.0.1:8081/",
        "http://127.0.0.1:8081/bot",
        "http://127.0.0.1:8081/bot/",
        " http://127.0.0.1:8081/bot// ",
    ],
)
def test_every_spelling_of_the_api_base_url_becomes_the_one_ptb_needs(given: str) -> None:
    assert normalise_api_base_url(given) == "http://127.0.0.1:8081/bot"


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("127.0.0.1:8081", "http:// or https://"),
        ("http://127.0.0.1:80x81/bot", "invalid port"),
        ("https://api.telegram.org/bot123456:AAAAAAAA", "must not hold the token"),
    ],
)
def test_a_wrong_api_base_url_is_refused_without_echoing_a_token(given: str, said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        normalise_api_base_url(given)
    assert said in str(caught.value)
    assert "AAAAAAAA" not in str(caught.value)
