"""A small copy of the tail positions beside the store, so a lost store loses no line.

The checkpoints say where each log was read up to; they live in the store, committed
with the incidents they produced. If the store is emptied or damaged, a fresh one
would know no file and read every log from its end, skipping what was written while
adminbot was down. So the store also writes its committed checkpoints and meta (the
last heartbeat) to `<store>.positions.json`, atomically (write, fsync, rename), at
most every few seconds and when it closes. A fresh store resumes from this copy: at
worst it is a few seconds behind, so a few lines are read twice, never skipped.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from adminbot.models import Checkpoint
from adminbot.store.files import private_opener

logger = logging.getLogger(__name__)

SUFFIX = ".positions.json"
VERSION = 1


@dataclass(frozen=True, slots=True)
class Positions:
    """The store's committed checkpoints and meta at `saved_at`."""

    saved_at: datetime
    checkpoints: tuple[Checkpoint, ...] = ()
    meta: Mapping[str, str] = field(default_factory=dict)


def positions_path(store_path: Path) -> Path:
    """Where the copy of `store_path`'s positions lives (beside it, in the data dir)."""
    return store_path.with_name(store_path.name + SUFFIX)


def write_positions(path: Path, positions: Positions) -> None:
    """Replace the copy atomically; a failure (disk full) leaves the previous copy whole."""
    data = {
        "version": VERSION,
        "saved_at": positions.saved_at.isoformat(),
        "meta": dict(positions.meta),
        "checkpoints": [
            [c.path, c.device, c.inode, c.fingerprint, c.fingerprint_len, c.offset, c.line_no]
            for c in positions.checkpoints
        ],
    }
    temporary = path.with_name(path.name + ".tmp")
    try:
        with open(temporary, "w", encoding="utf-8", opener=private_opener) as handle:
            json.dump(data, handle, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise


def read_positions(path: Path) -> Positions | None:
    """The copy, or None when there is none or it cannot be read (said in the log)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Positions(
            saved_at=datetime.fromisoformat(data["saved_at"]),
            meta={str(k): str(v) for k, v in data["meta"].items()},
            checkpoints=tuple(
                Checkpoint(str(p), int(d), int(i), str(f), int(n), int(o), int(ln))
                for p, d, i, f, n, o, ln in data["checkpoints"]
            ),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        logger.warning("Cannot read the saved tail positions in %s: %s", path, exc)
        return None
