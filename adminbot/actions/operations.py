"""What an action may do: settings, the typed Operation, and planning it from log fields.

Planning validates every parameter (paths inside the allowed folders, fields against
safe patterns, owner names) and touches nothing, so the executor in `actions` only
ever sees an Operation whose parameters are known to be safe.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import re
import shlex
import stat
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from adminbot.actions.containers import DockerError, check_container_name
from adminbot.actions.paths import (
    NO_ROOTS,
    PLACEHOLDER,
    Located,
    fill_template,
    inside,
    is_path_field,
    locate,
    looks_like_file,
    placeholders,
    safe_field,
    shown,
    shown_path,
)
from adminbot.errors import ActionRefused, ConfigError
from adminbot.models import ActionKind

logger = logging.getLogger(__name__)

_NUMERIC_ID = re.compile(r"[0-9]{1,10}")


@dataclass(frozen=True, kw_only=True)
class ActionSettings:
    """What the actions may do, from the configuration; checked when built.

    `retry_argv` is an argv template: `{name}` placeholders (whole or inside an
    argument, never in the program name) are filled from validated log fields.
    `path_base` is the folder relative paths in log lines are relative to; without it
    relative paths are refused.
    """

    allowed_roots: tuple[Path, ...]
    quarantine_dir: Path
    retry_argv: tuple[str, ...] | None = None
    retry_expect_path: str | None = None
    command_timeout: float = 120.0
    max_retries: int = 3
    backoff_delays: tuple[float, ...] = (1.0, 2.0, 4.0)
    owner: str | None = None
    group: str | None = None
    folder_mode: int = 0o775
    quarantine_max_age_days: float = 14.0
    container: str | None = None
    bot_api_url: str | None = None
    restart_verify_seconds: float = 30.0
    restart_poll_seconds: float = 1.0
    restart_wait_seconds: int = 10
    path_base: Path | None = None

    def __post_init__(self) -> None:
        _check_roots(self.allowed_roots)
        if self.retry_argv is not None:
            _check_argv_template(self.retry_argv)
        if self.retry_expect_path is not None:
            _check_template("actions.retry_expect_path", self.retry_expect_path)
        _check_numbers(self)
        if self.container is not None:
            try:
                check_container_name(self.container)
            except DockerError as exc:
                raise ConfigError("actions.container", exc.message) from None
        if self.bot_api_url is not None and urlsplit(self.bot_api_url).scheme not in (
            "http",
            "https",
        ):
            raise ConfigError("actions.bot_api_url", "must start with http:// or https://")


def _check_roots(roots: tuple[Path, ...]) -> None:
    for root in roots:
        if not Path(root).is_absolute():
            raise ConfigError("actions.allowed_folders", f"{root} is not an absolute path")
        if Path(root).resolve() == Path("/"):
            raise ConfigError("actions.allowed_folders", "the whole file system cannot be allowed")


def _check_argv_template(argv: tuple[str, ...]) -> None:
    if not argv:
        raise ConfigError("actions.retry_command", "must not be empty")
    for index, arg in enumerate(argv):
        problem = template_problem(arg, program=index == 0)
        if problem:
            raise ConfigError("actions.retry_command", problem)


def _check_template(key: str, template: str) -> None:
    problem = template_problem(template)
    if problem:
        raise ConfigError(key, problem)


def template_problem(
    template: str, known: Collection[str] | None = None, *, program: bool = False
) -> str | None:
    """What is wrong with one argument of a command template, or None.

    Only plain `{name}` placeholders are allowed, never in the program name, and
    (given `known`) only for fields a log line can give.
    """
    rest = PLACEHOLDER.sub("", template)
    if "{" in rest or "}" in rest:
        return f"only plain {{name}} placeholders are allowed: {template!r}"
    names = placeholders(template)
    if program and names:
        return "the program name cannot be a placeholder"
    unknown = sorted(names - set(known)) if known is not None else []
    if unknown:
        return (
            f"unknown placeholder {{{unknown[0]}}}: no rule gives it; "
            f"known: {', '.join(sorted(known or ()))}"
        )
    return None


def _check_numbers(settings: ActionSettings) -> None:
    checks = [
        ("actions.command_timeout", settings.command_timeout > 0, "must be positive"),
        ("max_retries", settings.max_retries >= 1, "must be at least 1"),
        ("backoff_delays", bool(settings.backoff_delays), "must not be empty"),
        ("backoff_delays", all(d >= 0 for d in settings.backoff_delays), "must be >= 0"),
        ("actions.folder_mode", 0 <= settings.folder_mode <= 0o7777, "must be 0..0o7777"),
        ("actions.restart_verify_seconds", settings.restart_verify_seconds > 0, "must be > 0"),
        ("actions.restart_poll_seconds", settings.restart_poll_seconds > 0, "must be > 0"),
        ("actions.restart_wait_seconds", 0 <= settings.restart_wait_seconds <= 600, "0..600"),
    ]
    for key, good, message in checks:
        if not good:
            raise ConfigError(key, message)


@dataclass(frozen=True)
class Operation:
    """A planned action with validated parameters; `describe()` is its exact audit text.

    uid/gid are -1 for "leave unchanged" (as os.chown); `root` is the allowed folder
    `path` lies in, from which execution walks down without following symlinks.
    """

    kind: ActionKind
    argv: tuple[str, ...] = ()
    path: Path | None = None
    target: str | None = None
    uid: int = -1
    gid: int = -1
    mode: int | None = None
    expect: Path | None = None
    root: Path | None = None

    @property
    def owner_spec(self) -> str:
        """`uid:gid`, `uid` or `:gid`, as chown takes it."""
        user = "" if self.uid < 0 else str(self.uid)
        return user if self.gid < 0 else f"{user}:{self.gid}"

    @property
    def changes_owner(self) -> bool:
        return self.uid >= 0 or self.gid >= 0

    def located(self) -> Located:
        """The checked path as the walking helpers take it."""
        if self.path is None or self.root is None:
            raise ActionRefused(f"{self.kind} has no checked path")
        return Located(raw=self.path, real=self.path, root=self.root)

    def describe(self) -> str:
        """Return the exact human and audit description, e.g. `chown 1000:1000 /srv/a.mp4`."""
        path = shlex.quote(str(self.path)) if self.path else ""
        run = f"run {shlex.join(self.argv)}"
        if self.expect:
            run += f" and expect {shlex.quote(str(self.expect))}"
        if self.kind is ActionKind.RETRY:
            return run
        if self.kind is ActionKind.CHOWN:
            return f"chown {self.owner_spec} {path}"
        if self.kind is ActionKind.MKDIR:
            text = f"mkdir -p -m {self.mode or 0:o} {path}"
            return f"{text} and chown {self.owner_spec}" if self.changes_owner else text
        if self.kind is ActionKind.CLEAN_RETRY:
            return f"move {path} into {shlex.quote(self.target or '')}, then {run}"
        return f"restart container {self.target}"


class Planner:
    """Turns an action kind and untrusted log fields into a validated Operation."""

    def __init__(self, settings: ActionSettings, *, docker_configured: bool) -> None:
        self.settings = settings
        self._docker_configured = docker_configured

    def plan(self, kind: ActionKind, fields: Mapping[str, str]) -> Operation:
        """Validate the action for these fields and return the operation; raise ActionRefused."""
        planners = {
            ActionKind.RETRY: self._plan_retry,
            ActionKind.CHOWN: self._plan_chown,
            ActionKind.MKDIR: self._plan_mkdir,
            ActionKind.CLEAN_RETRY: self._plan_clean_retry,
            ActionKind.QUARANTINE: self._plan_quarantine,
            ActionKind.RESTART_CONTAINER: self._plan_restart,
        }
        try:
            planner = planners[ActionKind(kind)]
        except ValueError:
            raise ActionRefused(f"unknown action {shown(str(kind))}") from None
        return planner(fields)

    def _plan_retry(self, fields: Mapping[str, str]) -> Operation:
        argv, expect = self._retry_parts(fields)
        return Operation(kind=ActionKind.RETRY, argv=argv, expect=expect)

    def _plan_chown(self, fields: Mapping[str, str]) -> Operation:
        uid, gid = self._owner_ids()
        if uid < 0 and gid < 0:
            raise ActionRefused("no owner or group is configured")
        self._need_roots()
        located = self._locate(fields.get("path"))
        _existing_not_link(located)
        return Operation(
            kind=ActionKind.CHOWN, path=located.real, root=located.root, uid=uid, gid=gid
        )

    def _plan_mkdir(self, fields: Mapping[str, str]) -> Operation:
        self._need_roots()
        value = fields.get("path")
        # A log line about a missing file names the file: create the folder it goes in.
        if isinstance(value, str) and value and looks_like_file(value):
            value = str(PurePosixPath(value).parent)
        located = self._locate(value)
        _folders_on_the_way(located)
        uid, gid = self._owner_ids()
        return Operation(
            kind=ActionKind.MKDIR,
            path=located.real,
            root=located.root,
            mode=self.settings.folder_mode,
            uid=uid,
            gid=gid,
        )

    def _plan_quarantine(self, fields: Mapping[str, str]) -> Operation:
        self._need_roots()
        located = self._locate(fields.get("path"))
        info = _existing_not_link(located)
        if not stat.S_ISREG(info.st_mode):
            raise ActionRefused(f"{shown_path(located.real)} is not a regular file")
        return Operation(
            kind=ActionKind.QUARANTINE,
            path=located.real,
            root=located.root,
            target=str(self.settings.quarantine_dir),
        )

    def _plan_clean_retry(self, fields: Mapping[str, str]) -> Operation:
        argv, expect = self._retry_parts(fields)
        self._need_roots()
        located = self._locate(fields.get("path"))
        info = _existing_not_link(located)
        if not stat.S_ISREG(info.st_mode):
            raise ActionRefused(f"{shown_path(located.real)} is not a regular file")
        return Operation(
            kind=ActionKind.CLEAN_RETRY,
            argv=argv,
            path=located.real,
            root=located.root,
            target=str(self.settings.quarantine_dir),
            expect=expect,
        )

    def _plan_restart(self, fields: Mapping[str, str]) -> Operation:
        # The container comes from the configuration only; fields are ignored on purpose.
        if not self.settings.container:
            raise ActionRefused("no container is configured")
        if not self._docker_configured:
            raise ActionRefused("Docker is not configured")
        return Operation(kind=ActionKind.RESTART_CONTAINER, target=self.settings.container)

    def _retry_parts(self, fields: Mapping[str, str]) -> tuple[tuple[str, ...], Path | None]:
        template = self.settings.retry_argv
        if not template:
            raise ActionRefused("no retry command is configured")
        expect_template = self.settings.retry_expect_path
        names = set().union(*(placeholders(arg) for arg in template))
        if expect_template:
            names |= placeholders(expect_template)
        values = {name: self._field_value(name, fields) for name in sorted(names)}
        argv = tuple(fill_template(arg, values) for arg in template)
        expect = None
        if expect_template:
            expect = self._inside(fill_template(expect_template, values))
        return argv, expect

    def _field_value(self, name: str, fields: Mapping[str, str]) -> str:
        if name not in fields:
            raise ActionRefused(f"the log line does not give {name}")
        if is_path_field(name):
            return str(self._inside(fields[name]))
        return safe_field(name, fields[name])

    def _inside(self, value: str) -> Path:
        return inside(value, self.settings.allowed_roots, base=self.settings.path_base)

    def _need_roots(self) -> None:
        """Refuse a fix on a path before reading the log's path at all when no folder is
        allowed: in a storm every new incident of an `auto` rule is planned once."""
        if not self.settings.allowed_roots:
            raise ActionRefused(NO_ROOTS)

    def _locate(self, value: str | None) -> Located:
        if value is None:
            raise ActionRefused("the log line does not give a path")
        return locate(value, self.settings.allowed_roots, base=self.settings.path_base)

    def _owner_ids(self) -> tuple[int, int]:
        owner, group = self.settings.owner, self.settings.group
        uid = _user_id(owner) if owner else -1
        gid = _group_id(group) if group else -1
        return uid, gid


def _existing_not_link(located: Located) -> os.stat_result:
    """lstat the path as written: it must exist and its last component must not be a link."""
    try:
        info = located.raw.lstat()
    except FileNotFoundError:
        raise ActionRefused(f"{shown_path(located.real)} does not exist") from None
    except OSError as exc:
        raise ActionRefused(f"cannot check {shown_path(located.real)}: {exc.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise ActionRefused(f"{shown_path(located.raw)} is a symbolic link: refused")
    return info


def _folders_on_the_way(located: Located) -> None:
    """Refuse when the root is missing or something on the way exists but is not a folder."""
    if not located.root.is_dir():
        raise ActionRefused(f"allowed folder {shown_path(located.root)} does not exist")
    current = located.root
    for part in located.parts:
        current = current / part
        try:
            info = current.lstat()
        except FileNotFoundError:
            return
        if not stat.S_ISDIR(info.st_mode):
            raise ActionRefused(f"{shown_path(current)} exists and is not a folder")


def user_id(name: str) -> int | None:
    """The uid of a user name or numeric id, or None when no such user exists here."""
    if _NUMERIC_ID.fullmatch(name):
        return int(name)
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def group_id(name: str) -> int | None:
    """The gid of a group name or numeric id, or None when no such group exists here."""
    if _NUMERIC_ID.fullmatch(name):
        return int(name)
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def _user_id(name: str) -> int:
    uid = user_id(name)
    if uid is None:
        raise ActionRefused(f"unknown user {shown(name)}")
    return uid


def _group_id(name: str) -> int:
    gid = group_id(name)
    if gid is None:
        raise ActionRefused(f"unknown group {shown(name)}")
    return gid
