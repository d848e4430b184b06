"""Rules the admin made in the chat: the queries of the `user_rules` table.

A row is all a drafted rule needs to be rebuilt at start (name, pattern, severity)
and who made it when. It runs on the `Store`'s connection, like `KindStore`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from adminbot.models import Severity
from adminbot.store.sqlite import Store


@dataclass(frozen=True, slots=True)
class UserRule:
    """One rule made in the chat, as stored."""

    name: str
    pattern: str
    severity: Severity
    created_at: datetime
    created_by: str


class UserRuleStore:
    """The `user_rules` table, through the store's connection."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, rule: UserRule) -> bool:
        """Store a rule once; False if one of that name is already stored."""
        with self._store.connection() as db:
            cursor = db.execute(
                "INSERT INTO user_rules (name, pattern, severity, created_at, created_by) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                (
                    rule.name,
                    rule.pattern,
                    rule.severity.value,
                    rule.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
                    rule.created_by,
                ),
            )
            return cursor.rowcount == 1

    def all(self) -> list[UserRule]:
        """Every stored rule, oldest first."""
        with self._store.connection() as db:
            rows = db.execute(
                "SELECT name, pattern, severity, created_at, created_by FROM user_rules "
                "ORDER BY created_at, name"
            ).fetchall()
        return [
            UserRule(
                name=row[0],
                pattern=row[1],
                severity=Severity(row[2]),
                created_at=datetime.fromisoformat(row[3]),
                created_by=row[4],
            )
            for row in rows
        ]
