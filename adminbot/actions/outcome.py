"""What a fix did, as facts: a reason per step and its figures, worded later by the views.

An outcome holds one or more notes (a clean-and-retry is "quarantined" then the retry's
own note); the plain English here is for adminbot's log, the console and the audit
table's `summary` column, never for the admin, who reads the catalog's words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from adminbot.facts import Fact, Facts, english, facts, facts_from_json, facts_to_json
from adminbot.models import ActionKind

SUMMARY_CHARS = 200


class ActionReason(StrEnum):
    """Why an action ended as it did; the catalog has a sentence for each, in each language."""

    TEXT = "text"
    REFUSED = "refused"
    DOCKER_ERROR = "docker_error"
    OS_ERROR = "os_error"
    CRASHED = "crashed"
    RETRY_OK = "retry_ok"
    RETRY_FAILED = "retry_failed"
    CHOWN_OK = "chown_ok"
    CHOWN_OK_SUDO = "chown_ok_sudo"
    CHOWN_FAILED = "chown_failed"
    SUDO_PASSWORD = "sudo_password"  # noqa: S105 - a reason code, not a password
    SUDO_DENIED = "sudo_denied"
    FOLDER_EXISTS = "folder_exists"
    FOLDERS_CREATED = "folders_created"
    FOLDERS_CREATED_PARTLY = "folders_created_partly"
    QUARANTINED = "quarantined"
    RESTART_FAILED = "restart_failed"
    CONTAINER_RESTARTED = "container_restarted"
    CONTAINER_RESTARTED_API = "container_restarted_api"
    DOCKER_LOST = "docker_lost"
    API_SILENT = "api_silent"
    CONTAINER_DOWN = "container_down"
    BUDGET_USED_UP = "budget_used_up"
    CHILD_BUDGET_USED_UP = "child_budget_used_up"
    CHILD_STOPPING = "child_stopping"
    CHILD_RESTARTED = "child_restarted"
    REMOTE_EXPIRED = "remote_expired"


class Problem(StrEnum):
    """Why one command run failed: filled into a note's `{problem}` by each renderer."""

    EXIT = "exit"
    OUTPUT = "output"
    MISSING = "missing"
    ERROR = "error"


ENGLISH: Mapping[ActionReason, str] = {
    ActionReason.TEXT: "{text}",
    ActionReason.REFUSED: "{why}",
    ActionReason.DOCKER_ERROR: "Docker: {error}",
    ActionReason.OS_ERROR: "{action} failed: {error}",
    ActionReason.CRASHED: "{action} crashed: {error}",
    ActionReason.RETRY_OK: "retry succeeded (attempt {attempt} of {attempts})",
    ActionReason.RETRY_FAILED: "retry failed after {attempt} attempt(s): {problem}",
    ActionReason.CHOWN_OK: "owner of {path} changed to {owner}",
    ActionReason.CHOWN_OK_SUDO: "owner changed to {owner} (sudo)",
    ActionReason.CHOWN_FAILED: "chown failed: {problem}",
    ActionReason.SUDO_PASSWORD: "sudo needs a password: allow adminbot to run chown without one",
    ActionReason.SUDO_DENIED: (
        "sudo does not allow adminbot to run chown: add a sudoers rule for it"
    ),
    ActionReason.FOLDER_EXISTS: "the folder already exists",
    ActionReason.FOLDERS_CREATED: "created {count} folder(s): {path}",
    ActionReason.FOLDERS_CREATED_PARTLY: "created {count} folder(s), but",
    ActionReason.QUARANTINED: "moved to quarantine: {name}",
    ActionReason.RESTART_FAILED: "restart failed: {error}",
    ActionReason.CONTAINER_RESTARTED: "container {container} restarted",
    ActionReason.CONTAINER_RESTARTED_API: "container {container} restarted and the Bot API answers",
    ActionReason.DOCKER_LOST: "restarted, but Docker stopped answering: {error}",
    ActionReason.API_SILENT: (
        "container {container} is running, but the Bot API does not answer after {seconds} s"
    ),
    ActionReason.CONTAINER_DOWN: (
        "restarted, but container {container} is {status} after {seconds} s"
    ),
    ActionReason.BUDGET_USED_UP: "automatic {action} skipped: budget used up",
    ActionReason.CHILD_BUDGET_USED_UP: (
        "restart budget used up ({budget} in {minutes} min): waiting for the admin"
    ),
    ActionReason.CHILD_STOPPING: "not restarted: adminbot is stopping",
    ActionReason.CHILD_RESTARTED: "restarted, pid {pid}",
    ActionReason.REMOTE_EXPIRED: "host {host} did not pick the fix up within {minutes} min",
}

PROBLEM_ENGLISH: Mapping[Problem, str] = {
    Problem.EXIT: "exit {exit_code}",
    Problem.OUTPUT: "exit {exit_code}: {output}",
    Problem.MISSING: "exit 0 but {missing} is missing",
    Problem.ERROR: "{error}",
}

JOINS_WITH_SPACE = frozenset({ActionReason.FOLDERS_CREATED_PARTLY})
"""Notes whose sentence goes on in the next note rather than ending with "; "."""


def problem_of(values: Facts) -> Problem | None:
    """Which kind of command failure the facts describe, if any."""
    if "error" in values:
        return Problem.ERROR
    if "missing" in values:
        return Problem.MISSING
    if "output" in values:
        return Problem.OUTPUT
    if "exit_code" in values:
        return Problem.EXIT
    return None


@dataclass(frozen=True, slots=True)
class ActionNote:
    """One step's reason and figures."""

    reason: ActionReason
    facts: Facts = field(default_factory=facts)

    def english(self) -> str:
        values: dict[str, Fact] = dict(self.facts)
        problem = problem_of(self.facts)
        if problem is not None:
            values["problem"] = english(PROBLEM_ENGLISH[problem], self.facts)
        return english(ENGLISH[self.reason], values)

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason.value, "facts": facts_to_json(self.facts)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ActionNote:
        """Read a stored note; an unknown reason (a newer version wrote it) keeps its facts."""
        try:
            reason = ActionReason(str(data.get("reason")))
        except ValueError:
            return cls(ActionReason.TEXT, facts(text=str(data.get("reason"))))
        return cls(reason, facts_from_json(data.get("facts")))


def note(reason: ActionReason, **values: Fact | None) -> tuple[ActionNote]:
    """An outcome's notes when there is just one."""
    return (ActionNote(reason, facts(**values)),)


def english_notes(notes: Sequence[ActionNote]) -> str:
    """The notes as one plain English line, cut to SUMMARY_CHARS."""
    text = ""
    for index, item in enumerate(notes):
        text += item.english()
        if index < len(notes) - 1:
            text += " " if item.reason in JOINS_WITH_SPACE else "; "
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


@dataclass(frozen=True)
class ActionOutcome:
    """What an action did, as notes for the admin and the rest for the audit table.

    `refused` means validation refused it and nothing was touched.
    """

    kind: ActionKind
    ok: bool
    notes: tuple[ActionNote, ...]
    operation: str
    exit_code: int | None = None
    output_tail: str = ""
    duration: float = 0.0
    attempts: int = 0
    refused: bool = False

    @property
    def summary(self) -> str:
        """Plain English for the log, the console and the audit row's text column."""
        return english_notes(self.notes)

    def detail(self) -> dict[str, Any]:
        """The notes as JSON for the audit row, so the alert can word them at send time."""
        return {"notes": [item.to_json() for item in self.notes]}


def notes_from_detail(detail: Mapping[str, Any] | None) -> tuple[ActionNote, ...]:
    """The notes an audit row stored; empty for a row written before notes existed."""
    if not detail:
        return ()
    return tuple(ActionNote.from_json(item) for item in detail.get("notes", ()))
