"""Migrations produce exactly the schema the code declares, on both dialects."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from hookyard.store import Store, schema


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, schema.metadata))


async def test_migrations_match_the_declared_schema(store: Store) -> None:
    async with store.db.read() as connection:
        differences = await connection.run_sync(_diff)
    assert differences == []


async def test_a_new_store_starts_empty(store: Store) -> None:
    assert await store.tenants.count_companies() == 0
