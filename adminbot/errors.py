"""Exceptions that cross module boundaries."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration value is missing or wrong; the CLI prints it and exits 2."""

    def __init__(self, key: str, message: str, file: str | None = None) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message
        self.file = file

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        return f"{where}{self.key}: {self.message}"


class ActionRefused(Exception):
    """An action's parameters failed validation; nothing was touched."""


class StartupError(Exception):
    """adminbot cannot start (a store it cannot open, a port in use); the CLI prints it, exits 2."""


class StoreError(ConfigError):
    """The store's file cannot be used (not SQLite, unreadable); one line, exit 2, untouched."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__("store", message, path)
