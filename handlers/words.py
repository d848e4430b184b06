"""Words for the core's facts: check reasons, action notes, disk reports, durations,
the name of who did something.

The core hands over reasons and numbers; this module turns them into escaped HTML in
the admin's language, through the catalog. It is the one place durations and sizes
are formatted for the admin.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import timedelta

from adminbot.actions.diskreport import DiskReport
from adminbot.actions.outcome import JOINS_WITH_SPACE, ActionNote, problem_of
from adminbot.checks.base import CheckResult
from adminbot.facts import Fact, Facts, Missing, Size, human_bytes
from handlers.i18n import Catalog

# C0/C1 controls (but tab and newline) and bidi overrides: log text could use them to
# hide or reorder what the admin reads ("\u202egpj.exe" shows as "exe.jpg").
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
TAG = re.compile(r"<[^>]*>")
"""Any Telegram HTML tag: for counting what the admin sees and for the plain-text fallback."""


def esc(value: object) -> str:
    """Escape for Telegram HTML, and show control and bidi characters as U+FFFD."""
    return html.escape(_UNSAFE.sub("\ufffd", str(value)), quote=False)


def plain_text(text: str) -> str:
    """What the admin reads of an HTML message: tags dropped, entities decoded."""
    return html.unescape(TAG.sub("", text))


def duration(delta: timedelta, t: Catalog | None = None) -> str:
    """A duration in its largest unit or two ("47h05m", "3d4h"), units from the catalog."""
    units = Catalog() if t is None else t
    s, m, h, d = (units(f"unit.{u}") for u in "smhd")
    seconds = int(max(delta.total_seconds(), 0))
    if seconds < 60:
        return f"{seconds}{s}"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}{m}"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}{h}{minutes:02d}{m}" if minutes else f"{hours}{h}"
    return f"{hours // 24}{d}{hours % 24}{h}"


def display_name(actor: str) -> str:
    """The name part of an audited actor ("Ana · id 42" → "Ana")."""
    return actor.split(" · id ", 1)[0]


def fact(name: str, value: Fact, t: Catalog) -> str:
    """One fact as escaped HTML text in the admin's language."""
    if name == "action":
        return esc(t(f"action.kind.{value}"))
    if isinstance(value, Size):
        return human_bytes(value)
    if isinstance(value, timedelta):
        return duration(value, t)
    if isinstance(value, float):
        return f"{round(value, 1):g}"
    return esc(value)


def fill(key: str, values: Facts, t: Catalog, **extra: str) -> str:
    """The catalog's template `key` filled with the facts; a fact not known shows as "?"."""
    shown = Missing({name: fact(name, value, t) for name, value in values.items()})
    shown.update(extra)
    return t.template(key).format_map(shown)


def check(result: CheckResult, t: Catalog) -> str:
    """Why a check is in its state, in words (escaped HTML)."""
    level = esc(t(f"check.state.{result.state.value}"))
    text = fill(f"check.reason.{result.reason.value}", result.facts, t, level=level)
    if "exit_code" in result.facts:
        text += fill("check.exit_code", result.facts, t)
    return text


def note(item: ActionNote, t: Catalog) -> str:
    """One step of an action's outcome, in words (escaped HTML)."""
    problem = problem_of(item.facts)
    extra = {} if problem is None else {"problem": fill(f"action.problem.{problem}", item.facts, t)}
    return fill(f"action.reason.{item.reason.value}", item.facts, t, **extra)


def notes(items: Sequence[ActionNote], t: Catalog) -> str:
    """An action's outcome as one line, its steps joined as the English summary joins them."""
    text = ""
    for index, item in enumerate(items):
        text += note(item, t)
        if index < len(items) - 1:
            text += " " if item.reason in JOINS_WITH_SPACE else "; "
    return text


def disk_report(report: DiskReport, t: Catalog) -> list[str]:
    """Each download folder with its usage, then its largest subfolders as a list."""
    lines = []
    for folder in report.folders:
        path = esc(folder.path)
        if folder.error is not None:
            lines.append(t("disk.folder_error", path=path, error=esc(folder.error)))
            continue
        lines.append(
            t("disk.folder", path=path, percent=folder.percent, free=human_bytes(folder.free))
        )
        if folder.largest:
            lines.append(t("disk.largest_partial" if folder.partial else "disk.largest"))
        for sub in folder.largest:
            name = t("disk.loose_files") if sub.name == "." else esc(sub.name)
            lines.append(t("disk.subfolder", name=name, size=human_bytes(sub.size)))
    return lines
