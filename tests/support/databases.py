"""Real test databases: a migrated SQLite file per test, a PostgreSQL database per test run."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from hookyard.store import migrate, schema
from tests import pgcheck

TABLES = ", ".join(table.name for table in reversed(schema.metadata.sorted_tables))


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def sqlite_template(directory: Path) -> Path:
    """A migrated SQLite file to copy for each test."""
    path = directory / "template.db"
    migrate.upgrade_sync(f"sqlite+aiosqlite:///{path}")
    return path


def sqlite_copy(template: Path, directory: Path) -> str:
    path = directory / "hookyard.db"
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


def _admin_url() -> str:
    return pgcheck.postgres_url()


async def _admin(sql: str) -> None:
    await _execute(_admin_url(), sql)


def create_postgres_database() -> str:
    """A new, migrated PostgreSQL database for this test process; its URL."""
    name = f"hookyard_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = make_url(_admin_url()).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade_sync(url)
    return url


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def truncate_postgres(url: str) -> None:
    asyncio.run(_execute(url, f"TRUNCATE {TABLES} CASCADE"))


async def _execute(url: str, sql: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()
