"""The relay's side of the outbox table: pending rows in order, and their outcome written back.

It opens the producer's database by URL with SQLAlchemy's async drivers (asyncpg, aiosqlite).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import sql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from hookyard.outbox import table as outbox_table

MAX_REASON = 500
_COLUMNS = (
    "id",
    "aggregate",
    "product",
    "event",
    "idempotency_key",
    "published_at",
    "event_id",
    "refused_reason",
)


@dataclass(frozen=True)
class Pending:
    """A committed outbox row not yet relayed."""

    id: int
    aggregate: str
    product: str
    event: str
    idempotency_key: str


def async_url(url: str) -> str:
    """`url` with an async driver (`postgresql://` → asyncpg, `sqlite://` → aiosqlite);
    ValueError for any other database."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    else:
        raise ValueError(
            f"--database: {backend!r} is not supported; use postgresql:// or sqlite://"
        )
    return parsed.render_as_string(hide_password=False)


class Source:
    """The outbox table of one database."""

    def __init__(self, url: str, table: str = outbox_table.DEFAULT_TABLE) -> None:
        self.name = outbox_table.table_name(table)
        self.table = sql.table(self.name, *(sql.column(c) for c in _COLUMNS))
        self.engine: AsyncEngine = create_async_engine(
            async_url(url), pool_size=2, hide_parameters=True
        )
        self.dialect: outbox_table.Dialect = (
            "sqlite" if self.engine.dialect.name == "sqlite" else "postgresql"
        )

    async def create(self) -> None:
        async with self.engine.begin() as connection:
            for statement in outbox_table.ddl(self.dialect, self.name):
                await connection.execute(sql.text(statement))

    async def pending(self, limit: int) -> list[Pending]:
        c = self.table.c
        query = (
            sql.select(c.id, c.aggregate, c.product, c.event, c.idempotency_key)
            .where(c.published_at.is_(None), c.refused_reason.is_(None))
            .order_by(c.id)
            .limit(limit)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [Pending(*row) for row in rows]

    async def published(self, row_id: int, event_id: str) -> None:
        await self._set(row_id, published_at=sql.func.current_timestamp(), event_id=event_id)

    async def refused(self, row_id: int, reason: str) -> None:
        await self._set(row_id, refused_reason=reason[:MAX_REASON] or "refused")

    async def prune(self, hours: float) -> int:
        """Delete rows published more than `hours` ago; how many."""
        moment = datetime.now(UTC) - timedelta(hours=hours)
        # SQLite's CURRENT_TIMESTAMP is UTC text in this form
        cutoff = moment.strftime("%Y-%m-%d %H:%M:%S") if self.dialect == "sqlite" else moment
        statement = sql.delete(self.table).where(self.table.c.published_at < cutoff)
        async with self.engine.begin() as connection:
            result: Any = await connection.execute(statement)
        return int(result.rowcount or 0)

    async def _set(self, row_id: int, **values: object) -> None:
        statement = sql.update(self.table).where(self.table.c.id == row_id).values(**values)
        async with self.engine.begin() as connection:
            await connection.execute(statement)

    async def close(self) -> None:
        await self.engine.dispose()
