"""The retry command runs with the pipeline's environment, never with adminbot's."""

from __future__ import annotations

from pathlib import Path

from adminbot.service.runtime import command_environment

ADMINBOT_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/home/bot",
    "LANG": "es_ES.UTF-8",
    "LC_TIME": "es_ES.UTF-8",
    "TZ": "Europe/Madrid",
    "TELEGRAM_TOKEN": "123456789:AAHfake-token-for-tests_0123456789abcdef",
    "ADMIN_ID": "4242",
    "DATABASE_URL": "postgres://user:hunter2@db/prod",
    "OPENAI_API_KEY": "sk-abc",
    "GITHUB_PAT": "ghp_abc",
    "PRIVATE_KEY": "-----BEGIN",
    "SENTRY_DSN": "https://key@sentry.io/1",
    "TELEGRAM_API_HASH": "abc123",
    "AWS_ACCESS_KEY_ID": "AKIA",
    "HTTPS_PROXY": "http://proxy:3128",
}


def test_only_the_minimal_base_of_adminbots_environment_reaches_the_command() -> None:
    assert command_environment(ADMINBOT_ENV) == {
        "PATH": "/usr/bin:/bin",
        "HOME": "/home/bot",
        "LANG": "es_ES.UTF-8",
        "LC_TIME": "es_ES.UTF-8",
        "TZ": "Europe/Madrid",
    }


def test_the_pipelines_env_file_and_passthrough_names_are_added(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# the pipeline's own settings\nAPI_ID=12345\nAPI_HASH='abc def'\nEMPTY\nPATH=/opt/bin\n",
        encoding="utf-8",
    )
    env = command_environment(ADMINBOT_ENV, env_file=env_file, passthrough=("HTTPS_PROXY",))
    assert env["API_ID"] == "12345"
    assert env["API_HASH"] == "abc def"
    assert "EMPTY" not in env
    assert env["PATH"] == "/opt/bin"  # the pipeline's own file wins over the base
    assert env["HTTPS_PROXY"] == "http://proxy:3128"
    for secret in ("TELEGRAM_TOKEN", "DATABASE_URL", "OPENAI_API_KEY", "SENTRY_DSN"):
        assert secret not in env


def test_a_passthrough_name_adminbot_lacks_is_simply_absent() -> None:
    assert "NO_SUCH" not in command_environment(ADMINBOT_ENV, passthrough=("NO_SUCH",))
