"""The rules in force while adminbot runs: the configuration's, plus those made in the chat.

The configuration's book is fixed at start; a rule the admin confirms in the chat is
added here, and the book and its compiled `RuleSet` are replaced together, so every
reader (the monitor's classifier, the remedies' policy lookups) sees one or the other,
never half of a change.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence

from adminbot.rules.loader import with_user_rules
from adminbot.rules.ruleset import RuleSet, ruleset_of
from adminbot.rules.spec import RuleBook, RuleSpec


class RuleSource(Mapping[str, RuleSpec]):
    """The current rule book by name, and its compiled rule set for the classifier."""

    def __init__(self, config_book: RuleBook, user: Sequence[RuleSpec] = ()) -> None:
        self._config_book = config_book
        self._user = tuple(user)
        self._lock = threading.Lock()
        book = with_user_rules(config_book, self._user)
        self._current = (book, ruleset_of(book))

    @property
    def book(self) -> RuleBook:
        return self._current[0]

    @property
    def ruleset(self) -> RuleSet:
        """The compiled rules now in force; a new object after every `add`."""
        return self._current[1]

    @property
    def user(self) -> tuple[RuleSpec, ...]:
        """The rules made in the chat, oldest first (those the configuration shadows too)."""
        return self._user

    def add(self, spec: RuleSpec) -> bool:
        """Put a rule made in the chat in force at once; False if its name is taken."""
        with self._lock:
            if spec.name in self._current[0]:
                return False
            user = (*self._user, spec)
            book = with_user_rules(self._config_book, user)
            current = (book, ruleset_of(book))  # compiled before anyone can see it
            self._user = user
            self._current = current
            return True

    def __getitem__(self, name: str) -> RuleSpec:
        return self._current[0][name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current[0])

    def __len__(self) -> int:
        return len(self._current[0])
