"""Retention: deleting settled deliveries, their attempts and the events nothing references.

A delivery is prunable once it has been settled for long enough: `succeeded` ones after
`Cutoffs.succeeded`, `failed` and `held` ones (kept longer, so that an operator can still inspect,
redeliver or recover them) after `Cutoffs.failed`. Their attempts go with them. An event goes once
it is older than `Cutoffs.succeeded` and no delivery references it any more.

Each `prune_batch` is one short write transaction touching at most `limit` deliveries and `limit`
events, found through the partial indexes on `updated_at` per settled state and the time-ordered
event ids, so a batch never scans the live queue. On PostgreSQL the rows are taken with
`FOR UPDATE SKIP LOCKED`, so several workers may prune at once without waiting on each other.

Deleted rows only free space on PostgreSQL once they are vacuumed. Autovacuum does that when it
is on (the server's default); when it is off, for the server (`autovacuum = off`) or for one of
the pruned tables (`autovacuum_enabled = false`), `needs_vacuum` says so and the pruner runs
`vacuum` after each pass, or the database would grow as if nothing were ever deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from hookyard import ids
from hookyard.store import schema
from hookyard.store.database import Database

D = schema.deliveries
A = schema.attempts
E = schema.events
SUCCEEDED, FAILED, HELD = schema.SETTLED
PRUNED_TABLES = (D.name, A.name, E.name)
AUTOVACUUM_OFF = text(
    "SELECT current_setting('autovacuum') <> 'on' OR EXISTS (SELECT 1 FROM pg_class"
    " WHERE oid = ANY(CAST(:tables AS regclass[]))"
    " AND 'autovacuum_enabled=false' = ANY(coalesce(reloptions, '{}')))"
)
VACUUM = text(f"VACUUM (SKIP_LOCKED, ANALYZE) {', '.join(PRUNED_TABLES)}")


@dataclass(frozen=True)
class Cutoffs:
    """Settled deliveries last changed before these moments may go."""

    succeeded: datetime
    failed: datetime

    @classmethod
    def at(cls, now: datetime, *, days: float, failed_days: float) -> Cutoffs:
        """The cutoffs `days` (succeeded) and `failed_days` (failed and held) before `now`."""
        return cls(now - timedelta(days=days), now - timedelta(days=failed_days))

    def of(self, state: str) -> datetime:
        return self.succeeded if state == SUCCEEDED else self.failed

    @property
    def first_kept_event(self) -> str:
        """The smallest event id made at the succeeded cutoff: older events sort before it."""
        return ids.floor(ids.EVENT, self.succeeded)


@dataclass(frozen=True)
class Pruned:
    """Rows deleted (or, for a dry run, that would be), per table."""

    deliveries: int = 0
    attempts: int = 0
    events: int = 0

    def __add__(self, other: Pruned) -> Pruned:
        return Pruned(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def total(self) -> int:
        return self.deliveries + self.attempts + self.events

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _prunable(cutoffs: Cutoffs, state: str) -> ColumnElement[bool]:
    return and_(D.c.state == state, D.c.updated_at < cutoffs.of(state))


def _any_prunable(cutoffs: Cutoffs) -> ColumnElement[bool]:
    return or_(*(_prunable(cutoffs, state) for state in schema.SETTLED))


def _old_event(cutoffs: Cutoffs) -> ColumnElement[bool]:
    return and_(E.c.id < cutoffs.first_kept_event, E.c.created_at < cutoffs.succeeded)


class Retention:
    """The queries that find and delete what the retention settings no longer keep."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def count(self, cutoffs: Cutoffs) -> Pruned:
        """What `prune_batch` would delete if called until nothing is left (the dry run)."""
        prunable = _any_prunable(cutoffs)
        kept = exists().where(D.c.event_id == E.c.id, ~prunable)
        deliveries = attempts = 0
        async with self._db.read() as connection:
            for state in schema.SETTLED:  # one state at a time, so each count uses its index
                settled = _prunable(cutoffs, state)
                deliveries += await _scalar(connection, select(func.count()).where(settled))
                attempts += await _scalar(
                    connection, select(func.count()).select_from(A.join(D)).where(settled)
                )
            events = await _scalar(
                connection, select(func.count()).where(_old_event(cutoffs), ~kept)
            )
        return Pruned(deliveries, attempts, events)

    async def prune_batch(self, cutoffs: Cutoffs, limit: int) -> Pruned:
        """Delete up to `limit` prunable deliveries (with their attempts and the events they
        leave unreferenced) and up to `limit` unreferenced old events, in one transaction."""
        async with self._db.write() as connection:
            pruned = await self._deliveries(connection, cutoffs, limit)
            if pruned.deliveries < limit:
                pruned += await self._orphans(connection, cutoffs, limit)
        return pruned

    async def needs_vacuum(self) -> bool:
        """Whether pruning must vacuum what it deleted: PostgreSQL with autovacuum off for the
        server or for one of the pruned tables. Never on SQLite, which reuses freed pages."""
        if not self._db.dialect_rules.vacuums:
            return False
        async with self._db.read() as connection:
            found = await connection.execute(AUTOVACUUM_OFF, {"tables": list(PRUNED_TABLES)})
            return bool(found.scalar_one())

    async def vacuum(self) -> None:
        """PostgreSQL: VACUUM (and ANALYZE) the pruned tables, so the space of the deleted rows
        is reused; a table another vacuum holds is skipped (SKIP_LOCKED), not waited for."""
        async with self._db.autocommit() as connection:
            await connection.execute(VACUUM)

    async def _deliveries(
        self, connection: AsyncConnection, cutoffs: Cutoffs, limit: int
    ) -> Pruned:
        rows: list[Any] = []
        for state in schema.SETTLED:
            if len(rows) >= limit:
                break
            found = select(D.c.id, D.c.event_id).where(_prunable(cutoffs, state))
            found = self._locked(found.limit(limit - len(rows)))
            rows.extend((await connection.execute(found)).all())
        if not rows:
            return Pruned()
        delivery_ids = [row.id for row in rows]
        attempts = await connection.execute(delete(A).where(A.c.delivery_id.in_(delivery_ids)))
        await connection.execute(delete(D).where(D.c.id.in_(delivery_ids)))
        events = await self._unreferenced(connection, sorted({row.event_id for row in rows}))
        return Pruned(len(rows), attempts.rowcount, events)

    async def _unreferenced(self, connection: AsyncConnection, event_ids: Sequence[str]) -> int:
        referenced = exists().where(D.c.event_id == E.c.id)
        gone = await connection.execute(delete(E).where(E.c.id.in_(event_ids), ~referenced))
        return int(gone.rowcount)

    async def _orphans(self, connection: AsyncConnection, cutoffs: Cutoffs, limit: int) -> Pruned:
        """Old events no delivery references: those that matched no subscription, and those
        whose last deliveries another pruner deleted at the same time."""
        referenced = exists().where(D.c.event_id == E.c.id)
        found = select(E.c.id).where(_old_event(cutoffs), ~referenced).order_by(E.c.id)
        event_ids = (await connection.execute(self._locked(found.limit(limit)))).scalars().all()
        if not event_ids:
            return Pruned()
        return Pruned(events=await self._unreferenced(connection, event_ids))

    def _locked(self, statement: Any) -> Any:
        if not self._db.dialect_rules.skip_locked:
            return statement
        return statement.with_for_update(skip_locked=True)


async def _scalar(connection: AsyncConnection, statement: Any) -> int:
    return int((await connection.execute(statement)).scalar_one())
