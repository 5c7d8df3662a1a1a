"""Migrations produce exactly the schema the code declares, on both dialects."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from hookyard.store import Store, migrate, schema


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, schema.metadata))


async def test_migrations_match_the_declared_schema(store: Store) -> None:
    async with store.db.read() as connection:
        differences = await connection.run_sync(_diff)
    assert differences == []


async def test_a_new_store_starts_empty(store: Store) -> None:
    assert await store.tenants.count_companies() == 0


def test_0007_continues_the_attempt_numbers_of_deliveries_redelivered_before(
    tmp_path: Path,
) -> None:
    """A delivery redelivered before 0007 restarted at 0 with its attempt rows kept: after the
    upgrade its next try follows them (rows 1-5 and one try this round: earlier 5)."""
    path = tmp_path / "old.db"
    config = migrate.alembic_config(f"sqlite:///{path}")
    command.upgrade(config, "0006_console")
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO deliveries (id, event_id, subscription_id, host, state, attempts,"
            " next_attempt_at, created_at, updated_at) VALUES"
            " ('dlv_old', 'evt_x', 'sub_x', 'h', 'failed', 1, 'x', 'x', 'x'),"
            " ('dlv_new', 'evt_x', 'sub_x', 'h', 'pending', 2, 'x', 'x', 'x')"
        )
        rows = [(f"att_{i}", "dlv_old", n) for i, n in enumerate((1, 2, 3, 4, 5, 1))]
        rows += [(f"att_n{n}", "dlv_new", n) for n in (1, 2)]
        connection.executemany(
            "INSERT INTO attempts (id, delivery_id, number, started_at, duration_ms, outcome)"
            " VALUES (?, ?, ?, 'x', 1.0, 'http_error')",
            rows,
        )
    command.upgrade(config, "head")
    with sqlite3.connect(path) as connection:
        found = connection.execute(
            "SELECT id, attempts, earlier_attempts FROM deliveries ORDER BY id"
        ).fetchall()
    assert found == [("dlv_new", 2, 0), ("dlv_old", 1, 5)]
