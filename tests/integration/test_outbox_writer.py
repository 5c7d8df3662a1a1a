"""`hookyard.outbox.write` in the caller's own transaction, for every supported connection kind,
on a real SQLite file and the real PostgreSQL: a commit leaves the row for the relay, a rollback
leaves nothing."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
import psycopg
import pytest
import sqlalchemy
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from hookyard import outbox
from hookyard.outbox.source import Source

EVENT = {"eventType": "ProjectCreated", "companyId": "c-1", "businessUnitId": "b", "projectId": ""}


class Rollback(Exception):
    pass


@dataclass(frozen=True)
class Producer:
    """A product database (by URL) with an outbox table of its own name."""

    url: str
    table: str

    def plain(self) -> str:
        """The URL as psycopg and asyncpg take it (the fixtures give plain URLs)."""
        return self.url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def producer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Producer]:
    table = f"outbox_{uuid.uuid4().hex[:10]}"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'product.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
    engine = sqlalchemy.create_engine(_sync_url(url))
    with engine.begin() as connection:
        outbox.create_table(connection, table)
    try:
        yield Producer(url, table)
    finally:  # the PostgreSQL database is the test run's Hookyard database: leave it as found
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP TABLE {table}")
        engine.dispose()


def _sync_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


async def _rows(producer: Producer) -> list[dict[str, Any]]:
    source = Source(producer.url, producer.table)
    try:
        return [json.loads(row.event) for row in await source.pending(100)]
    finally:
        await source.close()


def _event(project: str) -> dict[str, str]:
    return {**EVENT, "projectId": project}


def _sync_sqlalchemy(producer: Producer, project: str, commit: bool) -> None:
    engine = sqlalchemy.create_engine(_sync_url(producer.url))
    try:
        with engine.begin() as connection:
            outbox.write(connection, "precon", _event(project), table=producer.table)
            if not commit:
                raise Rollback
    except Rollback:
        pass
    finally:
        engine.dispose()


async def _async_sqlalchemy(producer: Producer, project: str, commit: bool) -> None:
    from hookyard.outbox.source import async_url

    engine = create_async_engine(async_url(producer.url))
    try:
        async with engine.begin() as connection:
            await outbox.write_async(connection, "precon", _event(project), table=producer.table)
            if not commit:
                raise Rollback
    except Rollback:
        pass
    finally:
        await engine.dispose()


def _plain_sync(producer: Producer, project: str, commit: bool) -> None:
    if producer.url.startswith("sqlite"):
        connection: Any = sqlite3.connect(make_url(producer.url).database or "")
    else:
        connection = psycopg.connect(producer.plain())
    try:
        outbox.write(connection, "precon", _event(project), table=producer.table)
        connection.commit() if commit else connection.rollback()
    finally:
        connection.close()


async def _plain_async(producer: Producer, project: str, commit: bool) -> None:
    if producer.url.startswith("sqlite"):
        async with aiosqlite.connect(make_url(producer.url).database or "") as lite:
            await outbox.write_async(lite, "precon", _event(project), table=producer.table)
            await (lite.commit() if commit else lite.rollback())
        return
    # asyncpg autocommits outside a transaction it is given; psycopg opens one itself.
    native = await asyncpg.connect(producer.plain())
    transaction = native.transaction()
    await transaction.start()
    event = _event(f"{project}-asyncpg")
    await outbox.write_async(native, "precon", event, table=producer.table)
    await (transaction.commit() if commit else transaction.rollback())
    await native.close()
    connection = await psycopg.AsyncConnection.connect(producer.plain())
    event = _event(f"{project}-psycopg")
    await outbox.write_async(connection, "precon", event, table=producer.table)
    await (connection.commit() if commit else connection.rollback())
    await connection.close()


async def _run(writer: Callable[..., Any], producer: Producer, project: str, commit: bool) -> None:
    outcome = writer(producer, project, commit)
    if isinstance(outcome, Awaitable):
        await outcome


@pytest.mark.parametrize("writer", [_sync_sqlalchemy, _async_sqlalchemy, _plain_sync, _plain_async])
async def test_a_committed_write_is_kept_and_a_rolled_back_one_leaves_nothing(
    producer: Producer, writer: Callable[..., Any]
) -> None:
    await _run(writer, producer, "rolled-back", False)
    await _run(writer, producer, "committed", True)

    projects = [event["projectId"] for event in await _rows(producer)]
    assert projects
    assert all(p.startswith("committed") for p in projects), projects


def test_a_bad_event_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "product.db")
    outbox.create_table(connection)
    refused: list[tuple[str, Mapping[str, object]]] = [
        ("", EVENT),
        ("Pre Con", EVENT),
        ("precon", {"companyId": "c"}),
        ("precon", {**EVENT, "when": object()}),
    ]
    for product, event in refused:
        with pytest.raises(ValueError, match=r"product|event"):
            outbox.write(connection, product, event)
    with pytest.raises(TypeError, match="not a supported connection"):
        outbox.write(object(), "precon", EVENT)
    connection.commit()
    assert connection.execute("SELECT count(*) FROM hookyard_outbox").fetchone() == (0,)


def test_the_idempotency_key_is_the_rows_own_unless_given(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "product.db")
    outbox.create_table(connection)
    first = outbox.write(connection, "precon", EVENT)
    second = outbox.write(connection, "precon", EVENT)
    outbox.write(connection, "precon", EVENT, idempotency_key="order-42")
    connection.commit()
    keys = [
        row[0]
        for row in connection.execute("SELECT idempotency_key FROM hookyard_outbox ORDER BY id")
    ]
    assert keys == [first, second, "order-42"]
    assert first != second
    with pytest.raises(sqlite3.IntegrityError):
        outbox.write(connection, "precon", EVENT, idempotency_key="order-42")


def test_the_public_names() -> None:
    assert set(outbox.__all__) == {
        "DEFAULT_TABLE",
        "create_table",
        "create_table_async",
        "ddl",
        "write",
        "write_async",
    }
