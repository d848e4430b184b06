"""The sections about this machine: what fixes may run and touch (`[actions]`: folders,
retry command, owner, container, the command's environment), what is checked
(`[checks]`: disks, the process, log silence, the local Bot API server) and the
supervised child (`[supervise]`). Names of users, groups and containers are checked
against this machine when the configuration is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from adminbot.actions.containers import DockerError, check_container_name
from adminbot.actions.operations import group_id, template_problem, user_id
from adminbot.config.model import ActionConfig, CheckConfig, SuperviseConfig
from adminbot.config.values import _number, _resolve
from adminbot.rules.fields import KNOWN_FIELDS
from adminbot.rules.spec import RuleBook
from adminbot.tables import Table


def _actions(table: Table, cwd: Path, rules: RuleBook) -> ActionConfig:
    defaults = ActionConfig()
    workdir = table.get("workdir", str, None)
    env_file, env_passthrough = _action_env(table, cwd)
    config = ActionConfig(
        allowed_folders=_allowed_folders(table, cwd),
        retry_command=_retry_command(table, rules),
        retry_expect_path=_template(table, "retry_expect_path", rules),
        command_timeout=_number(table, "command_timeout", defaults, minimum=1.0),
        owner=_account(table, "owner", user_id),
        group=_account(table, "group", group_id),
        folder_mode=_folder_mode(table, defaults.folder_mode),
        container=_container(table),
        docker_socket=table.get("docker_socket", str, defaults.docker_socket),
        docker_url=table.get("docker_url", str, None),
        bot_api_url=_url(table, "bot_api_url"),
        quarantine_max_age_days=_number(table, "quarantine_max_age_days", defaults),
        restart_budget=table.integer("restart_budget", defaults.restart_budget),
        auto_fix_budget=table.integer("auto_fix_budget", defaults.auto_fix_budget),
        restart_budget_minutes=_number(table, "restart_budget_minutes", defaults, minimum=1),
        workdir=_resolve(workdir, cwd) if workdir else None,
        env_file=env_file,
        env_passthrough=env_passthrough,
    )
    table.reject_unknown()
    return config


def _allowed_folders(table: Table, cwd: Path) -> tuple[Path, ...]:
    folders = tuple(_resolve(p, cwd) for p in table.strings("allowed_folders"))
    if any(folder.resolve() == Path("/") for folder in folders):
        raise table.fail("allowed_folders", "the whole file system cannot be allowed")
    return folders


def _placeholders(rules: RuleBook) -> frozenset[str]:
    """Fields a log line can give: the well-known ones and the named groups of every rule."""
    groups = {name for spec in rules.classifying for name in _group_names(spec.pattern or "")}
    return frozenset(KNOWN_FIELDS) | groups


def _group_names(pattern: str) -> list[str]:
    return list(re.compile(pattern, re.IGNORECASE).groupindex)


def _retry_command(table: Table, rules: RuleBook) -> tuple[str, ...] | None:
    argv = table.get("retry_command", list, None)
    if argv is None:
        return None
    if not argv or not all(isinstance(arg, str) and arg for arg in argv):
        raise table.fail("retry_command", "expected a non-empty list of strings (an argv)")
    known = _placeholders(rules)
    for index, arg in enumerate(argv):
        problem = template_problem(arg, known, program=index == 0)
        if problem:
            raise table.fail("retry_command", problem)
    return tuple(argv)


def _template(table: Table, name: str, rules: RuleBook) -> str | None:
    value = table.get(name, str, None)
    if value:
        problem = template_problem(value, _placeholders(rules))
        if problem:
            raise table.fail(name, problem)
    return value


def _account(table: Table, name: str, lookup: Callable[[str], int | None]) -> str | None:
    """A user or group name (or numeric id) that exists on this machine."""
    value = table.get(name, (str, int), None)
    if value is None:
        return None
    text = str(value)
    if lookup(text) is None:
        kind = "user" if name == "owner" else "group"
        raise table.fail(name, f"there is no {kind} {text!r} on this machine")
    return text


def _folder_mode(table: Table, default: int) -> int:
    mode = table.get("folder_mode", str, None)
    if mode is None:
        return default
    try:
        value = int(mode, 8)
    except ValueError:
        raise table.fail(
            "folder_mode", f"expected an octal string like '0775', got {mode!r}"
        ) from None
    if not 0 <= value <= 0o7777:
        raise table.fail("folder_mode", f"must be between 0000 and 7777, got {mode!r}")
    return value


def _container(table: Table) -> str | None:
    name = table.get("container", str, None)
    if name is not None:
        try:
            check_container_name(name)
        except DockerError as exc:
            raise table.fail("container", exc.message) from None
    return name


def _url(table: Table, name: str) -> str | None:
    url = table.get(name, str, None)
    if url is not None and urlsplit(url).scheme not in ("http", "https"):
        raise table.fail(name, "must start with http:// or https://")
    return url


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OWN_SECRETS = ("TELEGRAM_TOKEN", "ADMIN_ID")


def _action_env(table: Table, cwd: Path) -> tuple[Path | None, tuple[str, ...]]:
    """`[actions] env_file` (the pipeline's .env) and `env_passthrough` (names to copy)."""
    raw = table.get("env_file", str, None)
    env_file = _resolve(raw, cwd) if raw else None
    if env_file is not None and not env_file.is_file():
        raise table.fail("env_file", f"{env_file} does not exist or is not a file")
    names = table.strings("env_passthrough")
    for index, name in enumerate(names):
        if not _ENV_NAME.fullmatch(name):
            raise table.fail(f"env_passthrough[{index}]", f"{name!r} is not a variable name")
        if name in _OWN_SECRETS or name.startswith("ADMINBOT_"):
            raise table.fail(
                f"env_passthrough[{index}]", f"{name} is adminbot's own, not the pipeline's"
            )
    return env_file, names


def _checks(table: Table, cwd: Path, env: Mapping[str, str]) -> CheckConfig:
    defaults = CheckConfig()
    pid_file = table.get("process_pid_file", str, None)
    percent = {"minimum": 0.0, "maximum": 100.0}
    config = CheckConfig(
        disk_paths=tuple(_resolve(p, cwd) for p in table.strings("disk_paths")),
        disk_warn_percent=_number(table, "disk_warn_percent", defaults, **percent),
        disk_crit_percent=_number(table, "disk_crit_percent", defaults, **percent),
        disk_warn_free_mb=table.number("disk_warn_free_mb", defaults.disk_warn_free_mb),
        disk_crit_free_mb=table.number("disk_crit_free_mb", defaults.disk_crit_free_mb),
        disk_forecast_hours=_number(table, "disk_forecast_hours", defaults, minimum=0.0),
        process_cmdline=table.get("process_cmdline", str, None),
        process_pid_file=_resolve(pid_file, cwd) if pid_file else None,
        max_log_silence_minutes=table.number("max_log_silence_minutes", None, minimum=1),
        bot_api_token=_pipeline_token(table, env),
    )
    if config.disk_warn_percent > config.disk_crit_percent:
        raise table.fail("disk_warn_percent", "must not be above disk_crit_percent")
    table.reject_unknown()
    return config


def _supervise(table: Table, cwd: Path) -> SuperviseConfig:
    defaults = SuperviseConfig()
    log_file = table.get("log_file", str, defaults.log_file)
    if "/" in log_file or log_file.startswith("."):
        raise table.fail("log_file", "must be a plain file name (it lives in the data dir)")
    workdir = table.get("workdir", str, None)
    config = SuperviseConfig(
        log_file=log_file,
        workdir=_resolve(workdir, cwd) if workdir else None,
        restart_budget=table.integer("restart_budget", defaults.restart_budget),
        restart_budget_minutes=_number(table, "restart_budget_minutes", defaults, minimum=1),
        stop_timeout=_number(table, "stop_timeout", defaults, minimum=1),
    )
    table.reject_unknown()
    return config


def _pipeline_token(table: Table, env: Mapping[str, str]) -> str | None:
    """The value of the environment variable `[checks] bot_api_token_env` names."""
    name = table.get("bot_api_token_env", str, None)
    if name is None:
        return None
    value = env.get(name, "").strip()
    if not value:
        raise table.fail("bot_api_token_env", f"the environment variable {name} is not set")
    return value
