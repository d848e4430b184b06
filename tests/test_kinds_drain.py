"""Drain: lines of one kind share a template; a different word or length is another kind."""

from __future__ import annotations

import random

import pytest

from adminbot.kinds import drain as drain_module
from adminbot.kinds.drain import WILDCARD, Drain, Placed
from adminbot.kinds.mask import tokens
from adminbot.kinds.tally import tally
from adminbot.models import Record


def _words(text: str) -> list[str]:
    return text.split(" ")


def test_lines_that_differ_only_in_ids_are_one_template() -> None:
    drain = Drain()
    lines = [
        f"2026-11-29 10:00:0{n},000 ERROR descargas.worker: Download of BAACAgEAAxkBAAI{n}x"
        f"abcdefghijklmnop{n} for user 50{n}1234567 failed: File is too big ({n}0 MB)"
        for n in range(5)
    ]
    placed = [drain.add(tokens(line)) for line in lines]
    assert {p.index for p in placed if p is not None} == {0}
    assert " ".join(drain.template(0)) == (
        "Download of <FILE_ID> for user <NUM> failed: File is too big (<SIZE>)"
    )


def test_lines_that_differ_in_a_meaningful_word_are_two_templates_however_similar() -> None:
    drain = Drain()
    first = drain.add(tokens("2026-11-29 10:00:00,000 ERROR db: database is locked"))
    second = drain.add(tokens("2026-11-29 10:00:01,000 ERROR db: database is malformed"))
    assert first is not None and second is not None
    assert first.index != second.index
    assert second.created


def test_a_different_first_word_or_length_is_never_the_same_template() -> None:
    drain = Drain()
    a = drain.add(_words("KeyError: 'file_id'"))
    b = drain.add(_words("IndexError: 'file_id'"))
    c = drain.add(_words("KeyError: 'file_id' again"))
    assert a is not None and b is not None and c is not None
    assert len({a.index, b.index, c.index}) == 3


def test_a_word_that_varies_becomes_a_wildcard_and_the_template_says_so() -> None:
    drain = Drain()
    drain.add(_words("ERROR: [youtube] aBcdEfgh: Video unavailable in your country"))
    placed = drain.add(_words("ERROR: [youtube] ZyXwvuTs: Video unavailable in your country"))
    assert placed is not None and placed.generalised and not placed.created
    assert placed.template[2] == WILDCARD
    again = drain.add(_words("ERROR: [youtube] qwertyui: Video unavailable in your country"))
    # a lower-case word may take a wildcard's place: only two words facing each other split
    assert again is not None and not again.generalised and again.index == placed.index


def test_a_restored_template_takes_the_lines_it_took_before() -> None:
    first = Drain()
    placed = first.add(_words("Download of <FILE_ID> failed: <*> too big"))
    assert placed is not None
    second = Drain()
    index = second.restore(first.template(placed.index))
    assert second.match(_words("Download of <FILE_ID> failed: File too big")) == index


def test_words_with_digits_share_the_wildcard_branch() -> None:
    drain = Drain(depth=4)
    a = drain.add(_words("job42 failed with code x"))
    b = drain.add(_words("job43 failed with code x"))
    assert a is not None and b is not None and a.index == b.index


def test_a_full_tree_refuses_new_templates_but_still_places_known_ones() -> None:
    drain = Drain(max_templates=1)
    assert drain.add(_words("one kind here")) is not None
    assert drain.add(_words("another kind entirely different")) is None
    placed = drain.add(_words("one kind here"))
    assert placed is not None and placed.index == 0


def test_a_node_past_max_children_sends_new_words_down_the_wildcard_branch() -> None:
    drain = Drain(max_children=3)
    for word in ("Alpha", "Beta", "Gamma", "Delta"):
        drain.add(_words(f"{word} failed badly"))
    assert len(drain) == 3  # Gamma and Delta share the wildcard branch, then merge


@pytest.mark.parametrize(("depth", "similarity"), [(2, 0.5), (4, 0.0), (4, 1.5)])
def test_settings_out_of_range_are_refused(depth: int, similarity: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        Drain(depth=depth, similarity=similarity)


def test_tally_counts_templates_most_frequent_first() -> None:
    records = [
        Record("f", n, f"2026-11-29 10:00:00,000 ERROR x: Forbidden: bot was blocked by user {n}")
        for n in range(1, 4)
    ]
    records.append(Record("f", 9, "2026-11-29 10:00:00,000 ERROR db: database is locked"))
    found = tally(records)
    assert [(k.template, k.count, k.first_line) for k in found] == [
        ("Forbidden: bot was blocked by user <NUM>", 3, 1),
        ("database is locked", 1, 9),
    ]


def test_tally_of_a_storm_of_repeated_messages_equals_masking_each_record() -> None:
    texts = [
        "2026-11-29 10:00:0{n},000 ERROR x: Forbidden: bot was blocked by the user",
        "[2026-11-29 10:00:0{n},000] [ERROR] db: database is locked",
        "2026-11-29 10:00:0{n} job {n} failed",  # no header: the time is part of the message
        "2026-11-29 10:00:01 job 1 failed",
    ]
    records = [
        Record("f", 10 * n + i, text.format(n=n), "ERROR" if "ERROR" in text else None)
        for n in range(1, 6)
        for i, text in enumerate(texts)
    ]
    drain = Drain()
    expected: dict[int, int] = {}
    for record in records:
        placed = drain.add(tokens(record.text))
        if placed is not None:
            expected[placed.index] = expected.get(placed.index, 0) + 1
    assert sorted(k.count for k in tally(records)) == sorted(expected.values())


def test_words_placed_again_while_nothing_changed_go_where_the_full_search_sends_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`add` remembers words that went into a template and changed nothing; random
    sequences with many repeats (wildcards, full trees, restores) place every message
    as the full search alone does."""
    rng = random.Random(11)
    vocabulary = ["db", "is", "zz", "locked", "bad", "<NUM>", "<*>", "x1", "Error:"]

    def message() -> tuple[str, ...]:
        return ("db", *(rng.choice(vocabulary) for _ in range(rng.randint(1, 3))))

    for _ in range(1000):
        pool = [message() for _ in range(rng.randint(1, 12))]
        steps = [rng.choice(pool) for _ in range(rng.randint(1, 80))]
        restores = {rng.randrange(len(steps)): rng.choice(pool) for _ in range(rng.randint(0, 2))}
        limit, similarity = rng.choice([3, 5000]), rng.choice([0.4, 0.5, 0.9])
        placed: list[list[Placed | None]] = []
        for settled in (4096, 0):
            monkeypatch.setattr(drain_module, "_MAX_SETTLED", settled)
            drain = Drain(max_templates=limit, similarity=similarity)
            seen: list[Placed | None] = []
            for step, words in enumerate(steps):
                if step in restores:
                    drain.restore(restores[step])
                seen.append(drain.add(words))
            placed.append(seen)
        assert placed[0] == placed[1]


def test_a_template_generalised_since_takes_back_words_that_had_settled_elsewhere() -> None:
    """("db", "is", "bad") settles in ("db", "<*>", "bad") while ("db", "is", "locked")
    refuses it; once that one has learnt a wildcard for "locked" it ties, and wins as
    the older template: what was remembered must be forgotten."""
    drain = Drain()
    older = drain.add(("db", "is", "locked"))
    for words in (("db", "zz", "bad"), ("db", "x1", "bad"), ("db", "is", "bad")):
        drain.add(words)
    assert drain.add(("db", "is", "bad")) == Placed(1, ("db", WILDCARD, "bad"), False, False)
    assert drain.add(("db", "is", "x1")) == Placed(0, ("db", "is", WILDCARD), False, True)
    assert older is not None
    assert drain.add(("db", "is", "bad")) == Placed(0, ("db", "is", WILDCARD), False, False)
