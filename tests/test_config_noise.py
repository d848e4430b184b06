"""`[thresholds]`, `threshold` in `[[rules]]`, `[[maintenance]]` and `[[ignore]]`: read,
resolved onto the rules, and every mistake named by its key (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import time, timedelta
from pathlib import Path

import pytest

from adminbot.config import load_config
from adminbot.errors import ConfigError
from adminbot.rules.threshold import Threshold


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "adminbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_threshold_for_a_builtin_rule_lands_on_its_spec(tmp_path: Path) -> None:
    write(tmp_path, '[thresholds]\ntimeout = "5/10m"\n')
    rules = load_config({}, cwd=tmp_path).rules
    assert rules["timeout"].threshold == Threshold(5, timedelta(minutes=10))
    assert rules["permisos"].threshold is None


def test_a_custom_rule_takes_its_threshold_from_its_own_table(tmp_path: Path) -> None:
    write(
        tmp_path,
        '[[rules]]\nname = "flaky"\npattern = "flaky thing"\nthreshold = "3 / 1h"\n',
    )
    spec = load_config({}, cwd=tmp_path).rules["flaky"]
    assert spec.threshold == Threshold(3, timedelta(hours=1))


def test_scheduled_maintenance_reads_days_times_types_and_hosts(tmp_path: Path) -> None:
    write(
        tmp_path,
        "[[maintenance]]\n"
        'days = ["sat", "sun"]\nfrom = "23:30"\nto = "01:00"\ntypes = ["timeout"]\n'
        'hosts = ["web1"]\n'
        '[[maintenance]]\ndays = "mon-fri"\nfrom = "03:00"\nto = "03:15"\n'
        '[[maintenance]]\nfrom = "12:00"\nto = "12:05"\n',
    )
    weekend, weekdays, daily = load_config({}, cwd=tmp_path).maintenance
    assert weekend.days == {5, 6}
    assert (weekend.start, weekend.end) == (time(23, 30), time(1, 0))
    assert weekend.scope.rules == {"timeout"} and weekend.scope.hosts == {"web1"}
    assert weekdays.days == {0, 1, 2, 3, 4}
    assert daily.days == set(range(7)) and not daily.scope.rules


def test_ignore_patterns_are_read_with_their_rule_and_host(tmp_path: Path) -> None:
    write(tmp_path, '[[ignore]]\npattern = "tmp_cache"\nrule = "permisos"\nhost = "web1"\n')
    (entry,) = load_config({}, cwd=tmp_path).ignore
    assert (entry.pattern, entry.rule, entry.host) == ("tmp_cache", "permisos", "web1")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[thresholds]\ntimout = "5/10m"\n', "thresholds.timout"),
        ('[thresholds]\ntimeout = "5 per 10m"\n', "thresholds.timeout"),
        ('[thresholds]\ntimeout = "0/10m"\n', "thresholds.timeout"),
        ("[thresholds]\ntimeout = 5\n", "thresholds.timeout"),
        ('[[rules]]\nname = "x"\npattern = "x y"\nthreshold = "5"\n', "rules[0].threshold"),
        ('[[maintenance]]\nfrom = "25:00"\nto = "01:00"\n', "maintenance[0].from"),
        ('[[maintenance]]\nfrom = "01:00"\n', "maintenance[0].to"),
        ('[[maintenance]]\nfrom = "01:00"\nto = "01:00"\n', "maintenance[0].to"),
        ('[[maintenance]]\ndays = ["funday"]\nfrom = "1:00"\nto = "2:00"\n', "maintenance[0].days"),
        (
            '[[maintenance]]\nfrom = "1:00"\nto = "2:00"\ntypes = ["timeout", "nope"]\n',
            "maintenance[0].types[1]",
        ),
        ('[[maintenance]]\nfrom = "1:00"\nto = "2:00"\nrule = "timeout"\n', "maintenance[0].rule"),
        ('[[ignore]]\npattern = "x"\n[[ignore]]\npattern = "(unclosed"\n', "ignore[1].pattern"),
        ('[[ignore]]\npattern = "x"\nrule = "nope"\n', "ignore[0].rule"),
        ("[[ignore]]\nrule = 'timeout'\n", "ignore[0].pattern"),
    ],
)
def test_a_noise_control_mistake_names_its_key(tmp_path: Path, text: str, key: str) -> None:
    write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config({}, cwd=tmp_path)
    assert raised.value.key == key


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[thresholds]\ntimout = "5/10m"\n', "thresholds.timout"),
        ('[[ignore]]\npattern = "(unclosed"\n', "ignore[0].pattern"),
        (
            '[[maintenance]]\nfrom = "1:00"\nto = "2:00"\ntypes = ["nope"]\n',
            "maintenance[0].types[0]",
        ),
    ],
)
def test_run_with_a_noise_control_mistake_exits_2_naming_the_key(
    tmp_path: Path, text: str, key: str
) -> None:
    path = write(tmp_path, text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADMINBOT_", "TELEGRAM"))}
    result = subprocess.run(
        [sys.executable, "-m", "adminbot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert str(path) in result.stderr and f"{key}:" in result.stderr
