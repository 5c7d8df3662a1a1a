"""The delivery queue's hot path behind one seam: `QueueBackend`, one module per database.

    protocol.py        the seam: `QueueBackend` and the named rows it takes and gives
    fanout.py          which deliveries an ingest makes (pure; both backends use it)
    group.py           publishes that arrive together share one transaction
    sqlite.py          the SQLite backend: ingest, claim and leases, on the hot-path connection
    sqlite_finish.py   its finishing of tries
    sqlite_requeue.py  its requeueing and held cap
    sqlite_values.py   how values go to and from its statements, and SQLite's clock
    sqlite_writer.py   the hot-path connection, its thread and its WAL checkpointer
    postgres.py        the PostgreSQL backend on asyncpg: ingest, claim, leases, wake-ups
    postgres_finish.py, postgres_requeue.py, postgres_values.py   the same parts as SQLite's

`backend_for` is the one place that asks which database it is.
"""

from __future__ import annotations

from hookyard.store.database import Database
from hookyard.store.queue.fanout import callback_host
from hookyard.store.queue.postgres import PostgresQueue
from hookyard.store.queue.protocol import (
    Callback,
    Claimed,
    ClaimRequest,
    Finished,
    Ingested,
    Leases,
    NewEvent,
    QueueBackend,
    Target,
)
from hookyard.store.queue.sqlite import SqliteQueue

__all__ = [
    "ClaimRequest",
    "Claimed",
    "Finished",
    "Ingested",
    "Leases",
    "NewEvent",
    "QueueBackend",
    "Target",
    "backend_for",
    "callback_host",
]


def backend_for(db: Database, wake_local: Callback, *, pool_size: int = 10) -> QueueBackend:
    """The queue backend of `db`'s database; `wake_local` wakes this process's workers."""
    if db.is_sqlite:
        return SqliteQueue(db, wake_local)
    return PostgresQueue(db.url, wake_local, pool_size=pool_size)
