"""What a rule's pattern says about the texts it can match, read from the pattern itself.

The classifier's speed tricks rest on two facts about a pattern: whether matching it
case-sensitively on lower-cased text finds what `re.IGNORECASE` finds on the text
(`lowerable`), and which plain strings every match must hold (`required_literals`,
`required_sets`), so that a text lacking them is never searched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Characters `re.IGNORECASE` folds together with others than their lower and upper
# case (re's own table of extra cases), and the capital sigma, which `str.lower`
# maps by context.
SPECIAL_FOLDS = (
    "µıſͅΐΰβεθικμπρςσφϐϑϕϖϰϱϵвдостъѣᲀᲁᲂᲃᲄᲅᲆᲇᲈṡẛιΐΰꙋﬅﬆΣ"
    "\u212a\u212b"  # KELVIN SIGN, ANGSTROM SIGN
)

_CLASS_ESCAPES = frozenset("dDsSwWbBAZntrfv")
_QUANTIFIERS = frozenset("?*{")
_COUNT = re.compile(r"\{([0-9]*)(?:,[0-9]*)?\}")


def lowerable(pattern: str) -> bool:
    """True when `pattern` without IGNORECASE on lower-cased text finds what it finds
    with IGNORECASE on the original: no upper-case or specially folded letter, no
    inline flag, comment, conditional, or numeric or named character escape."""
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            following = pattern[index + 1 : index + 2]
            if following.isalnum() and following not in _CLASS_ESCAPES:
                return False  # \x41, \N{...}, \u, octal and backreferences
            index += 2
            continue
        if char == "(" and pattern.startswith("(?", index):
            marker = pattern[index + 2 : index + 3]
            if marker == "P":
                close = ">" if pattern.startswith("(?P<", index) else ")"
                end = pattern.find(close, index)
                if end < 0 or close == ")":
                    return False  # (?P=name) backreference
                index = end + 1
                continue
            if marker not in (":", "=", "!", "<"):
                return False  # inline flags, comments, conditionals
        if char != char.lower() or char in SPECIAL_FOLDS:
            return False
        index += 1
    return True


# kind ("lit", "group" or "other"), its text, appears at least once, appears exactly once
_Atom = tuple[str, str, bool, bool]


def _top_branches(pattern: str) -> list[list[_Atom]]:
    """The pattern's top-level alternatives, each as its sequence of atoms."""
    branches: list[list[_Atom]] = [[]]
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "|":
            branches.append([])
            index += 1
            continue
        kind, text, index = _atom(pattern, index)
        after, required = _quantifier(pattern, index)
        branches[-1].append((kind, text, required, after == index))
        index = after
    return branches


def _atom(pattern: str, index: int) -> tuple[str, str, int]:
    """The atom starting at `index`: its kind, its text and where it ends."""
    char = pattern[index]
    if char == "\\":
        escaped = pattern[index + 1 : index + 2]
        return ("lit" if escaped and not escaped.isalnum() else "other"), escaped, index + 2
    if char == "[":
        return "other", "", _class_end(pattern, index)
    if char == "(":
        end = _group_end(pattern, index)
        inner = pattern[index + 1 : end]
        if inner.startswith("?P<"):
            return "group", inner[inner.find(">") + 1 :], end + 1
        if inner.startswith("?:"):
            return "group", inner[2:], end + 1
        return ("other", "", end + 1) if inner.startswith("?") else ("group", inner, end + 1)
    if char in ".^$":
        return "other", "", index + 1
    return "lit", char, index + 1


def _class_end(pattern: str, index: int) -> int:
    """Index after the `]` closing the class opened at `index` (`[]...]` holds a `]`)."""
    index += 1
    index += 1 if pattern.startswith("^", index) else 0
    index += 1 if pattern.startswith("]", index) else 0
    while index < len(pattern) and pattern[index] != "]":
        index += 2 if pattern[index] == "\\" else 1
    return index + 1


def _group_end(pattern: str, index: int) -> int:
    """Index of the `)` closing the group opened at `index`."""
    depth = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":
            index = _class_end(pattern, index)
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return index
        index += 1
    return index


def _quantifier(pattern: str, index: int) -> tuple[int, bool]:
    """Skip a quantifier after an atom; say whether the atom must still appear (the
    index is unchanged when there is no quantifier)."""
    char = pattern[index : index + 1]
    required = True
    if char and char in "?*+":
        required = char == "+"
        index += 1
    elif char == "{" and (counted := _COUNT.match(pattern, index)):
        required = counted.group(1) not in ("", "0")
        index = counted.end()
    else:
        return index, True
    if pattern[index : index + 1] in ("?", "+"):
        index += 1  # lazy or possessive
    return index, required


def required_literals(pattern: str) -> tuple[str, ...]:
    """Plain strings one of which every match of `pattern` contains; () if unsure."""
    alternatives = [_required(atoms) for atoms in _top_branches(pattern)]
    if not all(alternatives):
        return ()
    return tuple(sorted({word for words in alternatives for word in words}))


def _required(atoms: Sequence[_Atom]) -> tuple[str, ...]:
    """The best set of strings one of which a match of this sequence contains."""
    best: tuple[str, ...] = ()
    run: list[str] = []

    def better(found: tuple[str, ...]) -> None:
        nonlocal best
        if found and (not best or _score(found) > _score(best)):
            best = found

    for kind, text, required, once in atoms:
        if kind == "lit" and required:
            run.append(text)
            if once:
                continue
            # "ab+c" matches "abbc": a repeated letter ends the run
            better(("".join(run),))
            run = []
            continue
        better(("".join(run),) if run else ())
        run = []
        if kind == "group" and required:
            better(required_literals(text))
    better(("".join(run),) if run else ())
    return best


def _score(words: tuple[str, ...]) -> tuple[int, int]:
    return min(map(len, words)), -len(words)


def required_sets(pattern: str) -> tuple[tuple[str, ...], ...]:
    """Sets of plain strings such that every match of `pattern` (one top-level
    alternative) contains one string of EACH set; the most selective set first."""
    branches = _top_branches(pattern)
    if len(branches) != 1:
        literals = required_literals(pattern)
        return (literals,) if literals else ()
    found: list[tuple[str, ...]] = []
    run: list[str] = []
    for kind, text, required, once in branches[0]:
        if kind == "lit" and required:
            run.append(text)
            if not once:
                found.append(("".join(run),))
                run = []
            continue
        if run:
            found.append(("".join(run),))
        run = []
        if kind == "group" and required and (words := required_literals(text)):
            found.append(words)
    if run:
        found.append(("".join(run),))
    ranked = sorted(dict.fromkeys(found), key=_score, reverse=True)
    # Short strings are in nearly every line: testing them costs more than it saves.
    return tuple(ranked[:1] + [words for words in ranked[1:3] if _score(words)[0] >= 3])
