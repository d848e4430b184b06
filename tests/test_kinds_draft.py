"""Drafting a rule from a kind: its regex, its name, and what it would match."""

from __future__ import annotations

import re

import pytest

from adminbot.kinds.draft import (
    DraftError,
    Proposal,
    Seen,
    derive_pattern,
    draft,
    preview,
    propose_name,
)
from adminbot.kinds.mask import tokens

TOO_BIG = "Download of <FILE_ID> failed: File is too big (<SIZE>)"
LINE = (
    "2026-11-29 10:00:01,001 ERROR descargas.worker: Download of "
    "BAACAgEAAxkBAAI00001abcdefghijkl failed: File is too big (12 MB)"
)


def _search(pattern: str, text: str) -> re.Match[str] | None:
    return re.search(pattern, text, re.IGNORECASE)


def test_masks_become_named_groups_that_capture_what_they_hid() -> None:
    found = _search(derive_pattern(TOO_BIG), LINE)
    assert found is not None
    assert found.group("file_id") == "BAACAgEAAxkBAAI00001abcdefghijkl"
    assert found.group("size") == "12 MB"


def test_literal_parts_are_escaped_so_brackets_and_dots_match_only_themselves() -> None:
    pattern = derive_pattern("Worker [pool.main] stopped (code <NUM>)")
    assert _search(pattern, "Worker [pool.main] stopped (code 3)") is not None
    assert _search(pattern, "Worker p stopped code 3") is None
    assert _search(pattern, "Worker [poolXmain] stopped (code 3)") is None


def test_a_second_mask_of_one_shape_is_unnamed_and_paths_numbers_match() -> None:
    pattern = derive_pattern("copy <PATH> to <PATH> failed after <NUM> tries in <DURATION>")
    assert re.compile(pattern).groupindex.keys() == {"path", "num"}
    found = _search(pattern, "copy /srv/a.mp4 to /srv/b.mp4 failed after 3 tries in 1.5s")
    assert found is not None and found.group("path") == "/srv/a.mp4"


def test_the_regex_matches_the_lines_its_template_was_mined_from() -> None:
    lines = [
        "2026-11-29 10:00:01,001 ERROR x: Upload of 'clip 1.mp4' to chat 123456 timed out "
        "after 58.3s",
        "2026-11-29 10:00:01,001 ERROR x: Upload of 'other file.mkv' to chat 98765 timed out "
        "after 2s",
    ]
    template = " ".join(tokens(lines[0]))
    assert template == "Upload of '<STR>' to chat <NUM> timed out after <DURATION>"
    proposal = draft(1, template, lines, taken=())
    assert all(_search(proposal.pattern, line) for line in lines)


def test_the_regex_does_not_match_a_different_kind() -> None:
    pattern = derive_pattern(TOO_BIG)
    other = "ERROR x: Download of BAACAgEAAxkBAAI00001abcdefghijkl timed out"
    assert _search(pattern, other) is None
    assert _search(pattern, "ERROR x: database is locked") is None


def test_a_template_of_only_masks_is_not_drafted() -> None:
    with pytest.raises(DraftError):
        derive_pattern("<NUM> <PATH>")


def test_a_draft_that_misses_its_own_sample_is_refused() -> None:
    with pytest.raises(DraftError, match="misses a sample"):
        draft(1, TOO_BIG, ["ERROR x: something else entirely"], taken=())


def test_the_name_is_the_first_words_and_never_clashes() -> None:
    assert propose_name(TOO_BIG, ()) == "download_of_failed_file"
    taken = {"download_of_failed_file", "download_of_failed_file_2"}
    assert propose_name(TOO_BIG, taken) == "download_of_failed_file_3"
    long = propose_name("Averyveryverylongwordthatkeepsgoingandgoingandgoingon and more", ())
    assert re.fullmatch(r"[a-z0-9_]{1,64}", long)


def test_the_digest_changes_with_the_rule_it_confirms() -> None:
    one = Proposal(1, "a", "x", "t")
    assert one.digest == Proposal(1, "a", "x", "other template").digest
    assert one.digest != Proposal(1, "b", "x", "t").digest
    assert one.digest != Proposal(2, "a", "x", "t").digest
    assert re.fullmatch(r"[0-9a-f]{12}", one.digest)


def test_the_preview_counts_samples_and_stored_lines_and_names_what_it_would_take() -> None:
    proposal = draft(7, TOO_BIG, [LINE], taken=())
    other_kind = LINE.replace("12 MB", "3 GB")
    seen = [
        Seen(1, "nuevo_tipo", "7", (LINE, LINE)),
        Seen(2, "nuevo_tipo", "8", (other_kind, "ERROR x: database is locked")),
        Seen(3, "descarga_fallida", "k", (LINE,)),
        Seen(4, "permisos", "k", ("PermissionError: [Errno 13] Permission denied: '/srv/x'",)),
    ]
    found = preview(proposal, [LINE, "not it"], seen, "nuevo_tipo")
    assert (found.samples_matched, found.samples) == (1, 2)
    assert (found.lines_matched, found.lines, found.incidents) == (4, 6, 4)
    assert [(t.incident_id, t.lines) for t in found.own] == [(1, 2)]
    assert [(t.incident_id, t.lines) for t in found.new_kinds] == [(2, 1)]
    assert [(t.incident_id, t.rule) for t in found.other_rules] == [(3, "descarga_fallida")]
