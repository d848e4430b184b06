"""Path and field validation with hostile input, on a real file system in tmp_path."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from adminbot.actions.paths import (
    fill_template,
    inside,
    locate,
    looks_like_file,
    make_dirs,
    open_parent,
    safe_field,
    shown,
)
from adminbot.errors import ActionRefused


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "descargas"
    folder.mkdir()
    return folder


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("keep me")
    return folder


def test_a_file_inside_the_root_resolves_to_its_real_path(root: Path) -> None:
    (root / "a.mp4").write_bytes(b"x")

    assert inside(str(root / "sub" / ".." / "a.mp4"), [root]) == root / "a.mp4"


def test_a_missing_path_inside_the_root_is_accepted(root: Path) -> None:
    assert inside(root / "new" / "b.mp4", [root]) == root / "new" / "b.mp4"


def test_dot_dot_that_leaves_the_root_is_refused(root: Path) -> None:
    with pytest.raises(ActionRefused, match="outside the allowed folders"):
        inside(f"{root}/../outside/secret.txt", [root])


def test_a_final_symlink_that_leads_out_is_refused(root: Path, outside: Path) -> None:
    (root / "link.mp4").symlink_to(outside / "secret.txt")

    with pytest.raises(ActionRefused, match="outside"):
        inside(root / "link.mp4", [root])


def test_a_middle_directory_symlink_that_leads_out_is_refused(root: Path, outside: Path) -> None:
    (root / "sub").symlink_to(outside)

    with pytest.raises(ActionRefused, match="outside"):
        inside(root / "sub" / "secret.txt", [root])


def test_a_symlink_that_stays_inside_is_followed(root: Path) -> None:
    (root / "real").mkdir()
    (root / "alias").symlink_to(root / "real")

    assert inside(root / "alias" / "x.mp4", [root]) == root / "real" / "x.mp4"


def test_roots_are_resolved_too(tmp_path: Path, root: Path) -> None:
    (tmp_path / "root-link").symlink_to(root)

    assert inside(root / "a.mp4", [tmp_path / "root-link"]) == root / "a.mp4"


def test_the_most_specific_root_is_chosen(root: Path) -> None:
    (root / "inner").mkdir()

    located = locate(root / "inner" / "a.mp4", [root, root / "inner"])

    assert located.root == root / "inner"
    assert located.parts == ("a.mp4",)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a\x00b.mp4", "NUL"),
        ("a\nb.mp4", "line break"),
        ("a\rb.mp4", "line break"),
        ("a\u2028b.mp4", "line break"),
        ("a\x1b[31mb.mp4", "control character"),
        ("a\u202egpj.exe", "text-direction"),
        ("caf\udcc3\udca9.mp4", "UTF-8"),
    ],
)
def test_control_characters_and_bad_text_are_refused(root: Path, text: str, reason: str) -> None:
    with pytest.raises(ActionRefused, match=reason):
        inside(f"{root}/{text}", [root])


def test_paths_longer_than_4096_bytes_are_refused(root: Path) -> None:
    with pytest.raises(ActionRefused, match="4096"):
        inside(f"{root}/" + "a/" * 2100, [root])


def test_names_longer_than_255_bytes_are_refused(root: Path) -> None:
    with pytest.raises(ActionRefused, match="255"):
        inside(f"{root}/" + "ñ" * 200, [root])


def test_relative_paths_are_refused_without_a_base(root: Path) -> None:
    with pytest.raises(ActionRefused, match="relative"):
        inside("descargas/a.mp4", [root])


def test_relative_paths_resolve_against_the_documented_base(root: Path) -> None:
    assert inside("descargas/a.mp4", [root], base=root.parent) == root / "a.mp4"


def test_a_symlink_loop_is_refused(root: Path) -> None:
    (root / "loop").symlink_to(root / "loop")

    with pytest.raises(ActionRefused):
        inside(root / "loop" / "x", [root])


def test_no_roots_means_nothing_is_allowed(root: Path) -> None:
    with pytest.raises(ActionRefused, match="no allowed folders"):
        inside(root / "a.mp4", [])


def test_refusal_reasons_stay_short_and_escape_hostile_text(root: Path) -> None:
    hostile = "/etc/" + "x" * 500 + "\x1b[2J"

    with pytest.raises(ActionRefused) as caught:
        inside(hostile, [root])

    reason = str(caught.value)
    assert len(reason) < 120
    assert "\x1b" not in reason


def test_shown_escapes_controls_and_cuts() -> None:
    assert shown("a\nb\x00c") == "a\\nb\\x00c"
    assert shown("x" * 100, limit=10) == "x" * 10 + "…"


@pytest.mark.parametrize("value", ["BQACAgIAAxkBAAIB", "file_1-2", "A" * 200])
def test_safe_file_ids_pass(value: str) -> None:
    assert safe_field("file_id", value) == value


@pytest.mark.parametrize(
    "value",
    [
        "a;rm -rf ~",
        "$(touch /tmp/pwned)",
        "`id`",
        "a b",
        "a\nb",
        "abc\n",
        "a\x00b",
        "-rf",
        "--help",
        "../../etc/passwd",
        "A" * 201,
        "caf\udcc3\udca9",
        "x" * 5000,
        "",
    ],
)
def test_hostile_file_ids_are_refused(value: str) -> None:
    with pytest.raises(ActionRefused):
        safe_field("file_id", value)


def test_other_fields_use_a_conservative_default() -> None:
    assert safe_field("chat_id", "-100123") == "-100123"
    assert safe_field("errno", "EACCES") == "EACCES"
    with pytest.raises(ActionRefused):
        safe_field("chat_id", "--100")
    with pytest.raises(ActionRefused):
        safe_field("name", "a/b")


def test_an_explicit_pattern_is_matched_in_full() -> None:
    digits = re.compile(r"[0-9]+")

    assert safe_field("n", "42", digits) == "42"
    with pytest.raises(ActionRefused):
        safe_field("n", "42x", digits)


def test_templates_fill_whole_and_in_argument_placeholders() -> None:
    values = {"file_id": "ABC", "path": "/srv/a b.mp4"}

    assert fill_template("{file_id}", values) == "ABC"
    assert fill_template("--id={file_id}", values) == "--id=ABC"
    assert fill_template("{path}", values) == "/srv/a b.mp4"


@pytest.mark.parametrize("template", ["{file_id.__class__}", "{0}", "{x!r}", "{", "a}b"])
def test_templates_with_anything_but_plain_placeholders_are_refused(template: str) -> None:
    with pytest.raises(ActionRefused):
        fill_template(template, {"file_id": "A", "x": "B"})


def test_a_placeholder_without_a_value_is_refused() -> None:
    with pytest.raises(ActionRefused, match="does not give chat_id"):
        fill_template("{chat_id}", {"file_id": "A"})


def test_substituted_values_are_not_expanded_again() -> None:
    assert fill_template("{a}", {"a": "{b}", "b": "boom"}) == "{b}"


@pytest.mark.parametrize(
    ("path", "is_file"),
    [("/d/a.mp4", True), ("/d/x.tar.gz", True), ("/d/Season 1.5", False), ("/d/dir", False)],
)
def test_a_name_with_a_lettered_extension_is_taken_for_a_file(path: str, is_file: bool) -> None:
    assert looks_like_file(path) is is_file


def test_open_parent_refuses_a_folder_swapped_for_a_symlink_after_checking(
    root: Path, outside: Path
) -> None:
    (root / "sub").mkdir()
    located = locate(root / "sub" / "secret.txt", [root])
    (root / "sub").rmdir()
    (root / "sub").symlink_to(outside)  # the race: swapped between check and use

    with pytest.raises(ActionRefused, match="not a plain folder"), open_parent(located):
        pass


def test_make_dirs_creates_each_missing_folder_with_the_exact_mode(root: Path) -> None:
    old = os.umask(0o077)
    try:
        created = make_dirs(locate(root / "a" / "b", [root]), 0o750)
    finally:
        os.umask(old)

    assert created == [root / "a", root / "a" / "b"]
    assert (root / "a" / "b").stat().st_mode & 0o7777 == 0o750
    assert make_dirs(locate(root / "a" / "b", [root]), 0o750) == []


def test_make_dirs_does_not_walk_through_a_symlink(root: Path, outside: Path) -> None:
    (root / "a").mkdir()
    located = locate(root / "a" / "new", [root])
    (root / "a").rmdir()
    (root / "a").symlink_to(outside)

    with pytest.raises(ActionRefused):
        make_dirs(located, 0o755)

    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_shown_gives_the_same_whether_or_not_a_text_needs_escaping() -> None:
    """Printable text takes a shortcut: it must cut exactly where the loop would."""
    for text in ("", "abc", "ñandú vídeo", "x" * 10, "x" * 11, "日本語" * 5):
        for limit in (0, 1, 5, 10, 11, 40):
            looped = "".join(text[:limit]) + ("…" if len(text) > limit else "")
            assert shown(text, limit=limit) == looped
    assert shown("a\u202eb", limit=10) == "a\\u202eb"


def test_the_unsafe_character_search_refuses_exactly_what_the_look_per_character_does() -> None:
    """`_unsafe_character` first searches one character class; every code point of the
    BMP (and a sample above it) must be refused, or not, with the same reason as by
    looking at the character's Unicode category."""
    from adminbot.actions import paths

    points = [*range(0x10000), *range(0x10000, 0x110000, 97)]
    refused = 0
    for point in points:
        ch = chr(point)
        expected = paths._why_unsafe(ch)
        assert paths._unsafe_character(f"/srv/a{ch}b.mp4") == expected, hex(point)
        refused += expected is not None
    assert refused == 32 + 1 + 32 + 2 + len(paths._BIDI)  # C0, DEL, C1, Zl/Zp, bidi
