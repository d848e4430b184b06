"""A rule drafted from a mined kind: its name, its regex, and what it would change.

A kind's template (`adminbot.kinds.mask`) is its words with placeholders; the regex
keeps the words (escaped, any run of spaces) and turns each placeholder into what
it stood for: a named group for the first file id, path, size and number (so the
rule's incidents show them as fields), a lazy wildcard for the rest. The preview
runs the regex over lines the store already holds, so the admin sees what the rule
would catch before it exists.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from adminbot.kinds.drain import WILDCARD
from adminbot.rules.loader import NAME_RE

_PLACEHOLDER = re.compile(r"<[A-Z_]+>|<\*>")
_SPACES = re.compile(r"\s+")
_WORDS = re.compile(r"[a-z][a-z0-9]*")
MAX_NAME_WORDS = 4
NAME_LENGTH = 40
"""Short enough for a button's data and a headline; NAME_RE allows 64."""

# Placeholder → (group name or None, what it matched in the masked text).
_SHAPES: dict[str, tuple[str | None, str]] = {
    "<FILE_ID>": ("file_id", r"[A-Za-z0-9_-]{12,}"),
    "<PATH>": ("path", r"\S+"),
    "<SIZE>": ("size", r"\d+(?:\.\d+)?\s?(?:[KMGT]i?B|bytes?|B)"),
    "<NUM>": ("num", r"[-+]?\d+(?:[.,]\d+)*"),
    "<DURATION>": (None, r"(?:\d+(?:\.\d+)?(?:ms|us|µs|ns|[smhd])){1,4}"),
    "<IP>": (None, r"[0-9A-Fa-f.:]+"),
    "<HEX>": (None, r"(?:0x)?[0-9A-Fa-f]+"),
    "<UUID>": (None, r"[0-9A-Fa-f-]{36}"),
    "<ID>": (None, r"[A-Za-z0-9_-]+"),
    WILDCARD: (None, r"\S+"),
}
_ANY = r".+?"
"""Any other placeholder (<URL>, <TIME>, <STR>, <TOKEN>): whatever stands there."""


class DraftError(ValueError):
    """A template that no useful rule can be drafted from (it has no words of its own)."""


def derive_pattern(template: str) -> str:
    """A case-insensitive regex for the lines of a template: literals escaped, masks as groups.

    1. Split the template at its placeholders.
    2. Escape each literal, any run of spaces matching any run of spaces.
    3. Each placeholder becomes its shape; the first of a named kind, a named group.
    """
    literal = "".join(_PLACEHOLDER.split(template)).strip()
    if not re.search(r"[A-Za-z]{2}", literal):
        raise DraftError(f"template {template!r} has no words of its own")
    named: set[str] = set()
    out: list[str] = []
    position = 0
    for found in _PLACEHOLDER.finditer(template):
        out.append(_literal(template[position : found.start()]))
        name, shape = _SHAPES.get(found.group(0), (None, _ANY))
        if name is not None and name not in named:
            named.add(name)
            out.append(f"(?P<{name}>{shape})")
        else:
            out.append(f"(?:{shape})")
        position = found.end()
    out.append(_literal(template[position:]))
    pattern = "".join(out)
    compiled = re.compile(pattern, re.IGNORECASE)
    if compiled.search(""):
        raise DraftError(f"template {template!r} would match an empty line")
    return pattern


def _literal(text: str) -> str:
    return r"\s+".join(re.escape(part) for part in _SPACES.split(text))


def propose_name(template: str, taken: Collection[str]) -> str:
    """A rule name from the template's first words, `[a-z0-9_]`, not one of `taken`."""
    words = _WORDS.findall(_PLACEHOLDER.sub(" ", template).lower())
    base = "_".join(words[:MAX_NAME_WORDS])[:NAME_LENGTH].strip("_") or "regla"
    name, number = base, 2
    while name in taken:
        suffix = f"_{number}"
        name = base[: NAME_LENGTH - len(suffix)] + suffix
        number += 1
    assert NAME_RE.fullmatch(name)
    return name


@dataclass(frozen=True, slots=True)
class Proposal:
    """A rule drafted from kind `kind_id`; `digest` binds a confirmation to exactly it."""

    kind_id: int
    name: str
    pattern: str
    template: str

    @property
    def digest(self) -> str:
        text = f"{self.kind_id}\n{self.name}\n{self.pattern}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def draft(kind_id: int, template: str, samples: Sequence[str], taken: Collection[str]) -> Proposal:
    """The proposal for a kind; refused when its regex does not match its own samples."""
    pattern = derive_pattern(template)
    regex = re.compile(pattern, re.IGNORECASE)
    missed = [sample for sample in samples if not regex.search(sample)]
    if missed:
        raise DraftError(f"the drafted regex misses a sample of the kind: {missed[0]!r}")
    return Proposal(kind_id, propose_name(template, taken), pattern, template)


@dataclass(frozen=True, slots=True)
class Seen:
    """An incident the store holds, with the lines it keeps of it."""

    incident_id: int
    rule: str
    key: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Taken:
    """An incident some of whose stored lines the new rule would match (and so take)."""

    incident_id: int
    rule: str
    lines: int


@dataclass(frozen=True, slots=True)
class Preview:
    """What a proposal would match among what the store holds (see `preview`)."""

    samples: int
    samples_matched: int
    lines: int
    lines_matched: int
    incidents: int
    own: tuple[Taken, ...]
    """Incidents of the kind itself (its `nuevo_tipo` alerts): what the rule is for."""
    new_kinds: tuple[Taken, ...]
    """Alerts of other new kinds it would also catch."""
    other_rules: tuple[Taken, ...]
    """Incidents of existing rules it would take: a rule from the chat goes first."""


def preview(
    proposal: Proposal, samples: Sequence[str], seen: Iterable[Seen], new_kind_rule: str
) -> Preview:
    """Count the kind's samples and the incidents' stored lines the proposal's regex matches."""
    regex = re.compile(proposal.pattern, re.IGNORECASE)
    own: list[Taken] = []
    new_kinds: list[Taken] = []
    other: list[Taken] = []
    lines = matched = incidents = 0
    for incident in seen:
        incidents += 1
        hits = sum(1 for line in incident.lines if regex.search(line))
        lines += len(incident.lines)
        matched += hits
        if not hits:
            continue
        taken = Taken(incident.incident_id, incident.rule, hits)
        if incident.rule == new_kind_rule and incident.key == str(proposal.kind_id):
            own.append(taken)
        elif incident.rule == new_kind_rule:
            new_kinds.append(taken)
        else:
            other.append(taken)
    return Preview(
        samples=len(samples),
        samples_matched=sum(1 for sample in samples if regex.search(sample)),
        lines=lines,
        lines_matched=matched,
        incidents=incidents,
        own=tuple(own),
        new_kinds=tuple(new_kinds),
        other_rules=tuple(other),
    )
