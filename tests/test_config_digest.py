"""`[digest]`: off by default, a time of day in the configured zone, a wrong value named."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from adminbot.config import load_config
from adminbot.errors import ConfigError
from tests.test_e2e_startup import adminbot, clean_env


def write(tmp_path: Path, text: str) -> None:
    (tmp_path / "adminbot.toml").write_text(text, encoding="utf-8")


def test_the_digest_is_off_by_default_and_its_chart_on(tmp_path: Path) -> None:
    config = load_config({}, cwd=tmp_path)
    assert config.digest.at is None and config.digest.chart is True


def test_the_digest_time_and_chart_are_read(tmp_path: Path) -> None:
    write(tmp_path, 'timezone = "Europe/Madrid"\n[digest]\nat = "09:30"\nchart = false\n')
    config = load_config({}, cwd=tmp_path)
    assert (config.digest.at, config.digest.chart) == (time(9, 30), False)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[digest]\nat = "9am"\n', "digest.at"),
        ('[digest]\nat = "25:00"\n', "digest.at"),
        ("[digest]\nat = 9\n", "digest.at"),
        ('[digest]\nchart = "yes"\n', "digest.chart"),
        ('[digest]\nevery = "1d"\n', "digest.every"),
    ],
)
def test_a_wrong_digest_value_names_its_key(tmp_path: Path, text: str, key: str) -> None:
    write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config({}, cwd=tmp_path)
    assert caught.value.key == key


def test_a_wrong_digest_time_stops_the_start_with_one_line_and_status_2(tmp_path: Path) -> None:
    write(tmp_path, '[digest]\nat = "nine"\n')
    outcome = adminbot(tmp_path, "run", env=clean_env(tmp_path))
    assert outcome.code == 2
    assert outcome.stderr.count("\n") == 1
    assert "digest.at" in outcome.stderr and "09:00" in outcome.stderr
