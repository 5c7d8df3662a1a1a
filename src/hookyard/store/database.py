"""Engines and transactions for both dialects.

SQLite allows one writer at a time: every write transaction here starts with `BEGIN IMMEDIATE`
(so it takes the write lock up front instead of failing on upgrade) and, within one process,
waits on an asyncio lock instead of spinning on `SQLITE_BUSY`. Reads use their own pool and
never block behind the writer (WAL). PostgreSQL uses one pool for both.

On SQLite the delivery queue runs whole transactions as one function on a plain `sqlite3`
connection of its own (`hookyard.store.queue.sqlite_writer`). It takes the same asyncio lock
(`Database.write_lock`), so it never races the SQLAlchemy writer of the same process.

Every call into aiosqlite is a trip to its thread and back, so a SQLite connection that comes
back to the pool is rolled back only when it is still inside a transaction: after a commit the
pool's usual rollback would be one more trip for nothing.

No statement's parameters (tokens' hashes, CSRF tokens, sealed secrets, event bodies) appear in
an error's message or in SQLAlchemy's log: every engine hides them (`hide_parameters`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from hookyard.store import dialect, outage
from hookyard.store.checkpoints import Checkpointer

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
    # After a checkpoint the WAL file is cut back to this size; without a limit it keeps the size
    # of its largest burst for good, and under steady load the database's footprint only grows.
    "PRAGMA journal_size_limit=67108864",
    # No connection checkpoints at commit (copying the WAL into the database and fsyncing both
    # while it holds the write lock, tens of milliseconds every few seconds under load): the
    # database's checkpointer thread does, beside the writers (`Database`).
    "PRAGMA wal_autocheckpoint=0",
)


def async_url(url: str) -> str:
    """The URL with an async driver: `postgresql://` becomes `postgresql+asyncpg://`."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def _sqlite_engine(url: str, *, begin: str, pool_size: int) -> AsyncEngine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
        pool_reset_on_return=None,
        hide_parameters=True,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    @event.listens_for(engine.sync_engine, "reset")
    def _reset(dbapi_connection: Any, record: Any, state: Any) -> None:
        driver = getattr(record, "driver_connection", None)
        open_transaction = driver is None or driver.in_transaction
        if state.asyncio_safe and open_transaction:
            dbapi_connection.rollback()

    return engine


class Database:
    """The engines of one database and the way transactions are taken on it."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = async_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        self.dialect_rules = dialect.of(parsed)
        """What differs on this database (ask it, not `dialect`, which database it is)."""
        self.name = outage.database_name(self.url)
        self.file = parsed.database if parsed.database != ":memory:" and self.is_sqlite else None
        """SQLite: the database file (None in memory); None on PostgreSQL."""
        self.write_lock = asyncio.Lock() if self.is_sqlite else None
        """SQLite: held by every write transaction of this process (this engine's and the
        delivery queue's hot-path connection), so they never race for the file's write lock."""
        self._checkpointer: Checkpointer | None = None
        if self.is_sqlite:
            self.writer = _sqlite_engine(self.url, begin="BEGIN IMMEDIATE", pool_size=1)
            self.reader = _sqlite_engine(self.url, begin="BEGIN", pool_size=pool_size)
        else:
            # Pre-ping: a connection the server dropped (a restart) is replaced, not used.
            self.writer = create_async_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                hide_parameters=True,
            )
            self.reader = self.writer

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed when the block ends, rolled back on an exception."""
        with outage.translated(self.name):
            if self.write_lock is None:
                async with self.writer.begin() as connection:
                    yield connection
                return
            self.checkpoints()
            async with self.write_lock, self.writer.begin() as connection:
                yield connection

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction."""
        with outage.translated(self.name):
            async with self.reader.connect() as connection:
                yield connection

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncConnection]:
        """PostgreSQL only: a connection outside any transaction, for statements that cannot run
        in one (VACUUM)."""
        if self.is_sqlite:
            raise TypeError("autocommit connections are for PostgreSQL maintenance statements")
        with outage.translated(self.name):
            async with self.writer.connect() as connection:
                yield await connection.execution_options(isolation_level="AUTOCOMMIT")

    def checkpoints(self) -> None:
        """SQLite: start the checkpointer (`store.checkpoints`), from this process's first write
        on: no connection checkpoints at commit (`SQLITE_PRAGMAS`)."""
        if self._checkpointer is None and self.file is not None:
            self._checkpointer = Checkpointer(self.file)

    async def dispose(self) -> None:
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.stop)
            self._checkpointer = None
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()
