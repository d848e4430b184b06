"""Which watched paths may have news: glob patterns, watchdog watches on their folders, hints.

watchdog coalesces and drops events, so nothing here reads a file or trusts
an event's details: an event only marks a path dirty (or asks for a re-glob)
and wakes the tailer's worker, which looks for itself.
"""

from __future__ import annotations

import fnmatch
import glob
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path, PurePath

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

logger = logging.getLogger(__name__)

# The events worth a wake-up. No opened/closed-no-write events: our own reads would wake us.
HINT_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileDeletedEvent,
    FileClosedEvent,
    DirCreatedEvent,
    DirMovedEvent,
    DirDeletedEvent,
]
_MAGIC = re.compile(r"[*?\[]")
_MATCH_CACHE_SIZE = 4096


def absolute(path: str) -> str:
    """Absolute form of a path as watchdog reports it (symlinks not resolved)."""
    return str(Path(path).absolute())


@dataclass(frozen=True, slots=True)
class Pattern:
    """A configured glob, split into the folder to watch and how to match event paths."""

    text: str
    base: str  # deepest folder without wildcards: what watchdog watches
    recursive: bool  # wildcards in a folder part (or `**`): watch the subfolders too
    literal: bool  # no wildcards at all: the file is expected to exist
    matchers: tuple[str, ...]  # absolute fnmatch patterns for event paths

    @classmethod
    def parse(cls, pattern: str) -> Pattern:
        """Split a glob at its first component with a wildcard."""
        parts = PurePath(pattern).parts
        magic = next((i for i, part in enumerate(parts) if _MAGIC.search(part)), None)
        if magic is None:
            return cls(pattern, str(PurePath(pattern).parent), False, True, (absolute(pattern),))
        base = str(PurePath(*parts[:magic])) if magic else "."
        full = str(Path(base).absolute().joinpath(*parts[magic:]))
        # fnmatch's `*` crosses `/`, so `a/**/b` covers deeper files; add `a/b` for "no folder".
        matchers = {full, full.replace(f"{os.sep}**{os.sep}", os.sep)}
        recursive = magic < len(parts) - 1 or "**" in parts[-1]
        return cls(pattern, base, recursive, False, tuple(sorted(matchers)))

    def paths(self) -> list[str]:
        """The regular files the glob yields now, as it spells them (a literal path always)."""
        if self.literal:
            return [self.text]
        # glob.glob rather than Path.glob: it takes absolute patterns and keeps the spelling.
        found = glob.glob(self.text, recursive=True)  # noqa: PTH207
        return sorted(p for p in found if Path(p).is_file())

    def could_match(self, abspath: str) -> bool:
        return any(fnmatch.fnmatchcase(abspath, m) for m in self.matchers)


@dataclass(frozen=True, slots=True)
class Hints:
    """What the observer thread saw since the worker last looked."""

    dirty: frozenset[str]  # absolute paths of tracked files that changed
    rescan: bool  # a file that may match a pattern appeared: glob again
    folders_changed: bool  # a watched folder was deleted or moved: check the watches


class HintBoard:
    """Collects hints from watchdog's thread and wakes the worker; every method is thread-safe."""

    def __init__(self, patterns: list[Pattern]) -> None:
        self._patterns = patterns
        self._any_recursive = any(p.recursive for p in patterns)
        self._lock = threading.Lock()
        self._dirty: set[str] = set()
        self._rescan = False
        self._folders_changed = False
        # Replaced whole by the worker, read by the observer thread: no lock needed.
        self._tracked: frozenset[str] = frozenset()
        self._folders: frozenset[str] = frozenset()
        self._match_cache: dict[str, bool] = {}
        self._event = threading.Event()

    def set_tracked(self, abspaths: frozenset[str]) -> None:
        self._tracked = abspaths

    def set_folders(self, abspaths: frozenset[str]) -> None:
        self._folders = abspaths

    def on_event(self, event: FileSystemEvent) -> None:
        """Turn an event into a dirty mark or a re-glob request, then wake the worker."""
        paths = [os.fsdecode(p) for p in (event.src_path, event.dest_path) if p]
        if not paths:
            return
        with self._lock:
            if event.is_directory:
                if event.event_type != "created" and paths[0] in self._folders:
                    self._folders_changed = True
                elif event.event_type == "deleted" or not self._any_recursive:
                    return
                else:
                    self._rescan = True  # a new subfolder may hold matching files
            else:
                hit = [p for p in paths if p in self._tracked]
                if hit:
                    self._dirty.update(hit)
                elif any(self._could_match(p) for p in paths):
                    self._rescan = True
                else:
                    return
        self._event.set()

    def _could_match(self, abspath: str) -> bool:
        """Cached: a busy untracked file in a watched folder sends the same path again and again."""
        hit = self._match_cache.get(abspath)
        if hit is None:
            if len(self._match_cache) >= _MATCH_CACHE_SIZE:
                self._match_cache.clear()
            hit = any(p.could_match(abspath) for p in self._patterns)
            self._match_cache[abspath] = hit
        return hit

    def mark(self, abspath: str) -> None:
        """Ask for another look at a file (the worker stopped before its end)."""
        with self._lock:
            self._dirty.add(abspath)
        self._event.set()

    def request_rescan(self) -> None:
        with self._lock:
            self._rescan = True
        self._event.set()

    def take(self) -> Hints:
        """Hand the hints gathered so far to the worker and start collecting anew."""
        with self._lock:
            hints = Hints(frozenset(self._dirty), self._rescan, self._folders_changed)
            self._dirty.clear()
            self._rescan = self._folders_changed = False
        return hints

    def wait(self, timeout: float) -> None:
        """Sleep until a hint arrives or the timeout passes, then reset the wake-up."""
        if timeout > 0:
            self._event.wait(timeout)
        self._event.clear()

    def wake(self) -> None:
        self._event.set()


class _Forward(FileSystemEventHandler):
    """The watchdog handler: forwards every event to the hint board, nothing more."""

    def __init__(self, board: HintBoard) -> None:
        self._board = board

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._board.on_event(event)


class FolderWatches:
    """One watchdog watch per pattern folder, scheduled again when the folder is recreated."""

    def __init__(self, board: HintBoard, *, polling: bool, poll_interval: float = 1.0) -> None:
        self._board = board
        self._handler = _Forward(board)
        self._observer: BaseObserver = (
            PollingObserver(timeout=poll_interval) if polling else Observer()
        )
        self._watches: dict[tuple[str, bool], tuple[ObservedWatch, tuple[int, int]]] = {}

    def start(self) -> None:
        self._observer.start()

    def stop(self, join_seconds: float) -> None:
        self._observer.stop()
        self._observer.join(join_seconds)
        if self._observer.is_alive():
            logger.warning("watchdog observer did not stop within %ss", join_seconds)

    def ensure(self, folder: str, *, recursive: bool, ident: tuple[int, int]) -> str | None:
        """Watch a folder (identified by device and inode); return a problem text if we cannot.

        A watch limit (ENOSPC) or any other refusal is not fatal: the backstop
        pass still finds every change, only later.
        """
        key = (absolute(folder), recursive)
        known = self._watches.get(key)
        if known is not None and known[1] == ident and self._alive(known[0]):
            return None
        self.drop(folder, recursive=recursive)
        try:
            watch = self._observer.schedule(
                self._handler, key[0], recursive=recursive, event_filter=HINT_EVENTS
            )
        except OSError as exc:
            return f"cannot watch it ({exc.strerror or exc}); relying on the periodic check"
        self._watches[key] = (watch, ident)
        self._board.set_folders(frozenset(k[0] for k in self._watches))
        return None

    def _alive(self, watch: ObservedWatch) -> bool:
        """An emitter stops for good when its folder is deleted, even if it comes back."""
        return any(e.watch == watch and e.is_alive() for e in self._observer.emitters)

    def drop(self, folder: str, *, recursive: bool) -> None:
        """Forget the watch on a folder that is gone (its emitter stopped with it)."""
        known = self._watches.pop((absolute(folder), recursive), None)
        if known is None:
            return
        self._board.set_folders(frozenset(k[0] for k in self._watches))
        try:
            self._observer.unschedule(known[0])
        except KeyError:
            logger.debug("watch on %s was already gone", folder)
