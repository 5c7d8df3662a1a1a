"""Core statements compiled once and run on a plain DB-API connection.

Through SQLAlchemy's async engine a statement costs tens of microseconds of Python before the
driver sees it, and through aiosqlite each statement is also three or four trips to the driver's
thread and back. A transaction that runs whole on a plain `sqlite3` connection
(`Database.run_write`) compiles its Core statements here instead, once per shape: the SQL text,
the order of the parameters, and each parameter's bind processor from the dialect, so values (a
`UTCDateTime`, a body) are stored exactly as the SQLAlchemy path stores them. Unlike
`driver_sql`, whose statements are written by hand per dialect, these come from the Core
statements themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import Connection, Dialect, Insert, Table
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None
T = TypeVar("T")


class DbapiConnection(Protocol):
    """What is used of a DB-API connection (`sqlite3.Connection` is one)."""

    def execute(self, sql: str, parameters: Sequence[Any], /) -> Any: ...

    def executemany(self, sql: str, parameters: Sequence[Sequence[Any]], /) -> Any: ...


class Prepared:
    """One statement compiled for `dialect`, with its parameters in the driver's order."""

    def __init__(
        self, statement: Executable, dialect: Dialect, column_keys: Sequence[str] = ()
    ) -> None:
        element = cast(ClauseElement, statement)
        keys = list(column_keys) or None
        compiled = cast(SQLCompiler, element.compile(dialect=dialect, column_keys=keys))
        if not compiled.positional or compiled.positiontup is None:
            raise ValueError(f"{dialect.name} does not take positional parameters")
        self.sql = compiled.string
        self._slots: list[tuple[str, Any]] = []
        self._processors: list[Processor] = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            self._slots.append((name, bind.effective_value))
            self._processors.append(bind.type.dialect_impl(dialect).bind_processor(dialect))

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The driver's parameters for `values` (a bound constant takes its own value)."""
        return self.many([values])[0]

    def many(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        """`parameters` of each row (see `_bound` for values the rows share)."""
        columns = [
            _bound([row.get(name, constant) for row in rows], processor)
            for (name, constant), processor in zip(self._slots, self._processors, strict=True)
        ]
        return list(zip(*columns, strict=True))


def _bound(values: list[Any], processor: Processor) -> list[Any]:
    """One column's values through its bind processor, in place. A value object that comes
    again (the `now` every row of an ingest shares) is processed once; the rows keep each value
    alive, so its id stays unique meanwhile."""
    if processor is None:
        return values
    done: dict[int, Any] = {}
    for i, value in enumerate(values):
        if value is not None:
            if id(value) not in done:
                done[id(value)] = processor(value)
            values[i] = done[id(value)]
    return values


class StatementRunner(Protocol):
    """Runs Core statements from synchronous code, whatever carries them to the database."""

    def rows(self, statement: Executable, values: Mapping[str, Any]) -> list[Sequence[Any]]:
        """Every row the query returns, as tuples."""
        ...

    def insert(self, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert `rows` (one or more, each with the same keys)."""
        ...


class CoreStatements:
    """A `StatementRunner` over SQLAlchemy's synchronous `Connection` (from `run_sync`)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def rows(self, statement: Executable, values: Mapping[str, Any]) -> list[Sequence[Any]]:
        return [tuple(row) for row in self._connection.execute(statement, dict(values))]

    def insert(self, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
        dialect = self._connection.dialect
        if dialect.name != "postgresql" or len(rows) < 2 or not isinstance(statement, Insert):
            self._connection.execute(statement, [dict(row) for row in rows])
            return
        # PostgreSQL: one INSERT ... SELECT FROM unnest(column arrays), one execution for the
        # whole batch, instead of SQLAlchemy's per-row parameter processing.
        bulk = _unnest(statement, tuple(rows[0]), dialect)
        self._connection.exec_driver_sql(bulk.sql, bulk.columns(rows))


class _Unnest:
    """`INSERT INTO t (...) SELECT * FROM unnest($1::type[], ...)` for one table and columns."""

    def __init__(self, statement: Insert, keys: tuple[str, ...], dialect: Dialect) -> None:
        table = cast(Table, statement.table)
        columns = [table.c[key] for key in keys]
        arrays = ", ".join(
            f"${n}::{column.type.compile(dialect=dialect)}[]"
            for n, column in enumerate(columns, start=1)
        )
        self.sql = f"INSERT INTO {table.name} ({', '.join(keys)}) SELECT * FROM unnest({arrays})"  # noqa: S608
        self._keys = keys
        self._processors = [
            column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns
        ]

    def columns(self, rows: Sequence[Mapping[str, Any]]) -> tuple[list[Any], ...]:
        return tuple(
            _bound([row[key] for row in rows], processor)
            for key, processor in zip(self._keys, self._processors, strict=True)
        )


_UNNEST: dict[tuple[int, tuple[str, ...]], tuple[Executable, _Unnest]] = {}


def _unnest(statement: Insert, keys: tuple[str, ...], dialect: Dialect) -> _Unnest:
    return _compiled_once(_UNNEST, statement, keys, lambda: _Unnest(statement, keys, dialect))


def _compiled_once(
    cache: dict[tuple[int, tuple[str, ...]], tuple[Executable, T]],
    statement: Executable,
    keys: tuple[str, ...],
    build: Callable[[], T],
) -> T:
    """`build()` for (statement, keys), made once. Statements are module constants, so they are
    keyed by id, and the statement is kept beside its entry so that a reused id is noticed."""
    found = cache.get((id(statement), keys))
    if found is None or found[0] is not statement:
        found = cache[(id(statement), keys)] = (statement, build())
    return found[1]


class Statements:
    """A `StatementRunner` over a DB-API connection, each statement compiled once per shape."""

    def __init__(self, connection: DbapiConnection, dialect: Dialect, cache: PreparedCache) -> None:
        self._connection = connection
        self._dialect = dialect
        self._cache = cache

    def rows(self, statement: Executable, values: Mapping[str, Any]) -> list[Sequence[Any]]:
        prepared = self._cache.get(statement, self._dialect)
        cursor = self._connection.execute(prepared.sql, prepared.parameters(values))
        return list(cursor.fetchall())

    def insert(self, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
        prepared = self._cache.get(statement, self._dialect, tuple(rows[0]))
        self._connection.executemany(prepared.sql, prepared.many(rows))


class PreparedCache:
    """Compiled statements by (statement, column keys); statements are module constants."""

    def __init__(self) -> None:
        self._compiled: dict[tuple[int, tuple[str, ...]], tuple[Executable, Prepared]] = {}

    def get(
        self, statement: Executable, dialect: Dialect, column_keys: tuple[str, ...] = ()
    ) -> Prepared:
        return _compiled_once(
            self._compiled,
            statement,
            column_keys,
            lambda: Prepared(statement, dialect, column_keys),
        )
