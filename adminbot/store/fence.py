"""The proof a front carries with its outbox writes: who holds the role, and in which term."""

from __future__ import annotations

from dataclasses import dataclass

FRONT = "front"
"""The role of the one process that polls Telegram and drains the outbox."""


@dataclass(frozen=True, slots=True)
class Fence:
    """A lease as its holder knows it: a write under it counts only while it is current.

    `epoch` grows by one each time the role changes hands (or its holder lets it lapse),
    so a claim made under an older epoch is recognisably a deposed front's."""

    holder: str
    epoch: int
    role: str = FRONT
