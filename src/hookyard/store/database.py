"""Engines and transactions for both dialects.

SQLite allows one writer at a time: every write transaction here starts with `BEGIN IMMEDIATE`
(so it takes the write lock up front instead of failing on upgrade) and, within one process,
waits on an asyncio lock instead of spinning on `SQLITE_BUSY`. Reads use their own pool and
never block behind the writer (WAL). PostgreSQL uses one pool for both.

On SQLite the delivery queue (`hookyard.store.queue.sqlite`) runs whole transactions as one
function on a plain `sqlite3` connection in a thread of its own (`run_write`): one hand-off per
transaction instead of one per statement, fetch and commit through aiosqlite. It takes the same
asyncio lock, so it never races the SQLAlchemy writer of the same process.

Every call into aiosqlite is a trip to its thread and back, so a SQLite connection that comes
back to the pool is rolled back only when it is still inside a transaction: after a commit the
pool's usual rollback would be one more trip for nothing.

No statement's parameters (tokens' hashes, CSRF tokens, sealed secrets, event bodies) appear in
an error's message or in SQLAlchemy's log: every engine hides them (`hide_parameters`), and the
plain `sqlite3` writer thread logs nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from hookyard.store import outage

T = TypeVar("T")

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
        self.name = outage.database_name(self.url)
        self._file = parsed.database if parsed.database != ":memory:" else None
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._hot: _SqliteThread | None = None
        self._checkpointer: _Checkpointer | None = None
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
            if self._write_lock is None:
                async with self.writer.begin() as connection:
                    yield connection
                return
            self._checkpoints()
            async with self._write_lock, self.writer.begin() as connection:
                yield connection

    async def run_write(
        self, work: Callable[[sqlite3.Connection], T], *, inline: bool = False
    ) -> T:
        """SQLite only: `work(connection)` as one write transaction on the hot-path connection,
        committed when it returns, rolled back when it raises. In its thread; `inline`, on the
        caller's thread (the event loop), for work known to be small, where handing it to the
        thread and back would cost more CPU than the work (see `_SqliteThread`)."""
        if self._write_lock is None or self._file is None:
            raise TypeError(
                "The delivery queue needs a SQLite file, not an in-memory database;"
                " set HOOKYARD_DATABASE_URL to sqlite:///path/to/hookyard.db."
            )
        if self._hot is None:
            self._hot = _SqliteThread(self._file)
        self._checkpoints()
        with outage.translated(self.name):
            async with self._write_lock:
                if inline:
                    done, result = self._hot.run_here(work)
                    if done:
                        return result  # type: ignore[return-value]  # done: work's result
                return await self._hot.run(work)

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

    def _checkpoints(self) -> None:
        """SQLite: the checkpointer runs from this process's first write on."""
        if self._checkpointer is None and self._file is not None:
            self._checkpointer = _Checkpointer(self._file)

    async def dispose(self) -> None:
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.stop)
            self._checkpointer = None
        if self._hot is not None:
            await self._hot.close()
            self._hot = None
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


class _SqliteThread:
    """One `sqlite3` connection for whole transactions, one at a time (the caller holds the
    write lock): in a thread of its own, or on the caller's thread for small work.

    Handing a transaction to the thread and its result back costs about 0.1 ms of CPU (waking
    the thread, the GIL changing hands twice, waking the loop), more than a one-event ingest or
    a claim costs; those run on the event loop instead. They stay short: no connection
    checkpoints at commit (`SQLITE_PRAGMAS`), the database's checkpointer does.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hookyard-sqlite")
        self._connection: sqlite3.Connection | None = None
        self._waits = True
        """Whether the connection waits for a busy write lock (`busy_timeout`) now."""

    def run_here(self, work: Callable[[sqlite3.Connection], T]) -> tuple[bool, T | None]:
        """(True, `work`'s result) once its transaction committed, run on this thread; (False,
        None), having done nothing, when another connection holds the write lock (another
        process, or a store of its own in this one): waiting for it here would stop the event
        loop, and with it whatever would let that connection finish, so the caller hands the
        work to the thread, which waits."""
        try:
            return True, self._transaction(work, wait=False)
        except _Busy:
            return False, None
        except sqlite3.Error as exc:
            raise DBAPIError.instance(None, None, exc, sqlite3.Error) from exc

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work`'s result once its transaction committed. A cancelled caller still waits for
        the transaction to end, so that whoever takes the write lock next does not find this
        connection mid-transaction. A driver error comes out as SQLAlchemy's, as from the engine.
        """
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._transaction, work)
        try:
            return await asyncio.shield(future)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(None, None, exc, sqlite3.Error) from exc
        finally:
            if not future.done():
                await asyncio.wait({future})

    def _transaction(self, work: Callable[[sqlite3.Connection], T], *, wait: bool = True) -> T:
        connection = self._connect()
        if wait != self._waits:  # a statement, so only when it changes
            connection.execute(BUSY_WAIT if wait else NO_BUSY_WAIT)
            self._waits = wait
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if not wait and exc.sqlite_errorcode == sqlite3.SQLITE_BUSY:
                raise _Busy from exc
            raise
        try:
            result = work(connection)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return result

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            # Used from the loop's thread and this one, never at once (the write lock).
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            for pragma in SQLITE_PRAGMAS:
                connection.execute(pragma)
            self._connection = connection
            self._waits = True  # SQLITE_PRAGMAS set the busy timeout
        return self._connection

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


CHECKPOINT_SECONDS = 0.25
BUSY_WAIT = "PRAGMA busy_timeout=30000"
NO_BUSY_WAIT = "PRAGMA busy_timeout=0"


class _Busy(Exception):
    """Another connection holds the write lock, and this transaction was not to wait for it."""


class _Checkpointer:
    """A thread that runs `PRAGMA wal_checkpoint(PASSIVE)` every `CHECKPOINT_SECONDS` on a
    connection of its own until stopped: the WAL the hot connection writes is copied into the
    database beside it, and the next write after a complete checkpoint starts the WAL over."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="hookyard-sqlite-checkpoint", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None)
        try:
            connection.execute("PRAGMA busy_timeout=1000")
            while not self._stopping.wait(CHECKPOINT_SECONDS):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    continue  # busy or away: the next round tries again
        finally:
            connection.close()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)
