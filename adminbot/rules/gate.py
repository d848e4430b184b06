"""Which of many literals a text holds, found in one pass over it.

The classifier's gates ask "does the lower-cased text hold one of these strings?"
for every rule's keywords and every alternative's required literals: dozens of
`in` tests per text, most of them failing, on every error line of a storm. An
Aho-Corasick automaton (pyahocorasick) answers all of them at once: each literal is
a bit, a text's literals are the bits its pass finds, and a gate is one `&`.
"""

from __future__ import annotations

from collections.abc import Iterable

import ahocorasick  # type: ignore[import-not-found]  # C extension without stubs

ALWAYS = -1
"""The mask of a requirement any text meets (it allows the empty string)."""


class LiteralGate:
    """Literals as bits; `present(text)` is the mask of those `text` holds."""

    def __init__(self, literals: Iterable[str]) -> None:
        self._bits: dict[str, int] = {}
        self._automaton = ahocorasick.Automaton()
        # A one-character literal ("/", ":") is in a text many times: each would be one
        # step of the pass's Python loop, where `in` finds it in C.
        chars: list[tuple[str, int]] = []
        for literal in literals:
            if literal and literal not in self._bits:
                bit = 1 << len(self._bits)
                self._bits[literal] = bit
                if len(literal) == 1:
                    chars.append((literal, bit))
                else:
                    self._automaton.add_word(literal, bit)
        self._chars = tuple(chars)
        self._words = len(self._bits) > len(chars)
        if self._words:
            self._automaton.make_automaton()

    def mask(self, words: Iterable[str]) -> int:
        """The bits of `words`, one of which a text must hold; ALWAYS if "" is one."""
        bits = 0
        for word in words:
            if not word:
                return ALWAYS
            bits |= self._bits[word]
        return bits

    def present(self, text: str) -> int:
        """The mask of the literals `text` holds (0 when it holds none)."""
        bits = 0
        if self._words:
            for _, bit in self._automaton.iter(text):
                bits |= bit
        for char, bit in self._chars:
            if char in text:
                bits |= bit
        return bits
