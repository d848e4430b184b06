"""Typed, checked access to TOML tables: the one set of validation helpers.

The configuration loader, the `[[rules]]` loader and the actions settings all read
their values through `Table`, so every mistake becomes the same `ConfigError`
naming the file, the full key and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, TypeVar, overload

from adminbot.errors import ConfigError

_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")
_U = TypeVar("_U")
_D = TypeVar("_D")
SPELLING_HINT = "check the spelling in adminbot.example.toml"


class Table:
    """One TOML table; reports the full key (`actions.owner`, `rules[2].name`) on any mistake."""

    def __init__(self, data: Mapping[str, Any], prefix: str, file: str | None) -> None:
        self.data = data
        self.prefix = prefix
        self.file = file
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def fail(self, name: str, message: str) -> ConfigError:
        return ConfigError(self.key(name), message, self.file)

    def __contains__(self, name: str) -> bool:
        return name in self.data

    @overload
    def get(self, name: str, kind: type[_T], default: _D) -> _T | _D: ...
    @overload
    def get(self, name: str, kind: tuple[type[_T], type[_U]], default: _D) -> _T | _U | _D: ...
    def get(self, name: str, kind: type | tuple[type, ...], default: object) -> object:
        self.used.add(name)
        if name not in self.data:
            return default
        value = self.data[name]
        if isinstance(value, bool) and bool not in _as_tuple(kind):
            raise self.fail(name, f"expected {_kind_name(kind)}, got a boolean")
        if not isinstance(value, kind):
            raise self.fail(name, f"expected {_kind_name(kind)}, got {type(value).__name__}")
        return value

    def number(
        self,
        name: str,
        default: float | None,
        *,
        minimum: float = 0.0,
        maximum: float | None = None,
    ) -> float | None:
        """A number within limits; 0 is a value like any other, never "unset"."""
        value = self.get(name, (int, float), default)
        if value is None:
            return None
        if value < minimum:
            raise self.fail(name, f"must be at least {minimum:g}, got {value}")
        if maximum is not None and value > maximum:
            raise self.fail(name, f"must be at most {maximum:g}, got {value}")
        return float(value)

    def integer(self, name: str, default: int, *, minimum: int = 0) -> int:
        value = self.get(name, int, default)
        if value < minimum:
            raise self.fail(name, f"must be at least {minimum}, got {value}")
        return int(value)

    def required(self, name: str) -> str:
        if name not in self.data:
            self.used.add(name)
            raise self.fail(name, "is required")
        value = self.data[name]
        self.used.add(name)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, f"must be a non-empty string, not {value!r}")
        return value

    def strings(self, name: str, default: Sequence[str] = ()) -> tuple[str, ...]:
        """A list of non-empty strings; a single string counts as a list of one."""
        value = self.get(name, (list, str), list(default))
        items = [value] if isinstance(value, str) else value
        for index, item in enumerate(items):
            if not isinstance(item, str) or not item:
                raise self.fail(f"{name}[{index}]", "expected a non-empty string")
        return tuple(items)

    def choice(self, name: str, kind: type[_E], default: _E) -> _E:
        """One member of a string enum, case-insensitive."""
        self.used.add(name)
        if name not in self.data:
            return default
        return self.member(name, kind, self.data[name])

    def member(self, name: str, kind: type[_E], value: object) -> _E:
        choices = ", ".join(member.value for member in kind)
        if isinstance(value, str):
            try:
                return kind(value.lower())
            except ValueError:
                pass
        raise self.fail(name, f"must be one of {choices}, got {value!r}")

    def table(self, name: str) -> Table:
        value = self.get(name, dict, {})
        return Table(value, f"{self.key(name)}.", self.file)

    def reject_unknown(self, expected: Sequence[str] = ()) -> None:
        """Refuse keys outside `expected` (default: keys nothing read): a misspelt key
        must not be silently ignored."""
        known = set(expected) or self.used
        hint = f"expected one of: {', '.join(expected)}" if expected else SPELLING_HINT
        for name in self.data:
            if name not in known:
                raise self.fail(name, f"unknown key ({hint})")


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    if set(_as_tuple(kind)) == {int, float}:
        return "a number"
    names = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false"}
    names |= {"list": "a list", "dict": "a table"}
    return " or ".join(names.get(k.__name__, k.__name__) for k in _as_tuple(kind))
