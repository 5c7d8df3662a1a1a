"""Fresh databases for one benchmark run: a SQLite file in a temp dir, or a PostgreSQL database
created on the test server (`HOOKYARD_TEST_POSTGRES_URL`, default postgres@127.0.0.1:5432/test)
and dropped afterwards."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get(
    "HOOKYARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
DIALECTS = ("sqlite", "postgres")


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(ADMIN_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def postgres_available() -> str | None:
    """None when the PostgreSQL server answers, else why not."""
    try:
        asyncio.run(asyncio.wait_for(_admin("SELECT 1"), timeout=5))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


_dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-drop")
_drops: list[Future[None]] = []


def _drop(name: str) -> None:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def finish_drops(timeout: float = 120.0) -> None:
    """Wait (bounded) for the databases dropped in the background; raise the first failure."""
    for future in _drops:
        future.result(timeout=timeout)
    _drops.clear()


@contextmanager
def fresh(dialect: str, scratch: Path) -> Iterator[str]:
    """The URL of a new, empty database of `dialect`. A PostgreSQL one is dropped afterwards in a
    background thread (a drop forces a checkpoint, seconds on a busy server): `finish_drops`.
    The drops of earlier runs are waited for first, so that no checkpoint they force stalls the
    commits of the run being measured (it did: a p99 of 274 ms instead of 14 ms on PostgreSQL)."""
    finish_drops()
    if dialect == "sqlite":
        directory = scratch / f"sqlite-{uuid.uuid4().hex[:8]}"
        directory.mkdir(parents=True)
        yield f"sqlite+aiosqlite:///{directory / 'hookyard.db'}"
        return
    name = f"hookyard_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _drops.append(_dropper.submit(_drop, name))
