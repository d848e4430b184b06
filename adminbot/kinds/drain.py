"""Drain, the online log-template miner (He et al., ICWS 2017), small and typed.

A message, already masked and split into words, goes down a tree of fixed depth:
first by its number of words, then by its first words (`depth - 2` of them; a word
with a digit, or one past `max_children` at a node, goes down the wildcard branch).
At the leaf it joins the most similar template, if the share of equal words reaches
`similarity`; the words that differ become wildcards. Otherwise it starts a new
template. Templates are numbered from 0 in the order they appear; the caller maps
these numbers to whatever ids it stores.

One departure from the paper, because these templates are kinds of error: two
different lower-case words facing each other ("database is locked" / "database is
malformed") keep a line out of a template however similar the rest is. Values the
masks missed (mixed case, digits, punctuation inside) still become wildcards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

WILDCARD = "<*>"
_MAX_SETTLED = 4096


@dataclass(frozen=True, slots=True)
class Placed:
    """Where one message went: its template's number and words, and what changed."""

    index: int
    template: tuple[str, ...]
    created: bool
    generalised: bool  # an existing template got a new wildcard


@dataclass(slots=True)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    clusters: list[int] = field(default_factory=list)


class Drain:
    """A fixed-depth prefix tree of templates; `add` places a message and learns from it."""

    def __init__(
        self,
        *,
        depth: int = 4,
        similarity: float = 0.5,
        max_children: int = 100,
        max_templates: int = 5000,
    ) -> None:
        if depth < 3:
            raise ValueError("depth must be at least 3 (root, length, one word)")
        if not 0.0 < similarity <= 1.0:
            raise ValueError("similarity must be in (0, 1]")
        self._prefix = depth - 2
        self._similarity = similarity
        self._max_children = max_children
        self._max_templates = max_templates
        self._by_length: dict[int, _Node] = {}
        self._templates: list[tuple[str, ...]] = []
        # Messages that went into a template and changed nothing: until a template is
        # made or generalised, the same words go to the same one (a storm repeats them).
        self._settled: dict[tuple[str, ...], int] = {}

    def __len__(self) -> int:
        return len(self._templates)

    @property
    def full(self) -> bool:
        return len(self._templates) >= self._max_templates

    def template(self, index: int) -> tuple[str, ...]:
        return self._templates[index]

    def add(self, words: Sequence[str]) -> Placed | None:
        """Place `words` in the best template, or a new one; None when a new one is
        needed and the tree is full."""
        words = tuple(words)
        settled = self._settled.get(words)
        if settled is not None:
            return Placed(settled, self._templates[settled], created=False, generalised=False)
        found = self.match(words)
        if found is None:
            if self.full:
                return None
            self._settled.clear()
            return Placed(self._insert(words), words, created=True, generalised=False)
        old = self._templates[found]
        merged = tuple(a if a == b else WILDCARD for a, b in zip(old, words, strict=True))
        if merged != old:
            self._templates[found] = merged
            self._settled.clear()
        elif len(self._settled) < _MAX_SETTLED:
            self._settled[words] = found
        return Placed(found, merged, created=False, generalised=merged != old)

    def restore(self, template: Sequence[str]) -> int:
        """Put back a template kept from an earlier run, as it was; its new number."""
        self._settled.clear()
        return self._insert(tuple(template))

    def match(self, words: Sequence[str]) -> int | None:
        """The number of the template `words` belong to, without learning from them."""
        node = self._by_length.get(len(words))
        if node is None:
            return None
        for word in words[: min(self._prefix - 1, len(words) - 1)]:
            child = node.children.get(word) or node.children.get(WILDCARD)
            if child is None:
                return None
            node = child
        return self._best(node.clusters, words)

    def _best(self, candidates: Sequence[int], words: Sequence[str]) -> int | None:
        """The most similar template (ties: the one with more wildcards), if similar enough.

        Similarity is the share of words equal to the template's; a wildcard counts as
        no match, so a template that has learnt many wildcards stops absorbing more."""
        best: int | None = None
        best_score = (-1.0, -1)
        for index in candidates:
            template = self._templates[index]
            pairs = list(zip(template, words, strict=True))
            if any(a != b and _wording(a) and _wording(b) for a, b in pairs):
                continue
            same = sum(1 for a, b in pairs if a == b != WILDCARD)
            score = (same / len(template) if template else 1.0, template.count(WILDCARD))
            if score > best_score:
                best, best_score = index, score
        if best is None or best_score[0] < self._similarity:
            return None
        return best

    def _insert(self, template: tuple[str, ...]) -> int:
        index = len(self._templates)
        self._templates.append(template)
        node = self._by_length.setdefault(len(template), _Node())
        for word in template[: min(self._prefix - 1, len(template) - 1)]:
            node = self._child(node, word)
        node.clusters.append(index)
        return index

    def _child(self, node: _Node, word: str) -> _Node:
        """The branch `word` goes down, made if need be: its own, or the wildcard one
        for a word with a digit or once the node has `max_children` branches."""
        children = node.children
        if word in children:
            return children[word]
        if any(char.isdigit() for char in word) or len(children) >= self._max_children - 1:
            return children.setdefault(WILDCARD, _Node())
        return children.setdefault(word, _Node())


_EDGES = ".,;:!?()[]{}'\"«»“”"


def _wording(word: str) -> bool:
    """A lower-case word of the language (`locked`, `bloqueado,`): what tells kinds apart."""
    core = word.strip(_EDGES)
    return core.isalpha() and core.islower()
