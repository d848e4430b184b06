"""Validation of untrusted values from log lines: paths, placeholder fields, argv templates.

A file name in a log line is whatever a Telegram user chose, so nothing here trusts
it: paths must resolve inside an allowed folder, fields must match a safe pattern,
and filesystem changes reach their target through directory descriptors opened with
O_NOFOLLOW, so a folder swapped for a symlink after validation cannot redirect them.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import MappingProxyType

from adminbot.errors import ActionRefused

logger = logging.getLogger(__name__)

MAX_PATH_BYTES = 4096
MAX_NAME_BYTES = 255
SHOWN_CHARS = 60
SHOWN_PATH_CHARS = 80

# A leading "-" is refused so a value can never be read as an option by the command
# it is passed to; real Telegram file_ids start with a letter.
FILE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,199}")
GENERIC_FIELD = re.compile(r"-?[0-9]{1,20}|[A-Za-z0-9_][A-Za-z0-9_.:@+-]{0,199}")
FIELD_PATTERNS: Mapping[str, re.Pattern[str]] = MappingProxyType({"file_id": FILE_ID})
PATH_FIELDS = frozenset({"path", "dir", "folder"})

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,63})\}")

# Characters that make text lie on screen (bidi overrides) or forge lines in a log.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Every character `_unsafe_character` refuses, in one class: the Cc category is exactly
# U+0000-U+001F and U+007F-U+009F, Zl is U+2028 and Zp U+2029 (stable in Unicode).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029" + "".join(sorted(_BIDI)) + "]")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def shown(text: str, limit: int = SHOWN_CHARS) -> str:
    """Return text that is safe to show or log: control characters escaped, cut to `limit`."""
    if text.isprintable():  # the usual case, without a loop (bidi controls are Cf: not printable)
        return text if len(text) <= limit else text[:limit] + "…"
    out: list[str] = []
    size = 0
    for ch in text:
        piece = ch if ch.isprintable() and ch not in _BIDI else ascii(ch)[1:-1]
        if size + len(piece) > limit:
            out.append("…")
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


def shown_path(path: str | Path, limit: int = SHOWN_PATH_CHARS) -> str:
    """Like `shown`, but keep the end of a long path: the file name is the useful part."""
    text = shown(str(path), limit=len(str(path)) * 10)
    return text if len(text) <= limit else "…" + text[-limit:]


def is_path_field(name: str) -> bool:
    """Return True for field names whose values are file system paths."""
    return name in PATH_FIELDS or name.endswith("_path")


def check_text(value: str, what: str) -> None:
    """Refuse text that no legitimate file name or id contains."""
    if not isinstance(value, str):
        raise ActionRefused(f"{what} is not text")
    if not value:
        raise ActionRefused(f"{what} is empty")
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError:
        raise ActionRefused(f"{what} is not valid UTF-8 text: {shown(value)}") from None
    if len(encoded) > MAX_PATH_BYTES:
        raise ActionRefused(f"{what} is longer than {MAX_PATH_BYTES} bytes")
    bad = _unsafe_character(value)
    if bad:
        raise ActionRefused(f"{what} contains {bad}: {shown(value)}")


def _unsafe_character(value: str) -> str | None:
    if _UNSAFE.search(value) is None:  # a storm's paths: one search, not a look per character
        return None
    return next(filter(None, map(_why_unsafe, value)), None)


def _why_unsafe(ch: str) -> str | None:
    """What makes one character unsafe in a name, by its Unicode category."""
    if ch == "\x00":
        return "a NUL byte"
    category = unicodedata.category(ch)
    if ch in "\r\n" or category in ("Zl", "Zp"):
        return "a line break"
    if category == "Cc":
        return "a control character"
    if ch in _BIDI:
        return "a text-direction character"
    return None


def safe_field(name: str, value: str, pattern: re.Pattern[str] | None = None) -> str:
    """Return `value` if it fully matches the safe pattern for `name`, else refuse.

    Without an explicit pattern, `file_id` uses FILE_ID and every other name the
    conservative GENERIC_FIELD (digits, or letters, digits and `_.:@+-`).
    """
    check_text(value, name)
    rule = pattern or FIELD_PATTERNS.get(name, GENERIC_FIELD)
    if not rule.fullmatch(value):
        raise ActionRefused(f"{name} has unexpected characters: {shown(value)}")
    return value


@dataclass(frozen=True, slots=True)
class Located:
    """A path from a log line, checked: `real` lies inside the allowed folder `root`.

    `raw` is the absolute path as written, not resolved, so its last component can be
    tested for being a symlink.
    """

    raw: Path
    real: Path
    root: Path

    @property
    def parts(self) -> tuple[str, ...]:
        """Components from the root down to the target (empty for the root itself)."""
        return self.real.relative_to(self.root).parts


NO_ROOTS = "no allowed folders are configured"


def inside(path: str | Path, roots: Sequence[Path], *, base: Path | None = None) -> Path:
    """Return the real path if it lies inside an allowed root, else refuse.

    Symlinks anywhere on the way are followed by the resolution, so a link that leads
    out is refused like a `..` that does. Relative paths are refused unless `base`
    (the folder the pipeline's relative paths are relative to) is given.
    """
    return locate(path, roots, base=base).real


def locate(path: str | Path, roots: Sequence[Path], *, base: Path | None = None) -> Located:
    """Like `inside`, but also tell which root holds the path and keep the unresolved form."""
    text = os.fspath(path)
    check_text(text, "path")
    candidate = Path(text)
    if not candidate.is_absolute():
        if base is None:
            raise ActionRefused(f"relative path refused: {shown(text)}")
        candidate = base / candidate
    for part in candidate.parts:
        if len(part.encode("utf-8")) > MAX_NAME_BYTES:
            raise ActionRefused(f"a name in the path is longer than {MAX_NAME_BYTES} bytes")
    if not roots:  # before resolving: a storm's paths would each walk the file system
        raise ActionRefused(NO_ROOTS)
    real = _resolve(candidate)
    root = _containing_root(real, roots)
    return Located(raw=candidate, real=real, root=root)


def _resolve(path: Path) -> Path:
    try:
        return path.resolve(strict=False)
    except (RuntimeError, OSError):  # RuntimeError is how 3.11 reports a symlink loop
        raise ActionRefused(f"cannot resolve {shown_path(path)} (symlink loop?)") from None


def _containing_root(real: Path, roots: Sequence[Path]) -> Path:
    resolved = [_resolve(Path(root)) for root in roots]
    matches = [root for root in resolved if real.is_relative_to(root)]
    if not matches:  # `locate` refused a path when there were no roots at all
        raise ActionRefused(f"{shown_path(real)} is outside the allowed folders")
    # The most specific root, so the walk from it is as short as possible.
    return max(matches, key=lambda root: len(root.parts))


def fill_template(template: str, values: Mapping[str, str]) -> str:
    """Replace each `{name}` in `template` with an already validated value.

    Braces that are not a plain `{name}` placeholder, or names without a value, are
    refused, so a template can never reach str.format's attribute or index lookups.
    """
    if "{" in PLACEHOLDER.sub("", template) or "}" in PLACEHOLDER.sub("", template):
        raise ActionRefused(f"template has a malformed placeholder: {shown(template)}")
    missing = [name for name in placeholders(template) if name not in values]
    if missing:
        raise ActionRefused(f"the log line does not give {', '.join(sorted(missing))}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def placeholders(template: str) -> set[str]:
    """Return the placeholder names used in `template`."""
    return set(PLACEHOLDER.findall(template))


def looks_like_file(path: str) -> bool:
    """Return True when the last name has a file extension with a letter (`a.mp4`, not `v1.5`)."""
    suffix = PurePosixPath(path).suffix
    return bool(re.fullmatch(r"\.(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{1,8}", suffix))


def _open_dir(name: str, dir_fd: int | None) -> int:
    """Open a folder without following a symlink; a link or a file there is refused."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise ActionRefused(f"{shown(name)} is not a plain folder") from None
        raise


@contextmanager
def open_parent(located: Located) -> Iterator[tuple[int, str]]:
    """Yield (folder descriptor, name) of the target, reached from its root without symlinks.

    For the root itself the name is ".". Raises ActionRefused when a folder on the way
    is (now) a symlink or not a folder at all.
    """
    fd = _open_dir(str(located.root), None)
    try:
        parts = located.parts
        for part in parts[:-1]:
            next_fd = _open_dir(part, fd)
            os.close(fd)
            fd = next_fd
        yield fd, (parts[-1] if parts else ".")
    finally:
        os.close(fd)


def make_dirs(located: Located, mode: int) -> list[Path]:
    """Create the missing folders from the root down to the target; return those created.

    Like `mkdir -p`, but every step is opened with O_NOFOLLOW, and each new folder gets
    exactly `mode` (mkdir alone would cut it with the umask).
    """
    created: list[Path] = []
    fd = _open_dir(str(located.root), None)
    try:
        current = located.root
        for part in located.parts:
            current = current / part
            made = _mkdir_at(part, mode, fd)
            next_fd = _open_dir(part, fd)
            os.close(fd)
            fd = next_fd
            if made:
                os.fchmod(fd, mode)
                created.append(current)
    finally:
        os.close(fd)
    return created


def _mkdir_at(name: str, mode: int, dir_fd: int) -> bool:
    try:
        os.mkdir(name, mode, dir_fd=dir_fd)
    except FileExistsError:
        return False
    return True
