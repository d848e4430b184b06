"""Configuration: defaults, environment overrides, and errors that name the key."""

from __future__ import annotations

import grp
import os
import pwd
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
    write(tmp_path, 'data_dir = "from-file"\n[watch]\npaths = ["a/*.log"]\n')
    assert load_config({}, cwd=tmp_path).data_dir == tmp_path / "from-file"
    env = {"ADMINBOT_WATCH": "/var/log/bot/*.log:rel/*.txt", "ADMINBOT_DATA_DIR": "/tmp/ab"}
    config = load_config(env, cwd=tmp_path)
    assert config.watch.patterns == ("/var/log/bot/*.log", str(tmp_path / "rel/*.txt"))
    assert config.data_dir == Path("/tmp/ab")
    assert config.demo is False


def test_full_example_file_loads(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "adminbot.example.toml"
    config = load_config({"ADMINBOT_CONFIG": str(example)}, cwd=tmp_path)
    assert config.language in ("en", "es")
    assert config.rules["timeout"].policy is Policy.AUTO
    assert config.rules["proceso_caido"].policy is Policy.AUTO


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
        ("[watch]\nclassify_process = 1", "watch.classify_process", "true or false"),
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
        ("[checks]\ndisk_forecast_hours = -1", "checks.disk_forecast_hours", "at least 0"),
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


def test_zero_is_honoured_where_a_setting_allows_it(tmp_path: Path) -> None:
    write(
        tmp_path,
        "[actions]\nquarantine_max_age_days = 0\nrestart_budget = 0\n"
        "[checks]\ndisk_warn_percent = 0\ndisk_crit_percent = 0\ndisk_forecast_hours = 0\n"
        "[alerts]\nedit_throttle_seconds = 0\n",
    )
    config = load_config({}, cwd=tmp_path)
    assert config.actions.quarantine_max_age_days == 0.0
    assert config.actions.restart_budget == 0
    assert config.checks.disk_warn_percent == 0.0
    assert config.checks.disk_crit_percent == 0.0
    assert config.checks.disk_forecast_hours == 0.0  # the forecast is off
    assert config.alerts.edit_throttle_seconds == 0.0


def test_defaults_apply_only_to_settings_left_out(tmp_path: Path) -> None:
    write(tmp_path, "[actions]\nallowed_folders = ['/srv']\n")
    config = load_config({}, cwd=tmp_path)
    assert config.actions.quarantine_max_age_days == 14.0
    assert config.actions.command_timeout == 120.0
    assert config.checks.disk_warn_percent == 85.0
    assert config.checks.disk_crit_percent == 95.0
    assert config.checks.disk_forecast_hours == 6.0


def test_the_old_unmatched_errors_setting_only_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path, "[alerts]\nunmatched_errors = true\n")
    with caplog.at_level("WARNING"):
        config = load_config({}, cwd=tmp_path)
    assert not hasattr(config.alerts, "unmatched_errors")
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "alerts.unmatched_errors" in warnings[0] and "\n" not in warnings[0]


def test_rules_policies_and_disabled_names_become_one_rule_book(tmp_path: Path) -> None:
    write(
        tmp_path,
        "disabled_rules = ['corrupto']\n"
        "[policies]\npermisos = 'alert'\nproceso_caido = 'ask'\nbloqueo = 'ask'\n"
        "[[rules]]\nname = 'bloqueo'\npattern = 'bot was blocked'\n",
    )
    rules = load_config({}, cwd=tmp_path).rules
    assert next(iter(rules)) == "bloqueo" and "corrupto" not in rules
    assert rules["permisos"].policy is Policy.ALERT
    assert rules["proceso_caido"].policy is Policy.ASK
    assert rules["bloqueo"].policy is Policy.ASK and rules["bloqueo"].fixes == ()
    assert rules["timeout"].policy is Policy.AUTO


LOADER_MISTAKES = [
    (
        "[actions]\nretry_command = ['python', 'main.py', '{chat_id}']",
        "actions.retry_command",
        "unknown placeholder {chat_id}",
    ),
    ("[actions]\nowner = 'no-such-user-here'", "actions.owner", "no user 'no-such-user-here'"),
    ("[actions]\ngroup = 'no-such-group-here'", "actions.group", "no group 'no-such-group-here'"),
    ("disabled_rules = ['timout']", "disabled_rules", "'timout' names no rule"),
    ("[policies]\ntimout = 'ask'", "policies.timout", "names no rule"),
    ("[checks]\ndisk_crit_percent = 101", "checks.disk_crit_percent", "at most 100"),
    ("[actions]\nrestart_budget = 1.5", "actions.restart_budget", "an integer"),
    ("[actions]\ncommand_timeout = 0", "actions.command_timeout", "at least 1"),
    ("[actions]\nallowed_folders = ['/']", "actions.allowed_folders", "whole file system"),
    ("[actions]\ncontainer = '../etc'", "actions.container", ""),
    ("[[rules]]\nname = 'x'\npattern = '('", "rules[0].pattern", "invalid regular expression"),
]


@pytest.mark.parametrize(("text", "key", "why"), LOADER_MISTAKES)
def test_every_mistake_the_loader_can_see_names_file_and_key(
    tmp_path: Path, text: str, key: str, why: str
) -> None:
    path = write(tmp_path, text + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config({}, cwd=tmp_path)
    assert caught.value.key == key
    assert why in caught.value.message
    assert caught.value.file == str(path)


def test_a_placeholder_named_by_a_custom_rule_group_is_known(tmp_path: Path) -> None:
    write(
        tmp_path,
        "[actions]\nretry_command = ['python', 'main.py', '{chat_id}']\n"
        "[[rules]]\nname = 'chat'\npattern = 'chat (?P<chat_id>\\d+) failed'\n",
    )
    config = load_config({}, cwd=tmp_path)
    assert config.actions.retry_command == ("python", "main.py", "{chat_id}")


def test_owner_and_group_that_exist_here_are_accepted(tmp_path: Path) -> None:
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    write(tmp_path, f"[actions]\nowner = '{user}'\ngroup = '{group}'\n")
    config = load_config({}, cwd=tmp_path)
    assert (config.actions.owner, config.actions.group) == (user, group)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[actions]\nretry_command = ['python', 'main.py', '{chat_id}']", "actions.retry_command"),
        ("[actions]\nowner = 'no-such-user-here'", "actions.owner"),
        ("[actions]\ngroup = 'no-such-group-here'", "actions.group"),
        ("disabled_rules = ['timout']", "disabled_rules"),
    ],
)
def test_run_with_a_mistake_exits_2_with_one_line(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text + "\n")
    result = _adminbot(tmp_path, "run")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert str(path) in result.stderr and f"{key}:" in result.stderr


def test_run_with_the_old_unmatched_errors_setting_warns_in_one_line(tmp_path: Path) -> None:
    write(tmp_path, "[alerts]\nunmatched_errors = true\n")
    result = _adminbot(tmp_path, "check-rules", "/dev/null")
    assert result.returncode == 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "unmatched_errors" in line]
    assert len(lines) == 1


def _adminbot(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADMINBOT_", "TELEGRAM"))}
    return subprocess.run(
        [sys.executable, "-m", "adminbot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


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


def test_close_inactive_is_five_minutes_by_default_and_read_as_a_duration(
    tmp_path: Path,
) -> None:
    assert load_config({}, cwd=tmp_path).watch.close_inactive == 300.0
    write(tmp_path, '[watch]\nclose_inactive = "90s"\n')
    assert load_config({}, cwd=tmp_path).watch.close_inactive == 90.0
    write(tmp_path, '[watch]\nclose_inactive = "1.5h"\n')
    assert load_config({}, cwd=tmp_path).watch.close_inactive == 5400.0


def test_big_batches_are_classified_in_a_second_process_unless_turned_off(
    tmp_path: Path,
) -> None:
    assert load_config({}, cwd=tmp_path).watch.classify_process is True
    write(tmp_path, "[watch]\nclassify_process = false\n")
    assert load_config({}, cwd=tmp_path).watch.classify_process is False


@pytest.mark.parametrize("value", ['"5 minutes"', '"5"', '"-1m"', "300"])
def test_close_inactive_that_is_no_duration_names_the_key(tmp_path: Path, value: str) -> None:
    write(tmp_path, f"[watch]\nclose_inactive = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config({}, cwd=tmp_path)
    assert caught.value.key == "watch.close_inactive"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [('"1h"', 3600), ('"30m"', 1800), ('"90s"', 90), ('"2d"', 172800), ("0", 0), ('"0"', 0)],
)
def test_kinds_warmup_takes_a_period_or_zero(tmp_path: Path, value: str, seconds: int) -> None:
    write(tmp_path, f"[kinds]\nwarmup = {value}\n")
    assert load_config({}, cwd=tmp_path).kinds.warmup.total_seconds() == seconds


def test_kinds_warmup_is_an_hour_on_a_new_host(tmp_path: Path) -> None:
    assert load_config({}, cwd=tmp_path).kinds.warmup.total_seconds() == 3600


@pytest.mark.parametrize("value", ['"soon"', '"-1h"', "true", '"1w"', "120", '"120"'])
def test_a_wrong_kinds_warmup_names_the_key(tmp_path: Path, value: str) -> None:
    write(tmp_path, f"[kinds]\nwarmup = {value}\n")
    with pytest.raises(ConfigError, match=r"kinds\.warmup"):
        load_config({}, cwd=tmp_path)


def test_quiet_hours_reminders_and_roles_are_read(tmp_path: Path) -> None:
    write(
        tmp_path,
        '[alerts]\nquiet_hours = "23:00-07:00"\nquiet_mode = "digest"\n'
        'remind_after = "10m"\nremind_every = "2h"\n'
        "[access]\nresponders = [11]\nviewers = [12, 13]\n",
    )
    config = load_config({"ADMIN_ID": "10"}, cwd=tmp_path)
    assert (config.alerts.quiet_hours, config.alerts.quiet_mode) == ("23:00-07:00", "digest")
    assert (config.alerts.remind_after, config.alerts.remind_every) == (600.0, 7200.0)
    assert config.alert_chats == {10, 11, 12, 13}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[alerts]\nquiet_hours = "late"\n', "alerts.quiet_hours"),
        ('[alerts]\nquiet_mode = "loud"\n', "alerts.quiet_mode"),
        ("[alerts]\nremind_after = 15\n", "alerts.remind_after"),
        ('[access]\nviewers = ["ana"]\n', "access.viewers[0]"),
    ],
)
def test_a_wrong_quiet_reminder_or_role_value_names_its_key(
    tmp_path: Path, text: str, key: str
) -> None:
    write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config({}, cwd=tmp_path)
    assert caught.value.key == key


@pytest.mark.parametrize(
    ("value", "expected"), [(None, "none"), ("type", "type"), ("host", "host")]
)
def test_forum_topics_are_off_by_default_and_read_per_type_or_host(
    tmp_path: Path, value: str | None, expected: str
) -> None:
    write(tmp_path, f'[alerts]\ntopics = "{value}"\n' if value else "")
    assert load_config({}, cwd=tmp_path).alerts.topics == expected


def test_an_unknown_topics_mode_names_its_key(tmp_path: Path) -> None:
    write(tmp_path, '[alerts]\ntopics = "rule"\n')
    with pytest.raises(ConfigError) as caught:
        load_config({}, cwd=tmp_path)
    assert caught.value.key == "alerts.topics"
