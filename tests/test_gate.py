"""The literal gate: which of many literals a text holds, in one pass."""

from __future__ import annotations

import random

from adminbot.rules.gate import ALWAYS, LiteralGate


def test_present_is_the_bits_of_exactly_the_literals_a_text_holds() -> None:
    """One-character literals are looked for with `in`, longer ones by the automaton;
    either way a bit is set exactly when its literal is in the text."""
    rng = random.Random(3)
    alphabet = "ab/:'x"
    literals = ["/", ":", "'/", "ab", "b/", "xx", "a", "ab:", "/"]
    gate = LiteralGate(literals)
    for _ in range(2_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
        expected = 0
        for literal in dict.fromkeys(literals):
            if literal in text:
                expected |= gate.mask([literal])
        assert gate.present(text) == expected, text


def test_a_gate_of_single_characters_only_and_an_empty_gate() -> None:
    chars = LiteralGate([":", "/"])
    assert chars.present("a:b") == chars.mask([":"])
    assert chars.present("a/b:") == chars.mask([":", "/"])
    assert LiteralGate([]).present("anything") == 0
    assert chars.mask(["", ":"]) == ALWAYS
