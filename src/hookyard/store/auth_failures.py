"""The token endpoint's failed client authentications, counted in the database so that every API
process shares one count (`services.throttle` decides what a count means).

A row is one key (a client id and a source address, or `*` and an address for every client id
from it): its failures since `window_start`, and `blocked_until`, before which that key is
refused. Rows whose window has passed are removed at most once a minute per process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hookyard import clock
from hookyard.store import dialect, schema
from hookyard.store.database import Database

table = schema.token_failures
CLEAN_EVERY_SECONDS = 60.0
CLIENT_ID_CHARS = 128
Key = tuple[str, str]


@dataclass(frozen=True)
class Counted:
    """A key to count a failure against, its window, and how long a count blocks it."""

    key: Key
    window_seconds: float
    block_for: Callable[[int], float]


def key(client_id: str, address: str) -> Key:
    """The row key of a client id (cut to the column's width) and an address."""
    return client_id[:CLIENT_ID_CHARS], address[:64]


class AuthFailureRepository:
    """Counts failures per key and keeps each key's `blocked_until`."""

    def __init__(self, db: Database, *, monotonic: clock.Monotonic = time.monotonic) -> None:
        self._db = db
        self._clean = clock.Every(CLEAN_EVERY_SECONDS, monotonic)

    async def blocked_until(self, keys: Sequence[Key]) -> datetime | None:
        """The latest `blocked_until` of `keys` (None when none is blocked at all)."""
        matches = [and_(table.c.client_id == c, table.c.address == a) for c, a in keys]
        statement = select(func.max(table.c.blocked_until)).where(or_(*matches))
        async with self._db.read() as connection:
            value: datetime | None = (await connection.execute(statement)).scalar()
        return value

    async def failed(self, counts: Sequence[Counted], *, now: datetime) -> list[int]:
        """Count one failure against each key, in one transaction; each key's failures in its
        window. A key whose `block_for(failures)` is positive is blocked that many seconds."""
        async with self._db.write() as connection:
            found = [await self._count(connection, counted, now) for counted in counts]
        if self._clean.due():
            longest = max((counted.window_seconds for counted in counts), default=0.0)
            await self._remove_expired(now - timedelta(seconds=longest), now)
        return found

    async def _count(self, connection: AsyncConnection, counted: Counted, now: datetime) -> int:
        expired = table.c.window_start <= now - timedelta(seconds=counted.window_seconds)
        client_id, address = counted.key
        values = {"client_id": client_id, "address": address, "failures": 1, "window_start": now}
        statement = (
            self._insert()
            .values(**values)
            .on_conflict_do_update(
                index_elements=[table.c.client_id, table.c.address],
                set_={
                    "failures": case((expired, 1), else_=table.c.failures + 1),
                    "window_start": case((expired, now), else_=table.c.window_start),
                },
            )
            .returning(table.c.failures)
        )
        failures = int((await connection.execute(statement)).scalar_one())
        seconds = counted.block_for(failures)
        if seconds > 0:
            until = now + timedelta(seconds=seconds)
            match = and_(table.c.client_id == client_id, table.c.address == address)
            await connection.execute(update(table).where(match).values(blocked_until=until))
        return failures

    def _insert(self) -> dialect.Upsert:
        return self._db.dialect_rules.upsert(table)

    async def _remove_expired(self, cutoff: datetime, now: datetime) -> None:
        unblocked = or_(table.c.blocked_until.is_(None), table.c.blocked_until <= now)
        async with self._db.write() as connection:
            await connection.execute(delete(table).where(table.c.window_start <= cutoff, unblocked))
