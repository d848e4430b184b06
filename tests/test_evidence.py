"""Reading back the lines around an occurrence: only watched files, redacted, within limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from adminbot.evidence.excerpt import Excerpt, NotWatched, around, leading_to, watched_path
from adminbot.redaction import Redactor
from handlers.evidence import context_text, log_document
from handlers.i18n import Catalog
from handlers.layout import MAX_CHARS, visible_len

TOKEN = "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ"


def _log(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "bot.log"
    path.write_text("".join(f"line {n}\n" for n in range(1, count + 1)), encoding="utf-8")
    return path


def test_context_is_the_ten_lines_either_side_of_the_occurrence(tmp_path: Path) -> None:
    excerpt = around(_log(tmp_path, 100), 50)
    assert [n for n, _ in excerpt.lines] == list(range(40, 61))
    assert excerpt.found and dict(excerpt.lines)[50] == "line 50"


def test_context_near_the_start_of_the_file_begins_at_line_one(tmp_path: Path) -> None:
    excerpt = around(_log(tmp_path, 100), 3)
    assert [n for n, _ in excerpt.lines] == list(range(1, 14))


def test_a_line_beyond_the_end_of_a_rotated_file_is_reported_missing(tmp_path: Path) -> None:
    excerpt = around(_log(tmp_path, 5), 50)
    assert not excerpt.found and excerpt.lines == ()


def test_log_is_the_last_lines_up_to_the_occurrence_and_none_after(tmp_path: Path) -> None:
    excerpt = leading_to(_log(tmp_path, 500), 300, count=200)
    assert [n for n, _ in excerpt.lines] == list(range(101, 301))
    assert log_document(excerpt).decode().splitlines()[-1] == "line 300"


def test_lines_are_redacted_as_they_are_read(tmp_path: Path) -> None:
    path = tmp_path / "bot.log"
    path.write_text(f"calling https://api.telegram.org/bot{TOKEN}/getMe\n", encoding="utf-8")
    excerpt = around(path, 1, clean=Redactor.configured().text)
    assert TOKEN not in excerpt.lines[0][1]


def test_only_a_watched_file_may_be_read(tmp_path: Path) -> None:
    watched = _log(tmp_path, 1)
    assert watched_path(str(watched), [str(watched)]) == watched.resolve()
    with pytest.raises(NotWatched):
        watched_path("/etc/shadow", [str(watched)])
    with pytest.raises(NotWatched):
        watched_path(str(tmp_path / ".." / "etc" / "passwd"), [str(watched)])


def test_context_message_marks_the_line_and_fits_telegram(tmp_path: Path) -> None:
    lines = tuple((n, "é<x>" * 400) for n in range(40, 61))
    text = context_text(7, Excerpt(str(tmp_path / "bot.log"), 50, lines, True), Catalog("en"))
    assert visible_len(text) <= MAX_CHARS
    assert "▶50│" in text and "&lt;x&gt;" in text
    assert text.startswith("<b>#7 · ")


def test_context_message_says_when_the_line_has_moved(tmp_path: Path) -> None:
    excerpt = Excerpt(str(tmp_path / "bot.log"), 90, ((1, "a"),), False)
    assert "no longer where it was" in context_text(7, excerpt, Catalog("en"))
    assert "ya no está" in context_text(7, excerpt, Catalog("es"))
