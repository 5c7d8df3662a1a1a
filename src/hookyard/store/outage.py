"""The database being away (stopped, restarting, unreachable), said one way: `errors.Unavailable`;
and the disk under it full, said one way: `errors.StorageFull`.

Driver errors that mean "no connection" or "no room" (SQLite's SQLITE_FULL, PostgreSQL's
SQLSTATE 53100 disk_full) are translated where they leave the store, with the cause kept; the
API answers them 503 with Retry-After, and the worker waits them out. A full disk also names the
database and what to do, for the operator's log. Errors that mean the statement itself was wrong
are left as they are.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from hookyard import errors
from hookyard.store import dialect

RETRY_AFTER_SECONDS = 5
FULL_RETRY_AFTER_SECONDS = 30
SQLITE_FULL = 13
POSTGRES_DISK_FULL = "53100"
_DRIVER_OUTAGES = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` (a driver's or SQLAlchemy's) says the database cannot be reached."""
    if isinstance(exc, (errors.Unavailable, *_DRIVER_OUTAGES)):
        return True
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated) or is_outage(exc.orig or Exception())
    cause = exc.__cause__
    return cause is not None and cause is not exc and isinstance(cause, _DRIVER_OUTAGES)


def unavailable(exc: BaseException) -> errors.Unavailable:
    reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    return errors.Unavailable(
        f"The database cannot be reached ({reason}); nothing was changed. Hookyard reconnects"
        f" on its own: try again in {RETRY_AFTER_SECONDS} seconds.",
        retry_after=RETRY_AFTER_SECONDS,
    )


def _driver_error(exc: BaseException) -> BaseException:
    """The driver's own error inside SQLAlchemy's wrapping (and inside its asyncpg adapter's)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    cause = exc.__cause__
    return cause if isinstance(cause, asyncpg.PostgresError) else exc


def is_storage_full(exc: BaseException) -> bool:
    """Whether `exc` (a driver's or SQLAlchemy's) says the disk holding the database is full."""
    driver = _driver_error(exc)
    if isinstance(driver, sqlite3.Error):
        code = getattr(driver, "sqlite_errorcode", None)
        return code is not None and code & 0xFF == SQLITE_FULL
    return getattr(driver, "sqlstate", None) == POSTGRES_DISK_FULL


def database_name(url: str) -> str:
    """The database as an operator finds it: the SQLite file, or PostgreSQL's database and
    server (never the password)."""
    parsed = make_url(url)
    if dialect.of(parsed).local_file:
        return f"the SQLite file {parsed.database}"
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    return f"the PostgreSQL database {parsed.database} on {where}"


def storage_full(exc: BaseException, database: str) -> errors.StorageFull:
    driver = _driver_error(exc)
    reason = str(driver).strip().splitlines()[0][:200] if str(driver).strip() else "disk full"
    return errors.StorageFull(
        "The disk that holds Hookyard's database is full; nothing was changed. Try again in"
        f" {FULL_RETRY_AFTER_SECONDS} seconds; the operator has been told.",
        retry_after=FULL_RETRY_AFTER_SECONDS,
        operator_detail=(
            f"The disk holding {database} is full ({reason}): nothing can be written, so events"
            " are refused with 503 and deliveries cannot be recorded. Free space on that disk or"
            " give it more; Hookyard writes again as soon as there is room, without a restart."
            " `hookyard prune` (or HOOKYARD_RETENTION_DAYS) keeps old rows from filling it."
        ),
    )


@contextlib.contextmanager
def translated(database: str) -> Iterator[None]:
    """Raise `errors.Unavailable` (from the driver's error) when the database is away, and
    `errors.StorageFull` when the disk holding `database` (its `database_name`) is full."""
    try:
        yield
    except errors.Unavailable:
        raise
    except Exception as exc:
        if is_storage_full(exc):
            raise storage_full(exc, database) from exc
        if is_outage(exc):
            raise unavailable(exc) from exc
        raise
