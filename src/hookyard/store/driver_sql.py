"""Statements the delivery hot path hands to the driver as they are.

SQLAlchemy compiles, caches and converts every parameter of every row; on the path that claims
and finishes thousands of deliveries a second that is most of the store's CPU. These statements
are written once per dialect in the driver's own parameter style (`?` for sqlite3, `$n` for
asyncpg), with rows as plain tuples: on SQLite they run on the hot-path `sqlite3` connection
(`Database.run_write`), on PostgreSQL with `exec_driver_sql` inside a SQLAlchemy transaction.
Datetimes still go through `UTCDateTime`'s own processors, so they are stored exactly as
everywhere else (SQLite compares them as text).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.engine import Dialect

from hookyard.store.schema import UTCDateTime


class DriverSql:
    """Parameter style and value conversions of one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.is_postgres = dialect.name == "postgresql"
        # The dialect's own implementation (on SQLite: text in SQLAlchemy's exact format, which
        # the plain `UTCDateTime().bind_processor` would skip, leaving sqlite3's adapter to
        # drop the fraction of a whole second).
        bind = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
        self._bind: Callable[[Any], Any] = bind if bind is not None else _same

    def timestamp(self, value: datetime) -> Any:
        """A UTC-aware datetime as the driver stores it."""
        return self._bind(value)

    def read_timestamp(self, value: Any) -> datetime | None:
        """A stored datetime back as a UTC-aware one."""
        return UTCDateTime().process_result_value(value, self.dialect)

    def marks(self, count: int) -> str:
        """`count` placeholders, comma-separated (numbered from 1 on PostgreSQL)."""
        if self.is_postgres:
            return ", ".join(f"${n}" for n in range(1, count + 1))
        return ", ".join("?" * count)

    def mark(self, number: int) -> str:
        return f"${number}" if self.is_postgres else "?"

    def in_list(self, number: int) -> str:
        """`IN` over one parameter holding a list (see `list_value`)."""
        if self.is_postgres:
            return f"= ANY(${number}::text[])"
        return "IN (SELECT value FROM json_each(?))"

    def list_value(self, values: Sequence[str]) -> Any:
        return list(values) if self.is_postgres else orjson.dumps(list(values)).decode()


def _same(value: Any) -> Any:
    return value
