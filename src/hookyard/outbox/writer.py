"""Write an event into the outbox inside the caller's open transaction.

The caller's connection decides how: SQLAlchemy (Connection, Session, AsyncConnection,
AsyncSession), psycopg 3 (Connection, AsyncConnection), asyncpg (Connection), `sqlite3` or
aiosqlite.
Nothing here commits: the row becomes visible to the relay when the caller's transaction
commits, and disappears with it when it rolls back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookyard.outbox import table as outbox_table

_QMARK = ("?", "?", "?", "?")
_FORMAT = ("%s", "%s", "%s", "%s")
_NUMERIC = ("$1", "$2", "$3", "$4")
_NAMED = (":aggregate", ":product", ":event", ":idempotency_key")


def _family(connection: object) -> str:
    module = type(connection).__module__.split(".", 1)[0]
    if module in ("sqlite3", "aiosqlite", "psycopg", "asyncpg", "sqlalchemy"):
        return module
    raise TypeError(
        f"outbox: {type(connection).__qualname__} is not a supported connection; pass a "
        "SQLAlchemy Connection/Session, a psycopg 3 or asyncpg connection, or a sqlite3 one"
    )


def write(
    connection: Any,
    product: str,
    event: Mapping[str, Any],
    *,
    aggregate: str | None = None,
    idempotency_key: str | None = None,
    table: str = outbox_table.DEFAULT_TABLE,
) -> str:
    """Add `event` for `product` to the outbox in `connection`'s transaction; its
    Idempotency-Key. `aggregate` orders events (default: the event's companyId): the relay
    publishes the events of one aggregate in the order they were written."""
    new = outbox_table.row(product, event, aggregate=aggregate, idempotency_key=idempotency_key)
    family = _family(connection)
    if family == "sqlalchemy":
        from sqlalchemy import text

        connection.execute(text(outbox_table.insert_sql(table, _NAMED)), new.named())
    elif family == "psycopg":
        connection.execute(outbox_table.insert_sql(table, _FORMAT), new.values())
    elif family == "sqlite3":
        connection.execute(outbox_table.insert_sql(table, _QMARK), new.values())
    else:
        raise TypeError("outbox: an asyncpg connection is async; use `await write_async(...)`")
    return new.idempotency_key


async def write_async(
    connection: Any,
    product: str,
    event: Mapping[str, Any],
    *,
    aggregate: str | None = None,
    idempotency_key: str | None = None,
    table: str = outbox_table.DEFAULT_TABLE,
) -> str:
    """`write` for async connections (SQLAlchemy AsyncConnection/AsyncSession, psycopg
    AsyncConnection, asyncpg Connection, aiosqlite Connection)."""
    new = outbox_table.row(product, event, aggregate=aggregate, idempotency_key=idempotency_key)
    family = _family(connection)
    if family == "sqlalchemy":
        from sqlalchemy import text

        await connection.execute(text(outbox_table.insert_sql(table, _NAMED)), new.named())
    elif family == "psycopg":
        await connection.execute(outbox_table.insert_sql(table, _FORMAT), new.values())
    elif family == "asyncpg":
        await connection.execute(outbox_table.insert_sql(table, _NUMERIC), *new.values())
    elif family == "aiosqlite":
        await connection.execute(outbox_table.insert_sql(table, _QMARK), new.values())
    else:
        raise TypeError("outbox: a sqlite3 connection is not async; use `write(...)`")
    return new.idempotency_key


def create_table(connection: Any, table: str = outbox_table.DEFAULT_TABLE) -> None:
    """Create the outbox table (if missing) through a sync connection of any supported kind."""
    family = _family(connection)
    for statement in outbox_table.ddl(_dialect(connection, family), table):
        if family == "sqlalchemy":
            from sqlalchemy import text

            connection.execute(text(statement))
        else:
            connection.execute(statement)


async def create_table_async(connection: Any, table: str = outbox_table.DEFAULT_TABLE) -> None:
    """Create the outbox table (if missing) through an async connection."""
    family = _family(connection)
    for statement in outbox_table.ddl(_dialect(connection, family), table):
        if family == "sqlalchemy":
            from sqlalchemy import text

            await connection.execute(text(statement))
        else:
            await connection.execute(statement)


def _dialect(connection: Any, family: str) -> outbox_table.Dialect:
    if family in ("sqlite3", "aiosqlite"):
        return "sqlite"
    if family == "sqlalchemy":
        bind = connection.get_bind() if hasattr(connection, "get_bind") else connection
        return "sqlite" if bind.dialect.name == "sqlite" else "postgresql"
    return "postgresql"
