"""The delivery queue's hot-path connection on SQLite: whole transactions as one function.

Each of the queue's operations (`hookyard.store.queue.sqlite`) is one function run as one
`BEGIN IMMEDIATE` transaction on a plain `sqlite3` connection: in a thread of its own, one
hand-off per transaction instead of one per statement (fetch and commit through aiosqlite), and
no SQLAlchemy on the hot path; or, for work known to be small, on the event loop (`inline`).
It takes the asyncio lock of `Database.write_lock`, so it never races the SQLAlchemy writer
engine of the same process. A driver error comes out as SQLAlchemy's, as from the engine, and
is translated like the engine's (`outage.translated`). Like the engines, it logs nothing: no
statement's parameters appear anywhere but in the database.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from hookyard.store import outage
from hookyard.store.database import SQLITE_PRAGMAS, Database

T = TypeVar("T")


class SqliteWriter:
    """The hot-path connection of one SQLite `Database`, opened at its first transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._hot: _SqliteThread | None = None

    async def run(self, work: Callable[[sqlite3.Connection], T], *, inline: bool = False) -> T:
        """`work(connection)` as one write transaction on the hot-path connection, committed
        when it returns, rolled back when it raises. In its thread; `inline`, on the caller's
        thread (the event loop), for work known to be small, where handing it to the thread and
        back would cost more CPU than the work (see `_SqliteThread`)."""
        lock, file = self._db.write_lock, self._db.file
        if lock is None or file is None:
            raise TypeError(
                "The delivery queue needs a SQLite file, not an in-memory database;"
                " set HOOKYARD_DATABASE_URL to sqlite:///path/to/hookyard.db."
            )
        if self._hot is None:
            self._hot = _SqliteThread(file)
        self._db.checkpoints()
        with outage.translated(self._db.name):
            async with lock:
                if inline:
                    done, result = self._hot.run_here(work)
                    if done:
                        return result  # type: ignore[return-value]  # done: work's result
                return await self._hot.run(work)

    async def close(self) -> None:
        """Close the connection and stop its threads (a later `run` opens them again)."""
        if self._hot is not None:
            await self._hot.close()
            self._hot = None


class _SqliteThread:
    """One `sqlite3` connection for whole transactions, one at a time (the caller holds the
    write lock): in a thread of its own, or on the caller's thread for small work.

    Handing a transaction to the thread and its result back costs about 0.1 ms of CPU (waking
    the thread, the GIL changing hands twice, waking the loop), more than a one-event ingest or
    a claim costs; those run on the event loop instead. They stay short: no connection
    checkpoints at commit, the database's checkpointer does (`hookyard.store.checkpoints`).
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


BUSY_WAIT = "PRAGMA busy_timeout=30000"
NO_BUSY_WAIT = "PRAGMA busy_timeout=0"


class _Busy(Exception):
    """Another connection holds the write lock, and this transaction was not to wait for it."""
