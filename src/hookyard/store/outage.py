"""The database being away (stopped, restarting, unreachable), said one way: `errors.Unavailable`.

Driver errors that mean "no connection" are translated where they leave the store, with the
cause kept; the API answers them 503 with Retry-After, and the worker waits them out. Errors
that mean the statement itself was wrong are left as they are.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.exc import DBAPIError

from hookyard import errors

RETRY_AFTER_SECONDS = 5
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


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Raise `errors.Unavailable` (from the driver's error) when the database is away."""
    try:
        yield
    except errors.Unavailable:
        raise
    except Exception as exc:
        if is_outage(exc):
            raise unavailable(exc) from exc
        raise
