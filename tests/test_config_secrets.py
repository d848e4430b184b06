"""The keys that keep secrets secret and the store bounded: alert chat, command
environment, redaction, retention and heartbeat; each wrong value names its key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from adminbot.config import RedactPattern, load_config
from adminbot.errors import ConfigError


def write(tmp_path: Path, text: str) -> None:
    (tmp_path / "adminbot.toml").write_text(text, encoding="utf-8")


def test_new_keys_have_safe_defaults(tmp_path: Path) -> None:
    config = load_config({}, cwd=tmp_path)
    assert config.chat_id is None
    assert config.actions.env_file is None
    assert config.actions.env_passthrough == ()
    assert config.redact == ()
    assert config.store.keep_days == 90.0
    assert config.heartbeat.url is None


def test_chat_id_comes_from_the_file_and_the_environment_wins(tmp_path: Path) -> None:
    write(tmp_path, "chat_id = -1001\n")
    assert load_config({}, cwd=tmp_path).chat_id == -1001
    assert load_config({"ADMINBOT_CHAT_ID": "-2002"}, cwd=tmp_path).chat_id == -2002


def test_a_non_numeric_chat_id_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ADMINBOT_CHAT_ID"):
        load_config({"ADMINBOT_CHAT_ID": "@group"}, cwd=tmp_path)


def test_env_file_and_passthrough_are_read(tmp_path: Path) -> None:
    (tmp_path / "pipeline.env").write_text("API_ID=1\n", encoding="utf-8")
    write(tmp_path, '[actions]\nenv_file = "pipeline.env"\nenv_passthrough = ["HTTPS_PROXY"]\n')
    config = load_config({}, cwd=tmp_path)
    assert config.actions.env_file == tmp_path / "pipeline.env"
    assert config.actions.env_passthrough == ("HTTPS_PROXY",)


def test_a_missing_env_file_names_the_key(tmp_path: Path) -> None:
    write(tmp_path, '[actions]\nenv_file = "nope.env"\n')
    with pytest.raises(ConfigError) as caught:
        load_config({}, cwd=tmp_path)
    assert caught.value.key == "actions.env_file"
    assert "nope.env" in caught.value.message


def test_passthrough_refuses_adminbots_own_token(tmp_path: Path) -> None:
    write(tmp_path, '[actions]\nenv_passthrough = ["TELEGRAM_TOKEN"]\n')
    with pytest.raises(ConfigError, match=r"actions\.env_passthrough\[0\]"):
        load_config({}, cwd=tmp_path)


def test_redact_patterns_are_read_with_a_default_replacement(tmp_path: Path) -> None:
    write(
        tmp_path,
        '[[redact]]\npattern = "sk-[A-Za-z0-9]{20,}"\n'
        '[[redact]]\npattern = "password=\\\\S+"\nreplacement = "password=***"\n',
    )
    assert load_config({}, cwd=tmp_path).redact == (
        RedactPattern("sk-[A-Za-z0-9]{20,}", "<redacted>"),
        RedactPattern(r"password=\S+", "password=***"),
    )


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[[redact]]\npattern = "([a-z"\n', "redact[0].pattern"),
        ('[[redact]]\nreplacement = "x"\n', "redact[0].pattern"),
        ('[[redact]]\npattern = "a"\nflags = "i"\n', "redact[0].flags"),
        ("[store]\nkeep_days = -1\n", "store.keep_days"),
        ('[heartbeat]\nurl = "hc-ping.com/abc"\n', "heartbeat.url"),
        ("chat_id = 0\n", "chat_id"),
    ],
)
def test_a_wrong_value_names_its_key(tmp_path: Path, toml: str, key: str) -> None:
    write(tmp_path, toml)
    with pytest.raises(ConfigError) as caught:
        load_config({}, cwd=tmp_path)
    assert caught.value.key == key


def test_a_bad_redact_regex_is_one_line_and_exit_2(tmp_path: Path) -> None:
    write(tmp_path, '[[redact]]\npattern = "([a-z"\n')
    done = subprocess.run(
        [sys.executable, "-m", "adminbot", "check-rules", str(tmp_path / "adminbot.toml")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "redact[0].pattern" in done.stderr


def test_keep_days_zero_keeps_forever_and_heartbeat_url_is_kept(tmp_path: Path) -> None:
    write(tmp_path, '[store]\nkeep_days = 0\n[heartbeat]\nurl = "https://hc-ping.com/abc"\n')
    config = load_config({}, cwd=tmp_path)
    assert config.store.keep_days == 0.0
    assert config.heartbeat.url == "https://hc-ping.com/abc"
