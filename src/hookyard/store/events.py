"""Reading events. (Ingesting them is the queue's: `hookyard.store.queue`.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from hookyard import errors, models
from hookyard.store import schema
from hookyard.store.database import Database


def _event(row: Any) -> models.Event:
    return models.Event(
        id=row["id"],
        product=row["product"],
        event_type=row["event_type"],
        company_id=row["company_id"],
        partition_value=row["partition_value"] or None,
        filter_value=row["filter_value"] or None,
        body=bytes(row["body"]),
        publisher_id=row["publisher_id"],
        idempotency_key=row["idempotency_key"],
        created_at=row["created_at"],
    )


class EventRepository:
    """Queries over stored events."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, event_id: str) -> models.Event:
        """One event; NotFound when there is none."""
        async with self._db.read() as connection:
            statement = select(schema.events).where(schema.events.c.id == event_id)
            row = (await connection.execute(statement)).mappings().first()
        if row is None:
            raise errors.NotFound(f"There is no event {event_id!r}; check the id.")
        return _event(row)

    async def by_keys(self, publisher_id: str, keys: Sequence[str]) -> dict[str, models.Event]:
        """The events `publisher_id` published with these Idempotency-Keys, by key."""
        table = schema.events
        async with self._db.read() as connection:
            statement = select(table).where(
                table.c.publisher_id == publisher_id, table.c.idempotency_key.in_(list(keys))
            )
            rows = (await connection.execute(statement)).mappings().all()
        return {row["idempotency_key"]: _event(row) for row in rows}

    async def count(self) -> int:
        async with self._db.read() as connection:
            result = await connection.execute(select(func.count()).select_from(schema.events))
            return int(result.scalar_one())
