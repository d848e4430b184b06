"""`[[channels]]`: Apprise URLs checked at start-up, mistakes named by index, never by secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from adminbot.cli import main
from adminbot.config import ChannelWhen, load_config
from adminbot.errors import ConfigError
from adminbot.models import Severity


def write(tmp_path: Path, toml: str) -> Path:
    path = tmp_path / "adminbot.toml"
    path.write_text(toml, encoding="utf-8")
    return path


def test_a_channel_takes_its_url_from_the_environment_and_its_settings_from_the_file(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        '[[channels]]\nurl_env = "ALERT_URL"\nmin_severity = "critical"\n'
        'when = "telegram_down"\nfallback_after = "2m"\ndigest = true\n',
    )
    config = load_config({"ALERT_URL": "mailto://user:Xq9zzPw@example.com"}, cwd=tmp_path)
    (channel,) = config.channels
    assert channel.url == "mailto://user:Xq9zzPw@example.com"
    assert channel.min_severity is Severity.CRITICAL and channel.when is ChannelWhen.TELEGRAM_DOWN
    assert channel.fallback_after == 120.0 and channel.digest
    assert "Xq9zzPw" not in repr(config)


def test_an_unknown_schema_stops_start_up_naming_the_channel_by_index_not_its_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = (
        '[[channels]]\nurl = "json://127.0.0.1/x"\n[[channels]]\nurl = "nosuch://me:hunter22@x"\n'
    )
    write(tmp_path, toml)
    with pytest.raises(ConfigError) as caught:
        load_config({}, cwd=tmp_path)
    assert "channels[1].url" in str(caught.value) and "hunter22" not in str(caught.value)
    assert main(["--config", str(tmp_path / "adminbot.toml"), "channels", "test"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "channels[1]" in err and "hunter22" not in err


def test_a_channel_needs_exactly_one_of_url_and_url_env(tmp_path: Path) -> None:
    write(tmp_path, '[[channels]]\nmin_severity = "error"\n')
    with pytest.raises(ConfigError, match="exactly one of url and url_env"):
        load_config({}, cwd=tmp_path)
