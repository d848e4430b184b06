"""The SQLite store's SQL, spoken to PostgreSQL: one text per query, a few dialect rewrites.

`Store` (sqlite.py) holds every query once. `PgStore` runs the same methods on a
`PgConnection`, which offers the part of `sqlite3.Connection` the store uses
(`execute`, `executemany`, `rowcount`, `lastrowid`, `in_transaction`, rows read by
name or position) and rewrites the few constructs SQLite and PostgreSQL spell
differently. A query that cannot be rewritten this way belongs in an override in
postgres.py; `translate` is tested on every rewrite it makes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import pq
from psycopg.rows import RowMaker

from adminbot.store.errors import StoreUnreachable

logger = logging.getLogger(__name__)

ID_TABLES = frozenset(
    {"incidents", "occurrences", "transitions", "audit", "outbox", "storms", "kinds", "work"}
)
"""Tables with a serial `id`: an INSERT into one returns it, for `lastrowid`."""

_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    # `offset` is a reserved word in PostgreSQL; the column is quoted there.
    (re.compile(r"(?<![\w\"])offset(?![\w\"])"), '"offset"'),
    # SQLite's scalar two-argument min()/max() are LEAST()/GREATEST().
    (re.compile(r"\bmin\((\w+), "), r"LEAST(\1, "),
    (re.compile(r"\bmax\((\w+), "), r"GREATEST(\1, "),
    # `x IS ?` compares with NULL as a value.
    (re.compile(r"\bIS \?"), "IS NOT DISTINCT FROM ?"),
    (re.compile(r"^BEGIN IMMEDIATE$"), "BEGIN"),
)
_INSERT = re.compile(r"^\s*INSERT INTO (\w+)", re.IGNORECASE)
CONNECT_TIMEOUT = 5
"""Seconds a (re)connection may take: an agent must not hang on a server that is gone."""

IDLE_IN_TRANSACTION_MS = 5000
"""The server ends a session that sits in a transaction this long. A process frozen
inside one (a paused VM, SIGSTOP) would otherwise hold its row locks for good, and the
other hosts' writes to those rows (the front lease, an outbox claim) would wait behind
it; ours last milliseconds, so only a frozen or dead process is ever cut off."""


def _reason(exc: psycopg.Error) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


@lru_cache(maxsize=512)
def translate(sql: str) -> tuple[str, bool]:
    """The PostgreSQL text of a store query, and whether it returns a new row's id."""
    text = sql.replace("%", "%%")
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    text = text.replace("?", "%s")
    found = _INSERT.match(text)
    returns_id = bool(found and found.group(1) in ID_TABLES and "RETURNING" not in text)
    if returns_id:
        text += " RETURNING id"
    return text, returns_id


class PgRow(tuple[Any, ...]):
    """A row read by position or by column name, like `sqlite3.Row`."""

    _names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> PgRow:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(self._names[key])
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        return list(self._names)


def _pg_rows(cursor: psycopg.Cursor[Any]) -> RowMaker[PgRow]:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: PgRow(values, names)


class PgCursor:
    """What one statement left: its rows, how many rows it changed, the new id."""

    def __init__(self, cursor: psycopg.Cursor[PgRow] | None, returns_id: bool) -> None:
        self._cursor = cursor
        self.rowcount = -1 if cursor is None else cursor.rowcount
        self.lastrowid: int | None = None
        if returns_id and cursor is not None:
            found = cursor.fetchone()
            self.lastrowid = None if found is None else int(found[0])

    def fetchone(self) -> PgRow | None:
        if self._cursor is None or not self._cursor.description:
            return None
        return self._cursor.fetchone()

    def fetchall(self) -> list[PgRow]:
        if self._cursor is None or not self._cursor.description:
            return []
        return self._cursor.fetchall()

    def __iter__(self) -> Iterator[PgRow]:
        return iter(self.fetchall())


class PgConnection:
    """One PostgreSQL connection in autocommit mode; the store's BEGIN/COMMIT group writes.

    Values are bound on the client (`ClientCursor`), as SQLite binds them: the server
    never has to guess the type of a parameter like `? IS NULL`.

    A lost connection is opened again at the next statement, once the server is back;
    meanwhile every statement raises `StoreUnreachable`. A transaction whose
    connection was lost is never continued on a new one (its first writes are gone):
    its statements fail until the store rolls it back.
    """

    def __init__(self, url: str, *, connect_timeout: int = CONNECT_TIMEOUT) -> None:
        self._url = url
        self._timeout = connect_timeout
        self._began = False
        self.raw = self._connect()

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            self._url,
            autocommit=True,
            cursor_factory=psycopg.ClientCursor,
            connect_timeout=self._timeout,
            options=f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}",
        )

    @property
    def lost(self) -> bool:
        return self.raw.closed or self.raw.broken

    @property
    def in_transaction(self) -> bool:
        if self.lost:
            return self._began
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    def _ready(self, text: str) -> bool:
        """Reconnect if the connection was lost; False for a ROLLBACK with nothing to undo."""
        if not self.lost:
            return True
        if self._began:
            if text == "ROLLBACK":
                self._began = False
                return False
            raise StoreUnreachable("the connection to PostgreSQL was lost in a transaction")
        try:
            self.raw = self._connect()
        except psycopg.OperationalError as exc:
            raise StoreUnreachable(_reason(exc)) from exc
        logger.warning("Connected to PostgreSQL again")
        return True

    def execute(self, sql: str, args: Sequence[Any] = ()) -> PgCursor:
        text, returns_id = translate(sql)
        if not self._ready(text):
            return PgCursor(None, False)
        cursor = self.raw.cursor(row_factory=_pg_rows)
        try:
            cursor.execute(text, tuple(args))
        except psycopg.OperationalError as exc:
            raise StoreUnreachable(_reason(exc)) from exc
        finally:
            if text == "BEGIN":
                self._began = True
            elif text in ("COMMIT", "ROLLBACK"):
                self._began = False
        return PgCursor(cursor, returns_id)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        text, _ = translate(sql)
        if text.endswith(" RETURNING id"):
            text = text.removesuffix(" RETURNING id")
        self._ready(text)
        try:
            with self.raw.cursor() as cursor:
                cursor.executemany(text, [tuple(r) for r in rows])
        except psycopg.OperationalError as exc:
            raise StoreUnreachable(_reason(exc)) from exc

    def close(self) -> None:
        self.raw.close()
