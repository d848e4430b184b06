"""Every silenced type error names its code and says why, so the next reader can judge it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
IGNORE = re.compile(r"#\s*type:\s*ignore\b(?P<rest>.*)$")
WITH_REASON = re.compile(r"^\[[a-z-]+(, *[a-z-]+)*\]\s+#\s*\S")


def test_every_type_ignore_carries_its_error_code_and_a_reason() -> None:
    bare = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("adminbot", "handlers", "tests")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if (found := IGNORE.search(line)) and not WITH_REASON.match(found["rest"])
    ]
    assert bare == []
